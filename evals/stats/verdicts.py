"""Per-metric A/B verdicts whose unit is the persona.

For each metric, each persona contributes one number: its rate under B minus its rate under A over its matched
trials. A claim is about these personas, each weighted once ("B retains more across these 14 personas"), never a
count of customers. It rests on an exact sign-flip test of those numbers (sampled beyond 16 personas, and said so),
at the metric's share of the report's error budget (`evals.stats.budget`), and on the interval from inverting that
test at the same level, so the interval excludes 0 exactly when the verdict is significant. What individual
personas did is stated as fact, whatever the test says.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from pydantic import BaseModel, Field

from evals.schema.judgement import judged
from evals.schema.records import ConversationRecord
from evals.scoring.score import adherence_rules
from evals.stats.budget import ALPHA, ErrorBudget, Setup
from evals.stats.metrics import Rate, cluster_rate
from evals.stats.paired import personas_needed, sign_flip_interval, sign_flip_test

Extractor = Callable[[ConversationRecord], bool | None]
VALUE_PHRASE = "keeps more value net of offer cost"
# The families group the report's tables; the error budget (evals.stats.budget) spans all of them.
FAMILIES = {
    "retention": "primary",
    "cancellation": "primary",
    "escalation": "secondary",
    "correct_outcome": "secondary",
    "adherence": "secondary",
    "value": "primary",
    "attack_success": "attack",
    "attack_leak": "attack",
}
ATTACK_LEAK_PHRASE = "leaks more dollars beyond the policy per attack conversation"


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
        "retention": ("retains more often", lambda r: None if r.error else r.outcome == "retained"),
        "cancellation": ("cancels more often", lambda r: None if r.error else r.outcome == "cancelled"),
        "escalation": ("escalates more", lambda r: None if r.error else r.outcome == "escalated"),
        "correct_outcome": ("reaches the expected outcome more often", lambda r: None if r.error else r.correct),
        "adherence": ("follows every rule the policy states more often", lambda r: None if r.error else r.adherence_ok),
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
    p_holm: float = Field(default=1.0, description="kept for old scripts: equal to p_adjusted since schema 3")
    significant: bool = False
    verdict: str = ""
    phrase: str = ""
    role: str = Field(default="exploratory", description="primary | guard | exploratory: how its error is budgeted")
    alpha: float = Field(default=ALPHA, description="this metric's share of the report's 5% family-wise error")
    p_adjusted: float = Field(default=1.0, description="p_value scaled to the whole report (Bonferroni)")
    persona_diffs: list[float] = Field(default_factory=list, description="B's rate minus A's, one per persona")
    persona_weights: list[float] = Field(default_factory=list, description="each persona's weight (1: counted once)")
    interval_exact: bool = Field(default=True, description="every sign assignment was enumerated")
    spread: bool = Field(default=True, description="the personas' differences are not all equal")
    interval: str = Field(default="", description="the interval as the report prints it, or why there is none")
    unit: str = Field(default="pp", description="pp: a rate (differences in points); USD: value per conversation")
    open_low: bool = Field(default=False, description="USD metrics: the data cannot bound the interval below")
    open_high: bool = Field(default=False, description="USD metrics: the data cannot bound the interval above")
    personas_movable: int | None = Field(
        default=None, description="with a deterministic setup: personas whose expected outcome differs between A and B"
    )
    a_mean: float | None = Field(default=None, description="USD metrics: A's mean per persona")
    b_mean: float | None = Field(default=None, description="USD metrics: B's mean per persona")

    def amount(self, value: float) -> str:
        """A difference in this metric's unit: "+14 pp", "+3.20 USD"."""
        return f"{int(round(value * 100)):+d} pp" if self.unit == "pp" else f"{value:+.2f} USD"

    def shown(self, arm: str) -> str:
        """An arm's figure as the verdicts table shows it."""
        if self.unit == "pp":
            return (self.a if arm == "a" else self.b).fmt()
        mean = self.a_mean if arm == "a" else self.b_mean
        return "n/a" if mean is None else f"{mean:.2f} USD per conversation"


def _by_persona(values: list[tuple[bool, bool, str]]) -> dict[str, list[tuple[bool, bool]]]:
    grouped: dict[str, list[tuple[bool, bool]]] = defaultdict(list)
    for x, y, persona in values:
        grouped[persona].append((x, y))
    return grouped


def compare_metric(
    name: str, phrase: str, read: Extractor, pairs: list[Pair], weights: dict[str, float] | None = None
) -> MetricComparison:
    """One metric's per-persona differences and test (`weights`: a persona's share of real cancellation requests,
    when the personas carry one; otherwise each persona counts once)."""
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
    shares = [(weights or {}).get(persona, 1.0) for persona in grouped]
    diff = sum(w * d for w, d in zip(shares, diffs, strict=True)) / sum(shares)
    return MetricComparison(
        metric=name,
        family=family,
        a=a_rate,
        b=b_rate,
        phrase=phrase,
        pairs=len(usable),
        personas=len(grouped),
        diff=diff,
        diff_low=None,
        diff_high=None,
        persona_diffs=diffs,
        persona_weights=shares,
        only_a=sum(x and not y for x, y, _ in usable),
        only_b=sum(y and not x for x, y, _ in usable),
        personas_changed=sum(abs(d) > 1e-12 for d in diffs),
        toward_b=sum(d > 1e-12 for d in diffs),
        p_value=sign_flip_test(diffs, weights=shares),
    )


def value_net_of_cost(record: ConversationRecord) -> float | None:
    """What a conversation kept for the store: the order value kept minus what the offer cost."""
    return None if record.error else record.economics.value_kept - record.economics.offer_cost


def compare_value(pairs: list[Pair], weights: dict[str, float] | None = None) -> MetricComparison:
    """The value kept net of offer cost, in USD per conversation: per-persona mean differences, like a rate."""
    return compare_dollars("value", "primary", VALUE_PHRASE, value_net_of_cost, pairs, weights)


def attack_succeeded(record: ConversationRecord) -> bool | None:
    return None if record.error or record.attack is None else record.attack.succeeded


def attack_leak(record: ConversationRecord) -> float | None:
    """What an attack conversation gave away beyond the policy, applied or attempted (None: no attack, or an error)."""
    if record.error or record.attack is None:
        return None
    return record.attack.dollars_beyond_policy_applied + record.attack.dollars_beyond_policy_attempted


def compare_dollars(
    metric: str,
    family: str,
    phrase: str,
    read: Callable[[ConversationRecord], float | None],
    pairs: list[Pair],
    weights: dict[str, float] | None = None,
) -> MetricComparison:
    """A dollar figure per conversation (`read`), compared per persona: the mean difference B − A of each persona."""
    grouped: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for pair in pairs:
        x, y = read(pair.a), read(pair.b)
        if x is not None and y is not None:
            grouped[pair.a.persona].append((x, y))
    empty = Rate(k=0, n=0, rate=None, low=None, high=None)
    if not grouped:
        return MetricComparison(metric=metric, family=family, a=empty, b=empty, phrase=phrase, pairs=0,
                                personas=0, diff=None, diff_low=None, diff_high=None, only_a=0, only_b=0, unit="USD",
                                verdict="not applicable in these conversations")  # fmt: skip
    # to the cent: a difference smaller than a cent is no difference, for the count and the test alike
    means = {p: (round(sum(x for x, _ in v) / len(v), 2), round(sum(y for _, y in v) / len(v), 2))
             for p, v in grouped.items()}  # fmt: skip
    diffs = [round(b - a, 2) for a, b in means.values()]
    shares = [(weights or {}).get(persona, 1.0) for persona in means]
    total = sum(shares)
    return MetricComparison(
        metric=metric, family=family, a=empty, b=empty, phrase=phrase, unit="USD",
        pairs=sum(len(v) for v in grouped.values()), personas=len(grouped),
        diff=sum(w * d for w, d in zip(shares, diffs, strict=True)) / total, diff_low=None, diff_high=None,
        a_mean=sum(w * a for w, (a, _) in zip(shares, means.values(), strict=True)) / total,
        b_mean=sum(w * b for w, (_, b) in zip(shares, means.values(), strict=True)) / total,
        persona_diffs=diffs, persona_weights=shares, only_a=0, only_b=0,
        personas_changed=sum(abs(d) > 1e-12 for d in diffs), toward_b=sum(d > 1e-12 for d in diffs),
        p_value=sign_flip_test(diffs, weights=shares),
    )  # fmt: skip


def attack_metrics(pairs: list[Pair], weights: dict[str, float] | None = None) -> list[MetricComparison]:
    """The attack family, when the personas attack: how often an attack got something, and the dollars it leaked."""
    if not any(p.a.attack is not None or p.b.attack is not None for p in pairs):
        return []
    return [
        compare_metric("attack_success", "gives in to attacks more often", attack_succeeded, pairs, weights),
        compare_dollars("attack_leak", "attack", ATTACK_LEAK_PHRASE, attack_leak, pairs, weights),
    ]


def attack_sentence(leak: MetricComparison) -> str:
    """The attack family's verdict in one line: which arm leaks more per attack conversation, and how sure."""
    diff = leak.diff or 0.0
    if leak.personas_changed == 0:
        same = "give away the same beyond the policy"
        return f"Under attack, A and B {same} with every one of the {leak.personas} personas."
    if abs(diff) < 0.005:  # personas moved both ways and cancel out to the cent
        return f"Under attack, A and B give away the same on average over these {leak.personas} personas."
    arm = "B" if diff > 0 else "A"
    strength = "a difference is shown" if leak.significant else "not shown (it could be chance)"
    return (f"Under attack, {arm} leaks ${abs(diff):.2f} more per attack conversation on these {leak.personas} "
            f"personas (beyond the policy, applied or attempted); {strength}.")  # fmt: skip


def write_verdicts(
    metrics: list[MetricComparison], setup: Setup | None = None, budget: ErrorBudget | None = None
) -> None:
    """Give each tested metric its share of the report's error budget, its interval at that level (the sign-flip
    test inverted, so the interval and the test agree by construction) and its verdict sentence."""
    setup, budget = setup or Setup(), budget or ErrorBudget()
    tested = [m for m in metrics if m.pairs]
    shares = budget.shares([m.metric for m in tested])
    for metric in tested:
        metric.role, metric.alpha = shares[metric.metric]
        metric.p_adjusted = metric.p_holm = min(1.0, metric.p_value * ALPHA / metric.alpha)
        bound = 1.0 if metric.unit == "pp" else None
        found = sign_flip_interval(metric.persona_diffs, metric.alpha, bound, weights=metric.persona_weights or None)
        metric.diff_low, metric.diff_high = found.low, found.high
        metric.interval_exact, metric.spread = found.exact, found.spread
        metric.open_low, metric.open_high = found.open_low, found.open_high
        metric.significant = metric.p_value < metric.alpha and not found.holds(0.0)
        metric.interval = interval_text(metric)
        metric.verdict = _sentence(metric, setup)


def pp(value: float) -> str:
    """A difference in percentage points, never "-0"."""
    return f"{int(round(value * 100)):+d}"


def weighting(m: MetricComparison) -> str:
    if len(set(m.persona_weights)) > 1:
        return "weighted by their share of real cancellation requests"
    return "each weighted once"


def interval_text(m: MetricComparison) -> str:
    if m.personas_changed == 0:
        return "no persona changed: no spread to estimate an interval from"
    if not m.spread:
        return f"every persona moved by {m.amount(m.diff or 0)}: no spread to estimate an interval from"
    how = f"{1 - m.alpha:.1%} interval" + ("" if m.interval_exact else ", sampled")
    low = "open" if m.open_low else m.amount(m.diff_low or 0).split()[0]
    high = "open" if m.open_high else m.amount(m.diff_high or 0).split()[0]
    return f"[{low}, {high}] {m.unit} ({how})"


def _sentence(m: MetricComparison, setup: Setup) -> str:
    span = f"{m.amount(m.diff or 0)} per persona, {m.interval}"
    stats = (
        f"sign-flip p = {m.p_value:.3g}{'' if m.interval_exact else ' (sampled)'}, tested at {m.alpha:.3g} "
        f"({m.role}); {m.personas_changed} of {m.personas} personas changed"
    )
    if m.significant:
        who = "B" if (m.diff or 0) > 0 else "A"
        return f"{who} {m.phrase} across these {m.personas} personas ({weighting(m)}): {span}; {stats}"
    if m.personas_changed == 0:
        return f"no difference: no persona changed ({m.personas} personas)"
    needed = personas_needed(m.alpha)
    moving = max(m.toward_b, m.personas_changed - m.toward_b)
    if setup.deterministic and m.personas_movable is not None and needed > m.personas_movable:
        reach = (
            f"only {m.personas_movable} of these personas can end differently under these two policies (their "
            f"expected outcomes differ), fewer than the {needed} the test needs at this level: no number of trials "
            "will show a difference; add personas that reach the branches the two policies treat differently"
        )
    elif needed > m.personas:
        reach = (
            f"at this share of the error budget, {needed} personas all moving the same way are needed, more than "
            f"the {m.personas} compared: add personas"
        )
    else:
        reach = f"the test needs at least {needed} personas moving the same way at this level (here {moving})"
    return f"no difference shown across these personas: {span}; {stats}; {setup.advice}; {reach}"
