"""Each setting is declared once: the command lines' and the pages' defaults are read from their own definitions and
must be the config models' (RunConfig for a run, ChatSettings for a chat)."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from agent.chat_settings import ChatSettings
from agent.cli import build_parser as agent_parser
from agent.options import bounds, field_default, flagged_fields, values_from_args
from evals.cli import build_parser as evals_parser
from evals.running.config import RunConfig
from tests.conftest import ROOT


def nested_defaults(model) -> dict:
    values: dict = {}
    for name, field in flagged_fields(model):
        *outer, last = name.split(".")
        target = values
        for part in outer:
            target = target.setdefault(part, {})
        target[last] = field_default(field)
    return values


@pytest.mark.parametrize("command", [["run", "--policy", "p.md"], ["compare", "--a", "a.md", "--b", "b.md"]])
def test_every_run_flag_defaults_to_the_run_configs_default(command):
    args = evals_parser().parse_args(command)
    assert values_from_args(args, RunConfig) == nested_defaults(RunConfig)
    assert len(list(flagged_fields(RunConfig))) >= 20  # every run setting has a flag


def test_the_model_call_commands_take_their_defaults_from_the_run_config():
    for command in (["read"], ["calibrate"]):
        args = evals_parser().parse_args(command)
        values = values_from_args(args, RunConfig)
        assert values["reader"] == RunConfig.model_fields["reader"].default
        assert values["model"]["timeout_s"] == nested_defaults(RunConfig)["model"]["timeout_s"]


def test_the_chat_command_takes_its_defaults_from_the_chat_settings():
    args = agent_parser().parse_args(["chat", "--policy", "p.md", "--customer", "1"])
    assert values_from_args(args, ChatSettings) == nested_defaults(ChatSettings)
    assert ChatSettings().step_limit == RunConfig.model_fields["step_limit"].default  # one step limit


@pytest.mark.parametrize(("page", "key"), [("1_Evals.py", "eval"), ("2_AB_compare.py", "ab")])
def test_the_pages_forms_take_their_defaults_and_ranges_from_the_run_config(page, key, tmp_path, monkeypatch):
    monkeypatch.setenv("RETENTION_LAB_RUNS", str(tmp_path / "runs"))
    at = AppTest.from_file(str(ROOT / "pages" / page), default_timeout=60).run()
    assert not at.exception
    for field in ("trials", "concurrency", "seed"):
        widget = at.number_input(key=f"{key}_{field}")
        low, high, default = bounds(RunConfig, field)
        assert (widget.value, widget.min, widget.max) == (default, low, high), field


def test_a_bad_value_names_its_flag_in_one_line(capsys):
    from evals.cli import main

    assert main(["run", "--policy", str(ROOT / "policies" / "retention_offers.md"), "--timeout", "0"]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        "error: --timeout: Input should be greater than 0 (got 0.0)"
    ]
