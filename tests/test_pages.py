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
    at.number_input(key="eval_trials").set_value(2)
    at.button[0].click().run()  # form widgets are committed on submit
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
    at.button[0].click().run()
    assert not at.exception, at.exception
    folder = next((tmp_path / "runs").iterdir())
    assert (folder / "comparison.json").exists() and (folder / "arm_a" / "results.jsonl").exists()
    report = (folder / "report.html").read_text()
    assert "2 personas × 2 trials = 4 matched pairs" in report and "holds_out_for_more" in report
