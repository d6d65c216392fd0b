"""A/B comparison of two policies on the same personas and seeds (a paired design), with honest statistics."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel

from agent.errors import InputFileError
from evals.running.manifest import RunManifest, load_manifest
from evals.running.records import ConversationRecord, read_results
from evals.scoring.scorers import adherence_rules
from evals.stats.metrics import Rate, wilson
from evals.stats.paired import cluster_bootstrap_diff, holm, mcnemar_exact, pairs_needed

ALPHA = 0.05
DETECTABLE = 0.05  # the effect size quoted in "would need about N more trials"
Extractor = Callable[[ConversationRecord], bool | None]


def _adherence(rule: str) -> Extractor:
    def value(record: ConversationRecord) -> bool | None:
        score = record.score(rule)
        return None if score is None else score.passed

    return value


def metric_extractors() -> dict[str, tuple[str, Extractor]]:
    """metric name -> (what 'more' means in a sentence, how to read it from a record)."""
    metrics: dict[str, tuple[str, Extractor]] = {
        "retention": ("retains more customers", lambda r: r.outcome == "retained"),
        "cancellation": ("cancels more orders", lambda r: r.outcome == "cancelled"),
        "escalation": ("escalates more", lambda r: r.outcome == "escalated"),
        "correct_outcome": ("reaches the expected outcome more often", lambda r: r.correct),
    }
    for rule in adherence_rules():
        metrics[rule] = (f"follows '{rule.removeprefix('adherence.')}' more often", _adherence(rule))
    return metrics


class MetricComparison(BaseModel):
    metric: str
    pairs: int
    a: Rate
    b: Rate
    diff: float | None
    diff_low: float | None
    diff_high: float | None
    only_a: int
    only_b: int
    p_value: float
    p_holm: float = 1.0
    significant: bool = False
    verdict: str = ""


class EconomicsComparison(BaseModel):
    measure: str
    a_total: float
    b_total: float
    mean_diff: float
    diff_low: float
    diff_high: float


class Flip(BaseModel):
    persona: str
    trial: int
    seed: int
    a_outcome: str
    b_outcome: str
    a_key: str
    b_key: str


class Comparison(BaseModel):
    a_label: str
    b_label: str
    a_run: str
    b_run: str
    model: str
    personas: int
    trials: int
    pairs: int
    metrics: list[MetricComparison]
    economics: list[EconomicsComparison]
    flips: list[Flip]
    offline_model: bool
    structure_a: list[str]
    structure_b: list[str]
    notes: list[str]


@dataclass(frozen=True)
class Pair:
    a: ConversationRecord
    b: ConversationRecord


def load_arm(run: Path) -> tuple[RunManifest, list[ConversationRecord]]:
    manifest = load_manifest(run)
    if len(manifest.policies) != 1:
        raise InputFileError(
            run, "--runs", f"holds {len(manifest.policies)} policies", "compare runs of one policy each"
        )
    return manifest, read_results(run, light=True)


def pair_records(a_run: Path, a: list[ConversationRecord], b_run: Path, b: list[ConversationRecord]) -> list[Pair]:
    """Match (persona, trial, seed) across arms; refuse runs that are not paired."""
    index_a = {(r.persona, r.trial): r for r in a}
    index_b = {(r.persona, r.trial): r for r in b}
    if set(index_a) != set(index_b):
        only = sorted(set(index_a) ^ set(index_b))[:3]
        raise InputFileError(
            f"{a_run} vs {b_run}",
            "--runs",
            f"not paired: different personas or trials (e.g. {only})",
            "run both arms with the same --personas, --persona and --trials, and let both finish",
        )
    unseeded = [k for k in index_a if index_a[k].seed != index_b[k].seed]
    if unseeded:
        raise InputFileError(
            f"{a_run} vs {b_run}",
            "--runs",
            f"not paired: different seeds (e.g. {unseeded[0]})",
            "run both arms with the same --seed",
        )
    return [Pair(index_a[k], index_b[k]) for k in sorted(index_a)]


def compare_metric(name: str, phrase: str, read: Extractor, pairs: list[Pair], trials: int) -> MetricComparison:
    values = [(read(p.a), read(p.b), p.a.persona) for p in pairs]
    usable = [(bool(x), bool(y), persona) for x, y, persona in values if x is not None and y is not None]
    a_rate = wilson(sum(x for x, _, _ in usable), len(usable))
    b_rate = wilson(sum(y for _, y, _ in usable), len(usable))
    only_a = sum(x and not y for x, y, _ in usable)
    only_b = sum(y and not x for x, y, _ in usable)
    if not usable:
        return MetricComparison(
            metric=name,
            pairs=0,
            a=a_rate,
            b=b_rate,
            diff=None,
            diff_low=None,
            diff_high=None,
            only_a=0,
            only_b=0,
            p_value=1.0,
            verdict="not applicable in these conversations",
        )
    diff, low, high = cluster_bootstrap_diff([int(y) - int(x) for x, y, _ in usable], [p for _, _, p in usable])
    result = MetricComparison(
        metric=name,
        pairs=len(usable),
        a=a_rate,
        b=b_rate,
        diff=diff,
        diff_low=low,
        diff_high=high,
        only_a=only_a,
        only_b=only_b,
        p_value=mcnemar_exact(only_a, only_b),
    )
    result.verdict = phrase  # finished in `write_verdicts`, once Holm's correction is known
    return result


def write_verdicts(metrics: list[MetricComparison], personas: int, trials: int) -> None:
    tested = [m for m in metrics if m.pairs]
    for metric, adjusted in zip(tested, holm([m.p_value for m in tested]), strict=True):
        metric.p_holm = adjusted
        metric.significant = adjusted < ALPHA
        phrase = metric.verdict
        low, high = (metric.diff_low or 0) * 100, (metric.diff_high or 0) * 100
        span = f"{(metric.diff or 0) * 100:+.0f} pp [{low:.0f}, {high:.0f}]"
        if metric.significant:
            who = "B" if (metric.diff or 0) > 0 else "A"
            metric.verdict = f"{who} {phrase}: B − A = {span}, p = {metric.p_value:.3g} (Holm {adjusted:.3g})"
        else:
            discordance = (metric.only_a + metric.only_b) / metric.pairs
            more = max(0, -(-pairs_needed(discordance, DETECTABLE) // max(personas, 1)) - trials)
            metric.verdict = (
                f"no significant difference: {span}, p = {metric.p_value:.3g} (Holm {adjusted:.3g}); "
                f"would need about {more} more trials per persona to detect {DETECTABLE * 100:.0f} pp"
            )


def compare_economics(pairs: list[Pair]) -> list[EconomicsComparison]:
    rows = []
    for measure in ("value_kept", "offer_cost"):
        a = [float(getattr(p.a.economics, measure)) for p in pairs]
        b = [float(getattr(p.b.economics, measure)) for p in pairs]
        diff, low, high = cluster_bootstrap_diff(
            [y - x for x, y in zip(a, b, strict=True)], [p.a.persona for p in pairs]
        )
        rows.append(
            EconomicsComparison(
                measure=measure,
                a_total=round(sum(a), 2),
                b_total=round(sum(b), 2),
                mean_diff=round(diff, 2),
                diff_low=round(low, 2),
                diff_high=round(high, 2),
            )
        )
    return rows


def policy_structure(manifest: RunManifest) -> list[str]:
    """The arm's offer plan, as the run recorded it."""
    return manifest.policies[0].offer_plan or ["(no retention offers)"]


def compare_runs(a_run: Path, b_run: Path) -> Comparison:
    manifest_a, records_a = load_arm(a_run)
    manifest_b, records_b = load_arm(b_run)
    if manifest_a.identity.model != manifest_b.identity.model:
        raise InputFileError(
            f"{a_run} vs {b_run}", "--runs", "the arms used different models", "compare runs made with the same --model"
        )
    pairs = pair_records(a_run, records_a, b_run, records_b)
    personas = len({p.a.persona for p in pairs})
    trials = manifest_a.identity.trials
    metrics = [
        compare_metric(name, phrase, read, pairs, trials) for name, (phrase, read) in metric_extractors().items()
    ]
    write_verdicts(metrics, personas, trials)
    flips = [
        Flip(
            persona=p.a.persona,
            trial=p.a.trial,
            seed=p.a.seed,
            a_outcome=_label(p.a),
            b_outcome=_label(p.b),
            a_key=p.a.key,
            b_key=p.b.key,
        )
        for p in pairs
        if _label(p.a) != _label(p.b)
    ]
    offline = manifest_a.identity.model == "offline"
    structure_a, structure_b = policy_structure(manifest_a), policy_structure(manifest_b)
    return Comparison(
        a_label=_arm_label(manifest_a),
        b_label=_arm_label(manifest_b),
        a_run=str(a_run),
        b_run=str(b_run),
        model=manifest_a.identity.model,
        personas=personas,
        trials=trials,
        pairs=len(pairs),
        metrics=metrics,
        economics=compare_economics(pairs),
        flips=flips,
        offline_model=offline,
        structure_a=structure_a,
        structure_b=structure_b,
        notes=_notes(offline, structure_a == structure_b),
    )


def _label(record: ConversationRecord) -> str:
    return f"{record.outcome} ({record.retained_offer})" if record.retained_offer else record.outcome


def _arm_label(manifest: RunManifest) -> str:
    entry = manifest.policies[0]
    return f"{Path(entry.file).name} (v{entry.version})"


def _notes(offline: bool, same_structure: bool) -> list[str]:
    notes = [
        "Pairs share persona, trial and seed, so each difference is within a matched pair. CIs resample whole "
        "personas (trials of one persona are correlated); McNemar's exact test treats pairs as independent."
    ]
    if offline:
        notes.append(
            "The offline reference model is blind to wording: it only sees which offers a policy lists, in "
            "what order and with what numbers. Differences here come from structure; wording needs an LLM."
        )
        if same_structure:
            notes.append("Both policies have the same structure, so the offline model behaves identically on them.")
    return notes


def policy_diff_html(a_text: str, b_text: str, a_label: str, b_label: str) -> str:
    """Side-by-side diff of the two policy texts (escaped by difflib)."""
    return difflib.HtmlDiff(wrapcolumn=60).make_table(a_text.splitlines(), b_text.splitlines(), a_label, b_label)
