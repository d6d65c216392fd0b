"""A/B comparisons with the persona as the unit: hand-computed statistics, refusal of unpaired runs, the effects
of real policy changes, and a simulation of the test's false-positive rate, interval coverage and power."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from evals.reports.compare_report import write_comparison
from evals.running.config import RunConfig
from evals.running.runner import execute_run
from evals.schema.manifest import PolicyEntry, RunIdentity, RunManifest, write_manifest
from evals.schema.records import RESULTS, ConversationRecord, Score
from evals.stats.comparison import compare_runs
from evals.stats.paired import persona_interval, sign_flip_interval, sign_flip_test
from evals.stats.power import KINDS, simulate, simulate_reports
from evals.stats.verdicts import Pair
from tests.conftest import HAND_WRITTEN, POLICIES, ROOT, prose_only

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
    # with 5 personas the test's smallest p-value is 2/32 > 0.025 (retention's level): no shift can be rejected,
    # so the interval is the whole range, and says so
    assert (retention["diff_low"], retention["diff_high"]) == (-1.0, 1.0)
    assert retention["interval"].startswith("[-100, +100] pp (97.5% interval")
    assert not retention["significant"] and "no difference shown across these personas" in retention["verdict"]
    assert "7 personas all moving the same way are needed, more than the 5 compared" in retention["verdict"]
    assert data["summary"][0].startswith("Across these 5 personas, each weighted once, B's retention rate is +40 pp")
    assert data["ship"] == "not enough evidence"
    assert "Only 5 personas" in " ".join(data["summary"])
    assert any(
        e["sentence"] == "`p2` is cancelled under A and retained (discount) under B in 2 of 2 trials"
        for e in data["persona_effects"]
    )


def test_sign_flip_test_and_its_inversion_by_hand():
    assert sign_flip_test([0, 0, 0]) == 1.0
    assert sign_flip_test([1, 1, 1]) == pytest.approx(2 / 8)
    assert sign_flip_test([1] * 6) == pytest.approx(2 / 64)
    assert sign_flip_test([1, -1]) == 1.0
    assert persona_interval([0.0, 0.0, 0.0]) == (0.0, 0.0, 0.0)
    # the interval inverts the test: 8 personas all +1 reject every shift but +1 (p = 2/256), with no spread
    same = sign_flip_interval([1.0] * 8, 0.05)
    assert not same.spread and same.low == pytest.approx(1.0, abs=0.003) and same.high == 1.0
    # 7 of 14 at +1: shifts of 0 and below are rejected at 2.5%, so 0 is outside, as the test says (p = 2/128)
    # weights change nothing by their scale, however large (a rounding error once passed for a difference)
    assert sign_flip_test([381.52, 737.99], weights=[3, 999999]) == sign_flip_test([381.52, 737.99], weights=[3e-6, 1])
    # dollars: the interval stays beyond 0 when the test rejects 0 (the bisection once stepped over it)
    dollars = [0.21, 0.76, 4.77, 12.74, 0.69, 781.94, 0.07]
    assert sign_flip_test(dollars) < 0.025 and not sign_flip_interval(dollars, 0.025, bound=None).holds(0.0)
    half = sign_flip_interval([1.0] * 7 + [0.0] * 7, 0.025)
    assert half.spread and 0 < half.low < 0.5 < half.high < 1 and sign_flip_test([1.0] * 7 + [0.0] * 7) < 0.025


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


def test_power_grows_with_the_effect_and_is_low_at_ten_points_with_14_personas():
    powers = []
    for effect in (0.1, 0.2, 0.3):
        power, coverage = simulate(effect, comparisons=120, seed=12)
        assert coverage >= 0.93, (effect, coverage)
        powers.append(power)
    # 14 personas x 5 trials are too few for a 10-point effect (README: power table)
    assert powers == sorted(powers) and powers[0] < 0.3 < powers[2], powers


@pytest.mark.slow
@pytest.mark.parametrize("personas", [8, 14, 40])
@pytest.mark.parametrize("kind", KINDS)
def test_a_whole_report_calls_anything_significant_at_most_5_percent_of_the_time_and_intervals_cover(personas, kind):
    """A/A comparisons with retention, cancellation and ten more metrics under one error budget: the chance that
    anything in the report is called significant stays within 5%, and retention's interval holds the true mean
    difference of these personas (0) at least 93% of the time; with a 20-point effect too."""
    same = simulate_reports(0.0, 100, seed=personas, personas=personas, trials=3, kind=kind, metrics=10)
    assert same.family_wise <= 0.05 and same.coverage >= 0.93, (same.family_wise, same.coverage)
    moved = simulate_reports(0.2, 100, seed=personas + 1, personas=personas, trials=3, kind=kind)
    assert moved.coverage >= 0.93, moved.coverage


@pytest.mark.slow
def test_no_simulated_report_prints_a_customer_count_a_zero_width_interval_or_one_against_its_verdict():
    simulated = [
        simulate_reports(effect, 40, seed=7, personas=14, trials=3, kind=kind, metrics=3, keep=True)
        for kind in KINDS
        for effect in (0.0, 0.3, -1.0)
    ]
    reports = [m for found in simulated for report in found.reports for m in report if m.pairs]
    assert len(reports) == 2 * 3 * 40 * 5
    for m in reports:
        text = f"{m.verdict} {m.interval}"
        assert "customers like these" not in text and "out of 100" not in text.lower()
        low, high = m.diff_low or 0.0, m.diff_high or 0.0
        if m.spread:
            assert high - low > 0.005, text  # a printed interval is never zero-width
        else:
            assert "no spread to estimate an interval from" in m.interval and "[" not in m.interval, text
        assert m.significant == (m.p_value < m.alpha and not (low <= 0 <= high)), text
        if m.significant:
            assert not (low <= 0 <= high), text


def run_pair(tmp_path: Path, a: Path, b: Path, trials: int):
    """A against B on the 14 hand-written personas (the tests below are about what those do)."""
    arms = []
    for arm, policy in (("a", a), ("b", b)):
        out = tmp_path / arm
        config = RunConfig(policies=[policy], trials=trials, out=out, cache_path=tmp_path / "cache.sqlite",
                           persona_ids=HAND_WRITTEN)  # fmt: skip
        execute_run(config)
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
    assert "the test needs at least 7 personas moving the same way at this level (here 1)" in retention.verdict


def test_retention_versus_no_retention_is_significant_on_retention_and_cancellation(tmp_path):
    comparison = run_pair(tmp_path, RETENTION, POLICIES / "cancel_without_retention.md", trials=5)
    metrics = {m.metric: m for m in comparison.metrics}
    assert metrics["retention"].significant and metrics["retention"].diff < 0
    # cancellation mirrors retention, but only retention (the primary) has half the error budget: cancellation is
    # tested at its exploratory share, where 7 personas moving are not enough
    assert metrics["cancellation"].diff > 0 and metrics["cancellation"].role == "exploratory"
    assert metrics["retention"].verdict.startswith("A retains more often across these 14 personas")
    assert not metrics["correct_outcome"].significant  # both arms reach what the oracle expects of them
    page = write_comparison(comparison, tmp_path / "report")[0].read_text()
    assert "What each persona did" in page and "cancel_without_retention" in page and "diff_sub" in page


@pytest.mark.slow
def test_whether_trials_can_vary_comes_from_the_setup_not_from_the_outcomes_seen(tmp_path):
    """Personas that draw nothing, the offline model and no faults: trials cannot vary, whatever they showed. A
    persona that accepts with a probability makes the same setup one whose trials can vary, even when its trials
    happened to match."""
    fixed = ["declines_everything", "wants_a_swap"]
    runs = {}
    for arm, policy in (("a", RETENTION), ("b", POLICIES / "retention_offers_lean.md")):
        out = tmp_path / f"fixed_{arm}"
        execute_run(RunConfig(policies=[policy], trials=2, out=out, cache_path=None, persona_ids=fixed))
        runs[arm] = out
    comparison = compare_runs(runs["a"], runs["b"])
    retention = next(m for m in comparison.metrics if m.metric == "retention")
    assert comparison.trials_can_vary is False and "trials cannot vary in this setup" in retention.verdict
    # only wants_a_swap is expected to end differently (the lean policy has no swap): the test cannot reach 7
    assert retention.personas_movable == 1 and "only 1 of these personas can end differently" in retention.verdict
    assert any("the evidence is 2 personas, not 4 conversations" in line for line in comparison.summary)
    for arm, policy in (("a", RETENTION), ("b", POLICIES / "retention_offers_lean.md")):
        out = tmp_path / f"chance_{arm}"
        execute_run(RunConfig(policies=[policy], trials=2, out=out, cache_path=None,
                              persona_ids=[*fixed, "off_topic_first"]))  # fmt: skip
        runs[arm] = out
    comparison = compare_runs(runs["a"], runs["b"])
    assert comparison.trials_can_vary is True and "off_topic_first" in comparison.setup


def test_an_arm_whose_policy_has_lines_its_plan_does_not_hold_is_marked_in_the_summary_and_the_decision(tmp_path):
    from evals.schema.manifest import load_manifest

    a = fake_run(tmp_path / "a", ["retained"] * 10)
    b = fake_run(tmp_path / "b", ["retained"] * 10)
    manifest = load_manifest(b)
    text = manifest.policies[0].text
    line = "If they still hesitate, offer them a 12% discount on this order instead.\n"
    at = text.index("\n# ") + 1  # before the first heading of the body: a line the plan in the front matter lacks
    manifest.policies[0].text = text[:at] + line + "\n" + text[at:]
    write_manifest(b, manifest)
    comparison = compare_runs(a, b)
    assert not comparison.unread_a and len(comparison.unread_b) == 1 and "12%" in comparison.unread_b[0]
    assert comparison.summary[0].startswith("Caution: arm B's policy has 1 line(s) its plan does not hold")
    assert comparison.ship_why.startswith("Caution:") and "a policy nobody wrote" in comparison.ship_why


@pytest.mark.slow
def test_persona_weights_from_real_request_shares_weight_every_claim_and_say_so(tmp_path):
    """A persona may carry its share of real cancellation requests; the difference, the test and the interval are
    then about that mix, and the report says so."""
    personas = tmp_path / "personas"
    personas.mkdir()
    for name, weight in (("holds_out_for_more", 4), ("discount_at_once", 1)):
        text = (ROOT / "fixtures" / "personas" / f"{name}.yaml").read_text(encoding="utf-8")
        (personas / f"{name}.yaml").write_text(f"{text.rstrip()}\nweight: {weight}\n", encoding="utf-8")
    arms = []
    policies = {"a": POLICIES / "retention_offers_shipping_first.md", "b": POLICIES / "retention_offers_lean.md"}
    for arm, policy in policies.items():
        execute_run(RunConfig(policies=[policy], trials=1, out=tmp_path / arm, cache_path=None, personas_dir=personas))
        arms.append(tmp_path / arm)
    comparison = compare_runs(*arms)
    retention = next(m for m in comparison.metrics if m.metric == "retention")
    assert retention.diff == pytest.approx(-0.8)  # holds_out_for_more (weight 4) is lost under B; the other is not
    assert comparison.weighting.startswith("weighted by their share of real cancellation requests")
    assert "weighted by their share" in comparison.summary[0]
    assert sign_flip_test([1.0, 1.0], weights=[3.0, 1.0]) == pytest.approx(0.5)
    assert sign_flip_test([1.0, -1.0], weights=[3.0, 1.0]) == pytest.approx(1.0)


def test_a_difference_of_less_than_a_cent_is_no_difference_in_value():
    """A persona whose offer cost differs by a fraction of a cent did not change: the count and the test agree."""
    from types import SimpleNamespace

    from evals.stats.verdicts import compare_value, write_verdicts

    def record(persona: str, cost: float) -> SimpleNamespace:
        economics = SimpleNamespace(value_kept=100.0, offer_cost=cost)
        return SimpleNamespace(persona=persona, error=None, economics=economics)

    pairs = [Pair(record(f"p{i}", 10.0), record(f"p{i}", 9.996)) for i in range(8)]  # type: ignore[arg-type]
    value = compare_value(pairs)
    write_verdicts([value])
    assert value.personas_changed == 0 and value.p_value == 1.0 and not value.significant
