"""A/B comparisons with the persona as the unit: hand-computed statistics, refusal of unpaired runs, the effects
of real policy changes, and a simulation of the test's false-positive rate, interval coverage and power."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from evals.reports.compare_report import write_comparison
from evals.running.config import RunConfig
from evals.running.runner import execute_run
from evals.schema.manifest import PolicyEntry, RunIdentity, RunManifest, write_manifest
from evals.schema.records import RESULTS, ConversationRecord, Score
from evals.stats.comparison import compare_runs
from evals.stats.paired import holm, persona_interval, sign_flip_test
from testing.ab_simulation import simulate
from tests.conftest import POLICIES, ROOT, prose_only

RETENTION = POLICIES / "retention_offers.md"


def fake_run(folder: Path, outcomes: list[str], seed_offset: int = 0, personas: int = 5) -> Path:
    """A hand-made run of one policy: pair i has persona p{i % personas} and the given outcome."""
    folder.mkdir(parents=True)
    policy_text = RETENTION.read_text()
    identity = RunIdentity(
        policies=[str(RETENTION)],
        personas_dir="personas",
        persona_ids=None,
        trials=len(outcomes) // personas,
        model="offline",
        base_url=None,
        seed=0,
        fault_rate=0.0,
    )
    entry = PolicyEntry(file=str(RETENTION), stem="retention_offers", name="p", version="1", sha="x", text=policy_text)
    manifest = RunManifest(
        identity=identity,
        total=len(outcomes),
        created="test",
        concurrency=1,
        policies=[entry],
        personas=[f"p{i}" for i in range(personas)],
    )
    write_manifest(folder, manifest)
    lines = []
    for i, outcome in enumerate(outcomes):
        record = ConversationRecord(
            key=f"retention_offers/p{i % personas}/{i // personas}",
            policy="p",
            policy_file=str(RETENTION),
            policy_sha="x",
            persona=f"p{i % personas}",
            trial=i // personas,
            seed=1000 + i + seed_offset,
            model="offline",
            customer_id=1,
            target_order="000000101",
            transcript=[],
            turns=[],
            trace=[],
            final_state=None,
            sim_events=[],
            expected={"outcome": "retained", "offer": "discount"},
            stop_reason="resolved",
            outcome=outcome,
            retained_offer="discount" if outcome == "retained" else None,
            scores=[Score(name="correct_outcome", value=1.0, passed=outcome == "retained")],
            economics={"value_kept": 100.0 if outcome == "retained" else 0.0, "offer_cost": 10.0},
        )
        lines.append(record.model_dump_json())
    (folder / RESULTS).write_text("\n".join(lines) + "\n")
    return folder


def test_hand_computed_example_matches_comparison_json(tmp_path):
    # 5 personas x 2 trials. Persona p0..p4 retain under A in trials (1,1),(1,0),(0,0),(0,0),(1,1); under B in
    # (1,1),(1,1),(1,1),(1,0),(1,1). Per-persona differences B - A: 0, 0.5, 1, 0.5, 0.
    r, c = "retained", "cancelled"
    a = [r, r, c, c, r] + [r, c, c, c, r]  # trial 0 of p0..p4, then trial 1
    b = [r, r, r, r, r] + [r, r, r, c, r]
    comparison = compare_runs(fake_run(tmp_path / "a", a, personas=5), fake_run(tmp_path / "b", b, personas=5))
    write_comparison(comparison, tmp_path / "out")
    data = json.loads((tmp_path / "out" / "comparison.json").read_text())
    retention = next(m for m in data["metrics"] if m["metric"] == "retention")
    assert (retention["personas_changed"], retention["toward_b"], retention["personas"]) == (3, 3, 5)
    # three non-zero differences, all positive: 2 of the 8 sign assignments reach |sum| >= 2
    assert retention["p_value"] == pytest.approx(2 / 8)
    assert retention["diff"] == pytest.approx(0.4)
    half = 2.7764451 * np.std([0, 0.5, 1, 0.5, 0], ddof=1) / math.sqrt(5)
    assert (retention["diff_low"], retention["diff_high"]) == pytest.approx((0.4 - half, 0.4 + half), abs=1e-6)
    assert not retention["significant"] and "no population-level difference" in retention["verdict"]
    assert data["summary"][0].startswith("Out of 100 customers like these, B keeps about 40 more than A")
    assert "Only 5 personas" in " ".join(data["summary"])
    assert any(
        e["sentence"] == "`p2` is cancelled under A and retained (discount) under B in 2 of 2 trials"
        for e in data["persona_effects"]
    )


def test_sign_flip_and_holm_by_hand():
    assert sign_flip_test([0, 0, 0]) == 1.0
    assert sign_flip_test([1, 1, 1]) == pytest.approx(2 / 8)
    assert sign_flip_test([1] * 6) == pytest.approx(2 / 64)
    assert sign_flip_test([1, -1]) == 1.0
    assert holm([0.01, 0.04, 0.03, 0.5]) == pytest.approx([0.04, 0.09, 0.09, 0.5])
    assert persona_interval([0.0, 0.0, 0.0]) == (0.0, 0.0, 0.0)


@pytest.mark.slow
def test_unpaired_runs_and_the_same_run_twice_are_refused_in_one_line(tmp_path):
    fake_run(tmp_path / "a", ["retained"] * 10)
    fake_run(tmp_path / "b", ["retained"] * 10, seed_offset=7)
    fake_run(tmp_path / "c", ["retained"] * 15)
    cases = [("b", "not paired: different seeds"), ("c", "not paired: different personas or trials"), ("a", "same run")]
    for other, needle in cases:
        result = subprocess.run(
            [sys.executable, "-m", "evals", "compare", "--runs", str(tmp_path / "a"), str(tmp_path / other),
             "--out", str(tmp_path / f"out_{other}")],
            cwd=ROOT,
            capture_output=True,
            text=True,
        )  # fmt: skip
        assert result.returncode == 2 and needle in result.stderr and "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_simulated_a_a_false_positives_and_interval_coverage_with_14_personas():
    false_positives, coverage = simulate(effect=0.0, comparisons=300, seed=11)
    assert false_positives <= 0.06
    assert coverage >= 0.93
    powers = []
    for effect in (0.1, 0.2, 0.3):
        power, coverage = simulate(effect, comparisons=200, seed=12)
        assert coverage >= 0.93, (effect, coverage)
        powers.append(power)
    # power grows with the effect, and 14 personas x 5 trials are too few for a 10-point effect (README: power table)
    assert powers == sorted(powers) and powers[0] < 0.3 < powers[2], powers


def run_pair(tmp_path: Path, a: Path, b: Path, trials: int):
    arms = []
    for arm, policy in (("a", a), ("b", b)):
        out = tmp_path / arm
        execute_run(RunConfig(policies=[policy], trials=trials, out=out, cache_path=tmp_path / "cache.sqlite"))
        arms.append(out)
    return compare_runs(*arms)


@pytest.mark.slow
def test_removing_the_swap_line_is_one_persona_flip_not_a_population_difference(tmp_path):
    text = prose_only(RETENTION.read_text(encoding="utf-8"))  # B's plan is drafted from its text
    swap_line = next(line for line in text.splitlines() if "@swap_order_item" in line)
    without_swap = tmp_path / "retention_offers_no_swap.md"
    without_swap.write_text(text.replace(swap_line + "\n", ""), encoding="utf-8")
    for name in ("single_order_cancellation.md",):
        (tmp_path / name).write_text((POLICIES / name).read_text(encoding="utf-8"), encoding="utf-8")
    comparison = run_pair(tmp_path, RETENTION, without_swap, trials=10)
    changed = [e for e in comparison.persona_effects if e.changed]
    assert [e.persona for e in changed] == ["wants_a_swap"]
    assert changed[0].sentence == "`wants_a_swap` is retained (swap) under A and cancelled under B in 10 of 10 trials"
    retention = next(m for m in comparison.metrics if m.metric == "retention")
    assert not retention.significant and retention.personas_changed == 1
    assert "a population claim needs at least 7 personas" in retention.verdict


def test_retention_versus_no_retention_is_significant_on_retention_and_cancellation(tmp_path):
    comparison = run_pair(tmp_path, RETENTION, POLICIES / "cancel_without_retention.md", trials=5)
    metrics = {m.metric: m for m in comparison.metrics}
    assert metrics["retention"].significant and metrics["retention"].diff < 0
    assert metrics["cancellation"].significant and metrics["cancellation"].diff > 0
    assert metrics["retention"].verdict.startswith("A retains more customers")
    assert not metrics["correct_outcome"].significant  # both arms reach what the oracle expects of them
    page = write_comparison(comparison, tmp_path / "report")[0].read_text()
    assert "What each persona did" in page and "cancel_without_retention" in page and "diff_sub" in page


def test_when_trials_repeat_one_result_the_advice_is_in_personas(tmp_path):
    a = ["retained"] * 25
    b = ["cancelled" if i % 5 == 0 else "retained" for i in range(25)]  # p0 cancelled in all 5 trials under B
    comparison = compare_runs(fake_run(tmp_path / "a", a), fake_run(tmp_path / "b", b))
    retention = next(m for m in comparison.metrics if m.metric == "retention")
    assert not comparison.trials_vary and not retention.significant
    assert "more trials add nothing" in retention.verdict
    assert any("the evidence is 5 personas, not 25 conversations" in line for line in comparison.summary)
