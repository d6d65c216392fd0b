"""Simulated A/B comparisons through the report's own verdict code: how often a comparison is called significant
(false positives with no effect, power with one), how often anything in a whole report is (the family-wise error),
and how often the interval holds the true difference for these personas. `python -m evals plan-ab` and the A/B page
use it to say, before a run, what a comparison can show; the tests use it to keep the statistics honest.

Personas are either heterogeneous (each has its own chance of being retained, drawn per trial) or deterministic
(each is retained or not, every trial; an effect flips some of them)."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace

import numpy as np

from evals.schema.records import ConversationRecord
from evals.stats.budget import ErrorBudget, Setup
from evals.stats.verdicts import Extractor, MetricComparison, Pair, compare_metric, metric_extractors, write_verdicts

KINDS = ("heterogeneous", "deterministic")


def arm_rates(rng: np.random.Generator, personas: int, effect: float, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """Each persona's chance of being retained under A and under B."""
    if kind == "deterministic":
        base = rng.integers(0, 2, personas).astype(float)
        movable = np.flatnonzero(base == (0.0 if effect > 0 else 1.0))
        flips = rng.choice(movable, size=min(len(movable), round(abs(effect) * personas)), replace=False)
        shifted = base.copy()
        shifted[flips] = 1.0 - shifted[flips]
        return base, shifted
    base = rng.uniform(0.05, 0.95, personas)
    return base, np.clip(base + effect, 0, 1)


def simulated_pairs(rng: np.random.Generator, base, shifted, trials: int, metrics: int = 0) -> list[Pair]:
    """Pairs of stand-in records (only what the verdict code reads): the outcome, and `metrics` more yes/no values
    that behave alike in both arms (for the report-wide error)."""
    pairs = []
    for persona, (p_a, p_b) in enumerate(zip(base, shifted, strict=True)):
        extra = rng.uniform(0.05, 0.95, metrics)
        for _ in range(trials):
            a, b = (
                SimpleNamespace(
                    persona=f"p{persona}",
                    error=None,
                    outcome="retained" if rng.random() < p else "cancelled",
                    extra=rng.random(metrics) < extra,
                )
                for p in (p_a, p_b)
            )
            pairs.append(Pair(a, b))  # type: ignore[arg-type]
    return pairs


def report_metrics(
    pairs: list[Pair], metrics: int, deterministic: bool, primary_only: bool = False
) -> list[MetricComparison]:
    """The verdicts a report would give: retention (primary), cancellation and `metrics` more, one error budget
    (`primary_only`: retention alone, at its own share, which is all that power needs)."""
    extractors = metric_extractors()
    names = ("retention",) if primary_only else ("retention", "cancellation")
    found = [compare_metric(name, *extractors[name], pairs) for name in names]
    for i in range(metrics):
        found.append(compare_metric(f"extra.{i}", "passes more", _extra(i), pairs))
    write_verdicts(found, Setup(deterministic, "simulated"), ErrorBudget("retention"))
    return found


def _extra(i: int) -> Extractor:
    def value(record: ConversationRecord) -> bool:
        return bool(record.extra[i])  # type: ignore[attr-defined]

    return value


@dataclass
class Simulated:
    comparisons: int = 0
    primary_called: int = 0  # retention called significant
    any_called: int = 0  # anything in the report called significant
    covered: int = 0  # retention's interval holds the true mean difference of these personas
    reports: list[list[MetricComparison]] = field(default_factory=list)

    @property
    def power(self) -> float:
        return self.primary_called / self.comparisons

    @property
    def family_wise(self) -> float:
        return self.any_called / self.comparisons

    @property
    def coverage(self) -> float:
        return self.covered / self.comparisons


def simulate_reports(
    effect: float, comparisons: int, seed: int, personas: int = 14, trials: int = 5, kind: str = "heterogeneous",
    metrics: int = 0, keep: bool = False, primary_only: bool = False,
) -> Simulated:  # fmt: skip
    rng = np.random.default_rng(seed)
    result = Simulated()
    for _ in range(comparisons):
        base, shifted = arm_rates(rng, personas, effect, kind)
        pairs = simulated_pairs(rng, base, shifted, trials, metrics)
        found = report_metrics(pairs, metrics, kind == "deterministic", primary_only)
        retention = found[0]
        result.comparisons += 1
        result.primary_called += retention.significant
        result.any_called += any(m.significant for m in found)
        true = float((shifted - base).mean())
        result.covered += (retention.diff_low or 0) - 1e-9 <= true <= (retention.diff_high or 0) + 1e-9
        if keep:
            result.reports.append(found)
    return result


def plan(personas: int, trials: int, effect: float, kind: str, comparisons: int = 100, seed: int = 0) -> float:
    """The chance that the primary metric (retention) is called significant when B changes it by `effect` for
    these many personas and trials: the power of the report's own test."""
    return simulate_reports(effect, comparisons, seed, personas, trials, kind, primary_only=True).power


def simulate(effect: float, comparisons: int, seed: int, personas: int = 14, trials: int = 5) -> tuple[float, float]:
    """(share of comparisons whose retention verdict is significant, share whose interval holds the true
    difference), heterogeneous personas, through the report's own verdict code."""
    found = simulate_reports(effect, comparisons, seed, personas, trials)
    return found.power, found.coverage
