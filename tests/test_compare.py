"""A/B comparisons: hand-computed statistics, refusal of unpaired runs, A/A calibration and power."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from evals.reports.compare_report import write_comparison
from evals.running.config import RunConfig, RunIdentity
from evals.running.manifest import PolicyEntry, RunManifest, write_manifest
from evals.running.records import RESULTS, ConversationRecord, Score
from evals.running.runner import execute_run
from evals.stats.comparison import compare_runs
from evals.stats.paired import holm, mcnemar_exact
from tests.conftest import POLICIES, ROOT

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
            key=f"{folder.name}/p{i % personas}/{i // personas}",
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
    # 10 pairs: A retains pairs 0-2 and 9; B retains pairs 3-9. Discordant: A only {0,1,2}, B only {3..8}.
    a = ["retained" if i in (0, 1, 2, 9) else "cancelled" for i in range(10)]
    b = ["retained" if i >= 3 else "cancelled" for i in range(10)]
    comparison = compare_runs(fake_run(tmp_path / "a", a), fake_run(tmp_path / "b", b))
    write_comparison(comparison, tmp_path / "out")
    data = json.loads((tmp_path / "out" / "comparison.json").read_text())
    retention = next(m for m in data["metrics"] if m["metric"] == "retention")
    assert (retention["only_a"], retention["only_b"], retention["pairs"]) == (3, 6, 10)
    # exact McNemar: 2 * P(X <= 3), X ~ Binomial(9, 1/2) = 2 * (1 + 9 + 36 + 84) / 512
    assert retention["p_value"] == pytest.approx(260 / 512)
    assert retention["diff"] == pytest.approx(0.3)
    assert (retention["a"]["k"], retention["b"]["k"]) == (4, 7)
    value = next(e for e in data["economics"] if e["measure"] == "value_kept")
    assert (value["a_total"], value["b_total"], value["mean_diff"]) == (400.0, 700.0, 30.0)
    assert len(data["flips"]) == 9 and data["pairs"] == 10
    assert "no significant difference" in retention["verdict"]


def test_mcnemar_and_holm_by_hand():
    assert mcnemar_exact(0, 0) == 1.0
    assert mcnemar_exact(1, 6) == pytest.approx(16 / 128)
    assert mcnemar_exact(0, 10) == pytest.approx(2 / 1024)
    assert holm([0.01, 0.04, 0.03, 0.5]) == pytest.approx([0.04, 0.09, 0.09, 0.5])


def test_unpaired_runs_are_refused_in_one_line(tmp_path):
    fake_run(tmp_path / "a", ["retained"] * 10)
    fake_run(tmp_path / "b", ["retained"] * 10, seed_offset=7)
    fake_run(tmp_path / "c", ["retained"] * 15)
    for other, needle in [("b", "not paired: different seeds"), ("c", "not paired: different personas or trials")]:
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "evals",
                "compare",
                "--runs",
                str(tmp_path / "a"),
                str(tmp_path / other),
                "--out",
                str(tmp_path / f"out_{other}"),
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        assert result.returncode == 2 and needle in result.stderr and "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_no_difference_false_positive_rate_on_noisy_arms(tmp_path):
    """Arms drawn independently from the same distribution: the test must rarely call a difference."""
    rng = np.random.default_rng(0)
    significant = 0
    for i in range(40):
        a = ["retained" if x else "cancelled" for x in rng.random(50) < 0.4]
        b = ["retained" if x else "cancelled" for x in rng.random(50) < 0.4]
        comparison = compare_runs(fake_run(tmp_path / f"a{i}", a), fake_run(tmp_path / f"b{i}", b))
        significant += next(m for m in comparison.metrics if m.metric == "retention").significant
    assert significant <= 4


def test_a_a_calibration_over_twenty_seeds(tmp_path):
    cache = tmp_path / "cache.sqlite"
    verdicts = []
    for seed in range(20):
        arms = []
        for arm in ("a", "b"):
            out = tmp_path / f"s{seed}" / arm
            execute_run(RunConfig(policies=[RETENTION], trials=2, seed=seed, out=out, cache_path=cache, concurrency=2))
            arms.append(out)
        retention = next(m for m in compare_runs(*arms).metrics if m.metric == "retention")
        verdicts.append(retention.verdict.startswith("no significant difference"))
    assert sum(verdicts) >= 18


def test_power_retention_versus_no_retention_step(tmp_path):
    arms = []
    for arm, policy in (("a", RETENTION), ("b", POLICIES / "cancel_without_retention.md")):
        out = tmp_path / arm
        execute_run(RunConfig(policies=[policy], trials=5, out=out, cache_path=tmp_path / "cache.sqlite"))
        arms.append(out)
    comparison = compare_runs(*arms)
    retention = next(m for m in comparison.metrics if m.metric == "retention")
    assert retention.significant and retention.diff < 0
    assert retention.verdict.startswith("A retains more customers")
    paths = write_comparison(comparison, tmp_path / "report")
    page = paths[0].read_text()
    assert "Flips" in page and "cancel_without_retention" in page and "diff_sub" in page
