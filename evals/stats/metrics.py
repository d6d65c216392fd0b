"""Rates with 95% confidence intervals, adherence per rule, pass^k over trials, and economics."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable
from math import comb
from statistics import mean, median
from typing import Any

from pydantic import BaseModel, Field
from scipy import stats

from evals.schema.judgement import judged, judged_criteria
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


def _persona_rate(
    records: list[ConversationRecord],
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


def copied_personas(records: list[ConversationRecord]) -> int:
    """Personas (of one policy) whose trials were all identical copies of each other."""
    prints: dict[str, set[str]] = defaultdict(set)
    counts: dict[str, int] = defaultdict(int)
    for r in records:
        prints[r.persona].add(r.fingerprint)
        counts[r.persona] += 1
    return sum(1 for p, found in prints.items() if counts[p] > 1 and len(found) == 1)


def summarize_policy(records: list[ConversationRecord], weights: dict[str, float] | None = None) -> PolicySummary:
    """Rates exclude conversations that ended in an error (counted in `errors`); intervals cluster by persona. With
    `weights` (persona id -> weight, see `evals.stats.arms.persona_weights`) every rate is the weighted mean of the
    personas' rates."""
    n = len(records)
    scored = [r for r in records if r.error is None]
    outcomes = {o: _persona_rate(scored, lambda r, o=o: r.outcome == o, weights) for o in OUTCOMES}  # type: ignore[misc]
    adherence = {rule: _persona_rate(scored, _rule(rule), weights) for rule in adherence_rules()}
    by_persona: dict[str, list[bool]] = defaultdict(list)
    for r in records:
        by_persona[r.persona].append(succeeded(r))
    trials = min((len(v) for v in by_persona.values()), default=0)
    pass_k = {k: mean(pass_hat_k(sum(v), len(v), k) for v in by_persona.values()) for k in range(1, trials + 1)}
    costs = [r.economics.cost_usd for r in records]
    offers: dict[str, int] = defaultdict(int)
    for r in records:
        if r.retained_offer:
            offers[r.retained_offer] += 1
    return PolicySummary(
        policy=records[0].policy,
        policy_file=records[0].policy_file,
        conversations=n,
        outcomes=outcomes,
        correct=_persona_rate(scored, lambda r: r.correct, weights),
        weighted=bool(weights),
        adherence=adherence,
        pass_k=pass_k,
        value_kept=round(sum(r.economics.value_kept for r in records), 2),
        offer_cost=round(sum(r.economics.offer_cost for r in records), 2),
        mean_turns=round(mean(r.economics.turns for r in records), 2),
        tokens=sum(r.economics.tokens_in + r.economics.tokens_out for r in records),
        cost_usd=None if any(c is None for c in costs) else round(sum(c or 0 for c in costs), 6),
        latency_ms_median=round(median(r.latency_ms for r in records), 1),
        errors=sum(r.error is not None for r in records),
        personas=len({r.persona for r in records}),
        copied_personas=copied_personas(records),
        retained_by_offer=dict(offers),
        **judge_summary(scored),
        reader_errors=sum(r.reader_errors for r in records),
        fault_affected=sum(r.faults_met > 0 for r in records),
        faults=sum(r.faults_met for r in records),
    )


def judge_summary(records: list[ConversationRecord]) -> dict[str, Any]:
    """The soft-criteria judge's figures for one policy: empty when no judge ran."""
    criteria = judged_criteria([r.judgement for r in records])
    if not criteria:
        return {}
    verdicts = [c for r in records if r.judgement for c in r.judgement.criteria]
    samples = [c.agreement for c in verdicts if c.verdict is not None and len(c.samples) > 1]
    return {
        "judge": {c: _persona_rate(records, lambda r, c=c: judged(r.judgement, c)) for c in criteria},  # type: ignore[misc]
        "judge_unusable": sum(s is None for c in verdicts for s in c.samples)
        + sum(len(r.judgement.errors) * len(criteria) for r in records if r.judgement),
        "judge_self_agreement": round(mean(samples), 3) if samples else None,
    }


def by_policy(records: list[ConversationRecord]) -> dict[str, list[ConversationRecord]]:
    groups: dict[str, list[ConversationRecord]] = defaultdict(list)
    for r in records:
        groups[r.key.split("/")[0]].append(r)
    return dict(groups)


def summarize(records: list[ConversationRecord], weights: dict[str, float] | None = None) -> dict[str, PolicySummary]:
    """One summary per policy file (keyed by file stem), in the order the run listed them."""
    return {stem: summarize_policy(group, weights) for stem, group in by_policy(records).items()}


def persona_outcomes(records: list[ConversationRecord]) -> list[dict[str, Any]]:
    """Rows of (policy, persona, outcome, count) for the outcome-mix chart."""
    counts: dict[tuple[str, str, str], int] = defaultdict(int)
    for r in records:
        counts[(r.key.split("/")[0], r.persona, r.outcome)] += 1
    return [
        {"policy": p, "persona": persona, "outcome": o, "count": c} for (p, persona, o), c in sorted(counts.items())
    ]
