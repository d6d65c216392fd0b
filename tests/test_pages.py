"""The Evals and A/B pages, driven with AppTest on small runs."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT


@pytest.fixture(autouse=True)
def runs_in_tmp(tmp_path, monkeypatch):
    monkeypatch.setenv("RETENTION_LAB_RUNS", str(tmp_path / "runs"))
    monkeypatch.setenv("RETENTION_LAB_CACHE", str(tmp_path / "cache.sqlite"))


def test_evals_page_runs_an_eval_and_shows_it(tmp_path):
    at = AppTest.from_file(str(ROOT / "pages" / "1_Evals.py"), default_timeout=120).run()
    assert not at.exception and any("No runs yet" in i.value for i in at.info)
    at.multiselect(key="eval_personas").set_value(["discount_at_once", "declines_everything"])
    at.number_input(key="eval_trials").set_value(2).run()  # what Enter in the field does: the value, no run
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())
    at.button(key="run_eval").click().run()
    assert not at.exception, at.exception
    assert any(s.value.startswith("Finished: eval-") for s in at.success)
    summary = at.dataframe[0].value
    assert summary.iloc[0]["policy"] == "retention_offers" and summary.iloc[0]["retained"].startswith("50%")
    assert any(m.value for m in at.chat_message[0].markdown)  # a conversation is open below
    assert (next((tmp_path / "runs").iterdir()) / "report.html").exists()


def test_ab_page_compares_two_policies(tmp_path):
    at = AppTest.from_file(str(ROOT / "pages" / "2_AB_compare.py"), default_timeout=120).run()
    assert not at.exception
    at.multiselect(key="ab_personas").set_value(["holds_out_for_more", "discount_at_once"])
    at.number_input(key="ab_trials").set_value(2)
    at.selectbox(key="ab_b").set_value("retention_offers_lean.md")
    at.text_area(key="ab_gates").set_value("adherence>=-2pp")
    at.button(key="ab_power").click().run()
    assert not at.exception, at.exception
    assert any("Power now" in m.value for m in at.markdown) and len(at.dataframe[0].value) >= 2
    at.button(key="run_compare").click().run()
    assert not at.exception, at.exception
    folder = next((tmp_path / "runs").iterdir())
    assert (folder / "comparison.json").exists() and (folder / "arm_a" / "results.jsonl").exists()
    report = (folder / "report.html").read_text()
    assert "2 personas × 2 trials = 4 matched pairs" in report and "holds_out_for_more" in report
    assert "Ship B?" in report and (folder / "gate.junit.xml").exists()


def test_the_run_just_made_is_shown_even_when_older_runs_exist(tmp_path):
    at = AppTest.from_file(str(ROOT / "pages" / "1_Evals.py"), default_timeout=120).run()
    at.multiselect(key="eval_personas").set_value(["discount_at_once"])
    at.number_input(key="eval_trials").set_value(1)
    at.button[0].click().run()
    first = at.session_state.selected_run
    at.multiselect(key="eval_personas").set_value(["declines_everything"])
    at.button[0].click().run()
    assert not at.exception, at.exception
    second = at.session_state.selected_run
    assert second != first and at.selectbox(key="eval_run_choice").value.startswith(second.rsplit("/", 1)[-1])
    assert at.dataframe[0].value.iloc[0]["cancelled"].startswith("100%")


def test_an_unfinished_run_is_marked_and_can_be_resumed(tmp_path):
    from evals.running.config import RunConfig
    from evals.running.runner import execute_run
    from evals.schema.records import RESULTS, read_results

    out = tmp_path / "runs" / "eval-stopped"
    config = RunConfig(policies=[ROOT / "policies" / "retention_offers.md"], trials=1, out=out, cache_path=None,
                       persona_ids=["discount_at_once", "declines_everything"])  # fmt: skip
    execute_run(config)
    lines = (out / RESULTS).read_text().splitlines()
    (out / RESULTS).write_text(lines[0] + "\n")  # as if stopped after the first conversation
    at = AppTest.from_file(str(ROOT / "pages" / "1_Evals.py"), default_timeout=120).run()
    assert "unfinished 1/2" in at.selectbox(key="eval_run_choice").value
    assert any("can be resumed" in w.value for w in at.warning)
    at.button(key="resume_run").click().run()
    assert not at.exception, at.exception
    assert len(read_results(out)) == 2 and "unfinished" not in at.selectbox(key="eval_run_choice").value


def test_failures_are_listed_coloured_and_filterable_by_check_persona_and_outcome(tmp_path):
    from evals.running.config import RunConfig
    from evals.running.runner import execute_run
    from testing.agent_doubles import CancelsWithoutOffering

    out = tmp_path / "runs" / "eval-misbehaving"
    config = RunConfig(policies=[ROOT / "policies" / "retention_offers.md"], trials=1, out=out, cache_path=None,
                       persona_ids=["discount_at_once", "declines_everything"])  # fmt: skip
    execute_run(config, agent=CancelsWithoutOffering)
    at = AppTest.from_file(str(ROOT / "pages" / "1_Evals.py"), default_timeout=120).run()
    assert not at.exception, at.exception
    table = failures_table(at)
    assert {"check", "persona", "outcome", "evidence"} <= set(table.columns) and len(table) >= 2
    assert "outcome" in set(table["check"])  # discount_at_once was cancelled instead of kept
    at.multiselect(key="fail_persona").set_value(["declines_everything"]).run()
    filtered = failures_table(at)
    assert 0 < len(filtered) < len(table) and set(filtered["persona"]) == {"declines_everything"}


def failures_table(at):
    return next(d.value for d in at.dataframe if "check" in d.value.columns)
