"""Per-metric A/B verdicts whose unit is the persona.

For each metric, each persona contributes one number: its rate under B minus its rate under A over its matched
trials. The population claim ("B retains more customers") is a sign-flip test on those numbers with Holm's
correction within the metric's family, and a t interval on them; it is "significant" only when both agree.
What individual personas did is stated as fact, whatever the test says.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from pydantic import BaseModel

from evals.schema.judgement import judged
from evals.schema.records import ConversationRecord
from evals.scoring.score import adherence_rules
from evals.stats.metrics import Rate, cluster_rate
from evals.stats.paired import holm, persona_interval, personas_needed, sign_flip_test

ALPHA = 0.05
Extractor = Callable[[ConversationRecord], bool | None]
# Holm's correction runs within each family: the outcomes a retention policy exists for, then the others.
FAMILIES = {
    "retention": "primary",
    "cancellation": "primary",
    "escalation": "secondary",
    "correct_outcome": "secondary",
}


@dataclass(frozen=True)
class Pair:
    a: ConversationRecord
    b: ConversationRecord


def _adherence(rule: str) -> Extractor:
    def value(record: ConversationRecord) -> bool | None:
        score = record.score(rule)
        return None if score is None else score.passed

    return value


def _judged(criterion: str) -> Extractor:
    def value(record: ConversationRecord) -> bool | None:
        return None if record.error else judged(record.judgement, criterion)

    return value


def metric_extractors(judge_criteria: list[str] | None = None) -> dict[str, tuple[str, Extractor]]:
    """metric name -> (what 'more' means in a sentence, how to read it from a record)."""
    metrics: dict[str, tuple[str, Extractor]] = {
        "retention": ("retains more customers", lambda r: None if r.error else r.outcome == "retained"),
        "cancellation": ("cancels more orders", lambda r: None if r.error else r.outcome == "cancelled"),
        "escalation": ("escalates more", lambda r: None if r.error else r.outcome == "escalated"),
        "correct_outcome": ("reaches the expected outcome more often", lambda r: None if r.error else r.correct),
    }
    for rule in adherence_rules():
        metrics[rule] = (f"follows '{rule.removeprefix('adherence.')}' more often", _adherence(rule))
    for criterion in judge_criteria or []:  # the LLM judge's soft criteria: their own family, their own section
        metrics[f"judge.{criterion}"] = (f"passes the judge's '{criterion}' more often", _judged(criterion))
    return metrics


class MetricComparison(BaseModel):
    metric: str
    family: str
    pairs: int
    personas: int
    a: Rate
    b: Rate
    diff: float | None
    diff_low: float | None
    diff_high: float | None
    only_a: int
    only_b: int
    personas_changed: int = 0
    toward_b: int = 0
    p_value: float = 1.0
    p_holm: float = 1.0
    significant: bool = False
    verdict: str = ""
    phrase: str = ""


def _by_persona(values: list[tuple[bool, bool, str]]) -> dict[str, list[tuple[bool, bool]]]:
    grouped: dict[str, list[tuple[bool, bool]]] = defaultdict(list)
    for x, y, persona in values:
        grouped[persona].append((x, y))
    return grouped


def compare_metric(name: str, phrase: str, read: Extractor, pairs: list[Pair]) -> MetricComparison:
    values = [(read(p.a), read(p.b), p.a.persona) for p in pairs]
    usable = [(bool(x), bool(y), persona) for x, y, persona in values if x is not None and y is not None]
    grouped = _by_persona(usable)
    a_rate = cluster_rate({p: [x for x, _ in v] for p, v in grouped.items()})
    b_rate = cluster_rate({p: [y for _, y in v] for p, v in grouped.items()})
    family = FAMILIES.get(name, "judge" if name.startswith("judge.") else "adherence")
    if not usable:
        return MetricComparison(metric=name, family=family, a=a_rate, b=b_rate, phrase=phrase, pairs=0, personas=0,
                                diff=None, diff_low=None, diff_high=None, only_a=0, only_b=0,
                                verdict="not applicable in these conversations")  # fmt: skip
    diffs = [sum(y for _, y in v) / len(v) - sum(x for x, _ in v) / len(v) for v in grouped.values()]
    diff, low, high = persona_interval(diffs)
    return MetricComparison(
        metric=name,
        family=family,
        a=a_rate,
        b=b_rate,
        phrase=phrase,
        pairs=len(usable),
        personas=len(grouped),
        diff=diff,
        diff_low=low,
        diff_high=high,
        only_a=sum(x and not y for x, y, _ in usable),
        only_b=sum(y and not x for x, y, _ in usable),
        personas_changed=sum(abs(d) > 1e-12 for d in diffs),
        toward_b=sum(d > 1e-12 for d in diffs),
        p_value=sign_flip_test(diffs),
    )


def write_verdicts(metrics: list[MetricComparison], copies: bool | None) -> None:
    """`copies`: True when trials repeat one result, False when they vary, None with one trial per persona."""
    for family in {m.family for m in metrics}:
        tested = [m for m in metrics if m.family == family and m.pairs]
        for metric, adjusted in zip(tested, holm([m.p_value for m in tested]), strict=True):
            metric.p_holm = adjusted
            excludes_zero = (metric.diff_low or 0) > 0 or (metric.diff_high or 0) < 0
            metric.significant = adjusted < ALPHA and excludes_zero
            metric.verdict = _sentence(metric, copies, len(tested))


def _sentence(m: MetricComparison, copies: bool | None, family_size: int) -> str:
    span = f"{(m.diff or 0) * 100:+.0f} pp [{(m.diff_low or 0) * 100:.0f}, {(m.diff_high or 0) * 100:.0f}]"
    stats = (
        f"sign-flip p = {m.p_value:.3g} (Holm {m.p_holm:.3g}), {m.personas_changed} of {m.personas} personas changed"
    )
    if m.significant:
        who = "B" if (m.diff or 0) > 0 else "A"
        return f"{who} {m.phrase}: B − A = {span} per persona; {stats}"
    needed = personas_needed(ALPHA, family_size)
    if m.personas_changed == 0:
        return f"no difference: no persona changed ({span})"
    moving = max(m.toward_b, m.personas_changed - m.toward_b)
    if copies is None:
        advice = (
            f"one trial per persona: run more to see whether outcomes vary; a population claim needs at least "
            f"{needed} personas moving the same way (here {moving})"
        )
    elif copies:
        advice = (
            f"trials repeat one result with this model, so more trials add nothing: a population claim needs at "
            f"least {needed} personas moving the same way (here {moving})"
        )
    else:
        advice = (
            f"more trials sharpen each persona's rate; a population claim needs at least {needed} personas moving "
            f"the same way (here {moving})"
        )
    return f"no population-level difference shown: {span}; {stats}; {advice}"
