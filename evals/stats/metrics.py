"""Rates with 95% confidence intervals, adherence per rule, pass^k over trials, and economics."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from math import comb
from statistics import mean, median
from typing import Any

from pydantic import BaseModel, Field
from scipy import stats

from evals.schema.judgement import ConversationJudgement, judged, judged_criteria
from evals.schema.light_records import by_policy
from evals.schema.records import ConversationRecord
from evals.scoring.score import adherence_rules
from evals.stats.paired import persona_interval

OUTCOMES = ("retained", "cancelled", "escalated", "unresolved")


class Rate(BaseModel):
    k: int
    n: int
    rate: float | None
    low: float | None
    high: float | None
    weighted: bool = False  # the rate is the weighted mean of the personas' rates, so it is not k/n

    def fmt(self) -> str:
        if self.rate is None:
            return "n/a"
        counts = f"{self.k}/{self.n} conversations, weighted" if self.weighted else f"{self.k}/{self.n}"
        return f"{self.rate:.0%} [{self.low:.0%}, {self.high:.0%}] ({counts})"


def wilson(k: int, n: int) -> Rate:
    """k successes out of n, with a 95% Wilson score interval (scipy.stats)."""
    if n == 0:
        return Rate(k=0, n=0, rate=None, low=None, high=None)
    ci = stats.binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    return Rate(k=k, n=n, rate=k / n, low=float(ci.low), high=float(ci.high))


def cluster_rate(by_persona: dict[str, list[bool]], weights: dict[str, float] | None = None) -> Rate:
    """A rate whose interval treats personas as clusters: the mean of per-persona rates with a 95% t interval on
    them (trials of one persona are not independent; with a deterministic model they are copies). With `weights`
    (persona id -> weight), the weighted mean of the per-persona rates, its interval from the weighted variance."""
    flat = [v for values in by_persona.values() for v in values]
    if not flat:
        return Rate(k=0, n=0, rate=None, low=None, high=None)
    if weights:
        mean, low, high = weighted_interval(
            [(sum(v) / len(v), weights.get(p, 1.0)) for p, v in by_persona.items() if v]
        )
    else:
        mean, low, high = persona_interval([sum(v) / len(v) for v in by_persona.values() if v], bound=None)
    return Rate(k=sum(flat), n=len(flat), rate=mean, low=max(0.0, low), high=min(1.0, high), weighted=bool(weights))


def weighted_interval(rates: list[tuple[float, float]]) -> tuple[float, float, float]:
    """(weighted mean, 95% t interval) of per-persona rates given as (rate, weight); with equal weights it is the
    usual t interval on the mean."""
    total = sum(w for _, w in rates)
    shares = [(m, w / total) for m, w in rates]
    mean = sum(m * w for m, w in shares)
    n = len(shares)
    if n < 2:
        return mean, -math.inf, math.inf
    variance = n / (n - 1) * sum(w * w * (m - mean) ** 2 for m, w in shares)
    half = float(stats.t.ppf(0.975, n - 1)) * math.sqrt(variance)
    return mean, mean - half, mean + half


def pass_hat_k(successes: int, trials: int, k: int) -> float:
    """tau-bench's pass^k: the chance that k trials drawn from n all succeed, C(c, k) / C(n, k)."""
    return comb(successes, k) / comb(trials, k) if trials >= k else float("nan")


def succeeded(record: ConversationRecord) -> bool:
    return record.correct and record.adherence_ok and record.error is None


class PolicySummary(BaseModel):
    policy: str
    policy_file: str
    conversations: int
    outcomes: dict[str, Rate]
    correct: Rate
    adherence: dict[str, Rate]
    pass_k: dict[int, float]
    value_kept: float
    offer_cost: float
    mean_turns: float
    tokens: int
    cost_usd: float | None
    latency_ms_median: float
    errors: int
    retained_by_offer: dict[str, int]
    personas: int = 0
    copied_personas: int = 0
    judge: dict[str, Rate] = Field(default_factory=dict, description="soft criteria, pass rate where they applied")
    judge_unusable: int = Field(default=0, description="judge samples that failed or quoted what was not said")
    judge_self_agreement: float | None = None
    reader_errors: int = 0
    fault_affected: int = Field(default=0, description="conversations that met at least one injected backend fault")
    faults: int = 0
    weighted: bool = Field(default=False, description="rates are weighted by the personas' weight:")
    reused: int = Field(default=0, description="conversations taken from an earlier run's --cache, not played again")


def _persona_rate(
    records: Iterable[ConversationRecord],
    read: Callable[[ConversationRecord], bool | None],
    weights: dict[str, float] | None = None,
) -> Rate:
    """A rate over the records where `read` applies, with personas as clusters (weighted when `weights`)."""
    by_persona: dict[str, list[bool]] = defaultdict(list)
    for record in records:
        if (value := read(record)) is not None:
            by_persona[record.persona].append(value)
    return cluster_rate(by_persona, weights)


def _rule(rule: str) -> Callable[[ConversationRecord], bool | None]:
    def read(record: ConversationRecord) -> bool | None:
        score = record.score(rule)
        return None if score is None or score.passed is None else score.passed

    return read


def copied_personas(records: Iterable[ConversationRecord]) -> int:
    """Personas (of one policy) whose trials were all identical copies of each other."""
    tally = _Tally()
    for r in records:
        tally.prints[r.persona].add(r.fingerprint)
        tally.counts[r.persona] += 1
    return tally.copied_personas()


class _Tally:
    """What a policy's summary needs, gathered in one pass over its records (which may be streamed: a run of
    20,000 conversations is never held as objects, see `evals.schema.light_records`)."""

    def __init__(self) -> None:
        self.first: ConversationRecord | None = None
        self.n = self.errors = self.tokens = self.reader_errors = self.fault_affected = self.faults = self.reused = 0
        self.value_kept = self.offer_cost = 0.0
        self.turns: list[int] = []
        self.latencies: list[float] = []
        self.costs: list[float | None] = []
        self.offers: dict[str, int] = defaultdict(int)
        self.success: dict[str, list[bool]] = defaultdict(list)
        self.prints: dict[str, set[str]] = defaultdict(set)
        self.counts: dict[str, int] = defaultdict(int)
        self.outcomes: dict[str, dict[str, list[bool]]] = {o: defaultdict(list) for o in OUTCOMES}
        self.adherence: dict[str, dict[str, list[bool]]] = {rule: defaultdict(list) for rule in adherence_rules()}
        self.correct: dict[str, list[bool]] = defaultdict(list)
        self.judgements: list[tuple[str, ConversationJudgement]] = []  # (persona, judgement) of scored records

    def add(self, r: ConversationRecord) -> None:
        self.first = self.first or r
        self.n += 1
        self.success[r.persona].append(succeeded(r))
        self.prints[r.persona].add(r.fingerprint)
        self.counts[r.persona] += 1
        self.costs.append(r.economics.cost_usd)
        if r.retained_offer:
            self.offers[r.retained_offer] += 1
        self.value_kept += r.economics.value_kept
        self.offer_cost += r.economics.offer_cost
        self.turns.append(r.economics.turns)
        self.tokens += r.economics.tokens_in + r.economics.tokens_out
        self.latencies.append(r.latency_ms)
        self.errors += r.error is not None
        self.reader_errors += r.reader_errors
        self.reused += r.reused
        self.fault_affected += r.faults_met > 0
        self.faults += r.faults_met
        if r.error is None:
            self._add_scored(r)

    def _add_scored(self, r: ConversationRecord) -> None:
        for outcome, by_persona in self.outcomes.items():
            by_persona[r.persona].append(r.outcome == outcome)
        for rule, by_persona in self.adherence.items():
            if (passed := _rule(rule)(r)) is not None:
                by_persona[r.persona].append(passed)
        self.correct[r.persona].append(r.correct)
        if r.judgement is not None:
            self.judgements.append((r.persona, r.judgement))

    def copied_personas(self) -> int:
        return sum(1 for p, found in self.prints.items() if self.counts[p] > 1 and len(found) == 1)

    def summary(self, weights: dict[str, float] | None) -> PolicySummary:
        assert self.first is not None, "a policy summary needs at least one record"
        trials = min((len(v) for v in self.success.values()), default=0)
        return PolicySummary(
            policy=self.first.policy,
            policy_file=self.first.policy_file,
            conversations=self.n,
            outcomes={o: cluster_rate(by_persona, weights) for o, by_persona in self.outcomes.items()},
            correct=cluster_rate(self.correct, weights),
            weighted=bool(weights),
            adherence={rule: cluster_rate(by_persona, weights) for rule, by_persona in self.adherence.items()},
            pass_k={
                k: mean(pass_hat_k(sum(v), len(v), k) for v in self.success.values()) for k in range(1, trials + 1)
            },
            value_kept=round(self.value_kept, 2),
            offer_cost=round(self.offer_cost, 2),
            mean_turns=round(mean(self.turns), 2),
            tokens=self.tokens,
            cost_usd=None if any(c is None for c in self.costs) else round(sum(c or 0 for c in self.costs), 6),
            latency_ms_median=round(median(self.latencies), 1),
            errors=self.errors,
            personas=len(self.counts),
            copied_personas=self.copied_personas(),
            retained_by_offer=dict(self.offers),
            **_judge_figures(self.judgements),
            reader_errors=self.reader_errors,
            fault_affected=self.fault_affected,
            faults=self.faults,
            reused=self.reused,
        )


def summarize_policy(records: Iterable[ConversationRecord], weights: dict[str, float] | None = None) -> PolicySummary:
    """Rates exclude conversations that ended in an error (counted in `errors`); intervals cluster by persona. With
    `weights` (persona id -> weight, see `evals.stats.arms.persona_weights`) every rate is the weighted mean of the
    personas' rates. One pass over `records`."""
    tally = _Tally()
    for record in records:
        tally.add(record)
    return tally.summary(weights)


def judge_summary(records: Iterable[ConversationRecord]) -> dict[str, Any]:
    """The soft-criteria judge's figures for one policy: empty when no judge ran."""
    return _judge_figures([(r.persona, r.judgement) for r in records if r.judgement is not None])


def _judge_figures(judgements: list[tuple[str, ConversationJudgement]]) -> dict[str, Any]:
    criteria = judged_criteria([j for _, j in judgements])
    if not criteria:
        return {}
    verdicts = [c for _, j in judgements for c in j.criteria]
    samples = [c.agreement for c in verdicts if c.verdict is not None and len(c.samples) > 1]
    rates = {}
    for criterion in criteria:
        by_persona: dict[str, list[bool]] = defaultdict(list)
        for persona, judgement in judgements:
            if (value := judged(judgement, criterion)) is not None:
                by_persona[persona].append(value)
        rates[criterion] = cluster_rate(by_persona)
    return {
        "judge": rates,
        "judge_unusable": sum(s is None for c in verdicts for s in c.samples)
        + sum(len(j.errors) * len(criteria) for _, j in judgements),
        "judge_self_agreement": round(mean(samples), 3) if samples else None,
    }


def summarize(
    records: Sequence[ConversationRecord], weights: dict[str, float] | None = None
) -> dict[str, PolicySummary]:
    """One summary per policy file (keyed by file stem), in the order the run listed them."""
    return {stem: summarize_policy(group, weights) for stem, group in by_policy(records).items()}


def persona_outcomes(records: Iterable[ConversationRecord]) -> list[dict[str, Any]]:
    """Rows of (policy, persona, outcome, count) for the outcome-mix chart."""
    counts: dict[tuple[str, str, str], int] = defaultdict(int)
    for r in records:
        counts[(r.key.split("/")[0], r.persona, r.outcome)] += 1
    return [
        {"policy": p, "persona": persona, "outcome": o, "count": c} for (p, persona, o), c in sorted(counts.items())
    ]
