"""The YAML data files (personas, intent rules, phrases, replies, claims, prices): a broken one gets one line."""

from __future__ import annotations

import pytest

import evals.running.pricing as pricing
from agent.datafiles import read_yaml
from agent.errors import InputFileError
from evals.cli import main as evals_main
from evals.reading.rules import reading_rules
from tests.conftest import POLICIES


def one_line_error(call) -> str:
    with pytest.raises(InputFileError) as info:
        call()
    message = str(info.value)
    assert "\n" not in message
    return message


def test_read_yaml_names_the_file_and_the_problem(tmp_path):
    missing = tmp_path / "missing.yaml"
    assert one_line_error(lambda: read_yaml(missing)) == f"{missing}: file not found (restore it from git)"
    broken = tmp_path / "broken.yaml"
    broken.write_text("a: 1\nb: [unclosed\n", encoding="utf-8")
    assert one_line_error(lambda: read_yaml(broken)).startswith(f"{broken}: line 3: is not valid YAML")
    listed = tmp_path / "list.yaml"
    listed.write_text("- a\n- b\n", encoding="utf-8")
    assert "must hold a YAML mapping" in one_line_error(lambda: read_yaml(listed))


@pytest.fixture
def broken_pricing(tmp_path, monkeypatch):
    path = tmp_path / "pricing.yaml"
    path.write_text("offline: [0.0, 0.0]\nopenai:gpt-4o: [2.5]\n", encoding="utf-8")
    monkeypatch.setattr(pricing, "PRICING_FILE", path)
    pricing.prices.cache_clear()
    yield path
    pricing.prices.cache_clear()


def test_a_price_that_is_not_a_pair_names_the_model(broken_pricing):
    message = one_line_error(pricing.prices)
    assert message.startswith(f"{broken_pricing}: openai:gpt-4o.1: Field required")


def test_broken_reading_rules_are_named(tmp_path):
    path = tmp_path / "rules.yaml"
    path.write_text("clause_split: ','\noffer_cues: {discount: ['(unclosed']}\n", encoding="utf-8")
    message = one_line_error(lambda: reading_rules(path))
    assert message.startswith(f"{path}: reading rules: cannot be read")


def test_an_eval_with_a_broken_data_file_stops_before_it_starts(broken_pricing, tmp_path, capsys):
    out = tmp_path / "run"
    code = evals_main(["run", "--policy", str(POLICIES / "retention_offers.md"), "--out", str(out), "--no-cache"])
    assert code == 2
    last_line = capsys.readouterr().err.strip().splitlines()[-1]  # after the (empty) progress bar
    assert last_line.startswith(f"error: {broken_pricing}: openai:gpt-4o.1: Field required")
    assert not (out / "results.jsonl").exists()
