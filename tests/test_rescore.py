"""Scoring apart from playing: `python -m evals rescore` re-reads and re-scores stored records without a model,
reproduces a run made before this code when nothing changed, and says what flipped when a rule changes."""

from __future__ import annotations

import json
import shutil

import pytest

from evals.cli import main as evals_main
from evals.personas.loader import load_personas
from evals.schema.records import ConversationRecord, iter_results
from evals.schema.version import SCHEMA_VERSION
from evals.scoring import context as scoring_context
from evals.service import rescore
from tests.conftest import ROOT

EXAMPLE = ROOT / "docs" / "examples" / "eval_retention_offers"  # make examples: offline, 42 conversations
# made before records carried a schema version (version 1), with a real model as agent and customer
LOCAL_MODEL_EXAMPLE = ROOT / "docs" / "examples" / "local_model_agent_and_customer"


def verdicts(record: ConversationRecord) -> tuple:
    return (record.outcome, record.retained_offer, record.expected.outcome,
            [(s.name, s.passed) for s in record.scores], record.economics.value_kept,
            record.economics.offer_cost)  # fmt: skip


def test_rescoring_a_run_made_with_the_current_rules_reproduces_every_record(tmp_path):
    result = rescore(EXAMPLE, tmp_path / "again")
    before = {r.key: r for r in iter_results(EXAMPLE)}
    after = {r.key: r for r in iter_results(tmp_path / "again")}
    assert before.keys() == after.keys() and len(after) == len(load_personas()) * 3
    assert {k: verdicts(r) for k, r in after.items()} == {k: verdicts(r) for k, r in before.items()}
    assert result.changes.unchanged
    assert all(r.schema_version == SCHEMA_VERSION for r in after.values())
    assert "no rule, verdict or outcome changed" in (tmp_path / "again" / "report.md").read_text()


def test_rescoring_an_earlier_run_keeps_its_verdicts_and_reports_only_the_rules_added_since(tmp_path):
    """A run made before records carried a schema version, by a real model: every rule it was scored on keeps its
    verdicts; the rules added since are listed as added, and nothing flips."""
    result = rescore(LOCAL_MODEL_EXAMPLE, tmp_path / "again")
    before = {r.key: r for r in iter_results(LOCAL_MODEL_EXAMPLE)}
    after = {r.key: r for r in iter_results(tmp_path / "again")}
    assert before.keys() == after.keys() and len(after) == 3
    for key, record in after.items():
        old = {s.name: s.passed for s in before[key].scores}
        assert {s.name: s.passed for s in record.scores if s.name in old} == old
        assert (record.outcome, record.expected.outcome) == (before[key].outcome, before[key].expected.outcome)
    assert not result.changes.verdict_flips and not result.changes.outcome_flips
    assert all(r.schema_version == SCHEMA_VERSION for r in after.values())


def test_a_changed_rule_is_reported_as_flipped_verdicts(tmp_path, monkeypatch):
    name, real = next((n, check) for n, check in scoring_context.SCORERS if n == "adherence.discount_within_cap")

    def strict(ctx):
        score = real(ctx)
        return score.model_copy(update={"passed": False}) if score.passed else score

    monkeypatch.setitem(scoring_context.SCORERS._entries, name, strict)
    result = rescore(EXAMPLE, tmp_path / "stricter")
    flips = result.changes.verdict_flips[name]
    assert flips and all(f.before is True and f.after is False for f in flips)
    changes = json.loads((tmp_path / "stricter" / "rescore.json").read_text())
    assert len(changes["verdict_flips"][name]) == len(flips)
    assert f"{name}: {len(flips)} verdict(s) flipped" in (tmp_path / "stricter" / "report.md").read_text()


def test_rescore_never_touches_the_run_and_refuses_the_run_itself(tmp_path, capsys):
    run = tmp_path / "run"
    shutil.copytree(EXAMPLE, run)
    before = (run / "results.jsonl").read_bytes()
    assert evals_main(["rescore", str(run), "--out", str(run)]) == 2
    assert "--out: is the run itself" in capsys.readouterr().err
    assert evals_main(["rescore", str(run)]) == 0
    assert (run / "results.jsonl").read_bytes() == before
    assert (tmp_path / "run-rescored" / "report.html").exists()


@pytest.mark.parametrize("where", ["run.json", "results.jsonl"])
def test_a_run_from_a_newer_version_is_refused_in_one_line(tmp_path, capsys, where):
    run = tmp_path / "run"
    shutil.copytree(EXAMPLE, run)
    if where == "run.json":
        manifest = json.loads((run / "run.json").read_text())
        (run / "run.json").write_text(json.dumps({**manifest, "schema_version": SCHEMA_VERSION + 1}))
    else:
        lines = (run / "results.jsonl").read_text().splitlines()
        lines[0] = json.dumps({**json.loads(lines[0]), "schema_version": SCHEMA_VERSION + 1})
        (run / "results.jsonl").write_text("\n".join(lines) + "\n")
    for command in (["rescore", str(run)], ["report", str(run)]):
        assert evals_main(command) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and f"schema_version: is {SCHEMA_VERSION + 1}, newer than this" in err[0], err


def test_records_a_run_did_not_plan_are_left_out_with_a_warning(tmp_path):
    """A record pasted in from another run, or written twice, is left out of every figure and the report says so."""
    import shutil
    import subprocess
    import sys

    from evals.schema.records import RESULTS, run_records

    run = tmp_path / "run"
    shutil.copytree(ROOT / "docs" / "examples" / "eval_retention_offers", run)
    lines = (run / RESULTS).read_text(encoding="utf-8").splitlines()
    foreign = lines[0].replace('"key":"retention_offers/', '"key":"someone_else/', 1)
    (run / RESULTS).write_text("\n".join([*lines, foreign, lines[1]]) + "\n", encoding="utf-8")
    records, left_out = run_records(run)
    assert len(records) == len(lines) and left_out[0].startswith("someone_else/") and len(left_out) == 2
    argv = [sys.executable, "-m", "evals", "report", str(run)]
    result = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0
    assert "2 record(s) in results.jsonl are not conversations this run planned" in result.stderr
    assert "left out of every figure" in (run / "report.md").read_text(encoding="utf-8")
