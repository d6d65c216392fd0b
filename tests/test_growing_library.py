"""Growing the persona library: helpdesk tickets imported as personas (the sample export, with no personal data in
any written file), personas generated for the plan branches a library misses, and the shipped library covering every
branch of every shipped policy."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from agent.policy.compiled import compile_policy_file
from agent.store.fixtures import default_fixtures
from evals.growing.generate import generate
from evals.growing.ticket_import import import_tickets
from evals.personas.loader import load_personas
from evals.running.config import RunConfig
from evals.running.runner import execute_run
from evals.scoring.branches import coverage_table
from testing.labelled_tickets import SAMPLE, measure
from tests.conftest import POLICIES, ROOT

LAYOUTS = ROOT / "fixtures" / "policy_layouts"


@pytest.fixture(scope="module")
def imported(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("imported")
    import_tickets(SAMPLE / "gorgias_tickets.json", SAMPLE / "magento_orders.json", out)
    return out


def test_no_personal_value_of_the_sample_survives_in_any_written_file(imported):
    score = measure(imported)
    assert score.leaks == []
    written = [p for p in imported.rglob("*") if p.is_file()]
    assert len(written) > 30 and any(p.parent.name == "magento" for p in written)


def test_the_import_reads_the_sample_as_labelled_and_never_guesses_an_order(imported):
    """`python scripts/ticket_import_accuracy.py`: the README's figures, kept from getting worse."""
    score = measure(imported)
    assert score.wrong_order == []  # a persona is never on an order the customer did not name
    assert score.right_order >= 31 and score.made == score.right_order
    assert score.fields["outcome"] >= 26 and score.fields["asked_for_person"] == score.right_order
    summary = json.loads((imported / "import_summary.json").read_text())
    assert summary["tickets"] == 47 and len(summary["skipped"]) == 47 - score.made
    assert any("not a cancellation" in why for why in summary["skipped_by_reason"])


def test_imported_personas_replay_in_their_own_world_and_the_report_compares_with_production(imported, tmp_path):
    out = tmp_path / "run"
    config = RunConfig(policies=[POLICIES / "retention_offers.md"], personas_dir=imported / "personas",
                       fixtures_dir=imported / "fixtures", trials=1, out=out, cache_path=None)  # fmt: skip
    records = execute_run(config)
    assert len(records) == len(list((imported / "personas").glob("*.yaml"))) and not any(r.error for r in records)
    subprocess.run([sys.executable, "-m", "evals", "report", str(out)], cwd=ROOT, check=True, capture_output=True)
    report = (out / "report.md").read_text()
    assert "## Production vs lab" in report and "| ticket_31840112 | 31840112 | retention_offers |" in report


def test_a_broken_export_is_one_line_naming_the_file_and_field(tmp_path):
    broken = tmp_path / "tickets.json"
    broken.write_text(json.dumps({"data": [{"id": "not a number"}]}))
    run = subprocess.run([sys.executable, "-m", "evals", "import-tickets", str(broken), "--out", str(tmp_path / "o")],
                         cwd=ROOT, capture_output=True, text=True)  # fmt: skip
    assert run.returncode != 0 and "Traceback" not in run.stderr
    assert str(broken) in run.stderr and "data[0].id" in run.stderr and len(run.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("policy", ["retention_offers", "retention_offers_lean", "retention_offers_shipping_first",
                                    "single_order_cancellation", "cancel_without_retention"])  # fmt: skip
def test_the_shipped_library_covers_every_branch_of_every_shipped_policy(policy):
    table = coverage_table(load_personas(), compile_policy_file(POLICIES / f"{policy}.md"), default_fixtures())
    assert [branch.key for branch, ids in table if not ids] == []


def test_generated_personas_cover_a_conditional_plan_and_play_out_as_pinned(tmp_path):
    policy = compile_policy_file(LAYOUTS / "customer_conditions.md")
    made, impossible = generate(policy, [], default_fixtures())
    assert impossible == []
    table = coverage_table(made, policy, default_fixtures())
    assert [branch.key for branch, ids in table if not ids] == []
    assert {"condition:discount:holds", "condition:discount:fails"} <= {b.key for b, _ in table}
    folder = tmp_path / "personas"
    folder.mkdir()
    for persona in made:
        (folder / f"{persona.id}.yaml").write_text(json.dumps(persona.model_dump(mode="json", exclude_defaults=True)))
    config = RunConfig(policies=[LAYOUTS / "customer_conditions.md"], personas_dir=folder, trials=2,
                       out=tmp_path / "run", cache_path=None)  # fmt: skip
    records = execute_run(config)
    wrong = [r.key for r in records if not r.correct]
    assert wrong == [] and len(records) == 2 * len(made)


def test_generate_personas_writes_only_what_is_missing_and_prints_the_table(tmp_path):
    folder = tmp_path / "library"
    folder.mkdir()
    for path in (ROOT / "fixtures" / "personas").glob("*.yaml"):
        if not path.name.startswith("gen_"):
            (folder / path.name).write_text(path.read_text())
    argv = [sys.executable, "-m", "evals", "generate-personas", "--policy", str(POLICIES / "retention_offers.md"),
            "--out", str(folder)]  # fmt: skip
    first = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=True)
    said = first.stdout + first.stderr
    assert "wrote" in said and "UNCOVERED" not in said and "voices a worry about swap" in said
    again = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=True)
    assert "wrote" not in again.stdout + again.stderr  # every branch is covered now: nothing more to write


def test_single_run_rates_use_the_personas_weights_and_say_so(tmp_path):
    from evals.stats.metrics import cluster_rate

    rates = {"a": [True, True], "b": [False, False], "c": [True, False]}
    plain = cluster_rate(rates)
    equal = cluster_rate(rates, {"a": 1.0, "b": 1.0, "c": 1.0})
    assert equal.model_dump(exclude={"weighted"}) == pytest.approx(plain.model_dump(exclude={"weighted"}))
    assert equal.weighted and "weighted" in equal.fmt() and "weighted" not in plain.fmt()
    heavy = cluster_rate(rates, {"a": 3.0, "b": 1.0, "c": 1.0})
    assert heavy.rate == pytest.approx((3 * 1 + 0 + 0.5) / 5) and heavy.k == plain.k
    folder = tmp_path / "personas"
    folder.mkdir()
    for name, weight in (("discount_at_once", 4), ("declines_everything", 1)):
        text = (ROOT / "fixtures" / "personas" / f"{name}.yaml").read_text()
        (folder / f"{name}.yaml").write_text(text + f"weight: {weight}\n")
    out = tmp_path / "run"
    execute_run(RunConfig(policies=[POLICIES / "retention_offers.md"], personas_dir=folder, trials=2, out=out,
                          cache_path=None))  # fmt: skip
    subprocess.run([sys.executable, "-m", "evals", "report", str(out)], cwd=ROOT, check=True, capture_output=True)
    report = (out / "report.md").read_text()
    assert "Rates are weighted by the personas' `weight:`" in report
    assert "| 80% " in report  # retained: (4 x 100% + 1 x 0%) / 5, not the unweighted 50%


def test_the_shipped_library_finds_a_20_point_difference_at_least_80_percent_of_the_time_at_3_trials():
    """`python -m evals plan-ab --trials 3 --effect 20pp`: simulated through the report's own verdict code."""
    from evals.stats.power import plan

    personas = load_personas()
    kind = "heterogeneous" if any(p.has_chance for p in personas) else "deterministic"
    assert plan(len(personas), 3, 0.2, kind, comparisons=100) >= 0.8


def test_nulls_and_one_broken_ticket_do_not_stop_an_import(tmp_path):
    sample = json.loads((SAMPLE / "gorgias_tickets.json").read_text())
    tickets = sample["data"][:6]
    tickets[0]["tags"], tickets[0]["messages"][0]["from_agent"] = None, None  # real exports write null
    tickets.append({"id": "not a number", "messages": []})
    (tmp_path / "t.json").write_text(json.dumps({"data": tickets}))
    orders = json.loads((SAMPLE / "magento_orders.json").read_text())
    orders["items"][0]["shipping_amount"] = None
    orders["items"][0]["billing_address"] = {"street": "1 Single Line Road", "city": None}
    (tmp_path / "o.json").write_text(json.dumps(orders))
    summary = import_tickets(tmp_path / "t.json", tmp_path / "o.json", tmp_path / "out")
    assert summary.tickets == 7 and any(why.startswith("not readable") for why in summary.skipped.values())
    assert summary.personas  # the readable cancellations still became personas
