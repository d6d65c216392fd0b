"""Simulated A/B comparisons through the report's own verdict code, for the tests and `scripts/ab_power.py`: how
often a comparison is called significant (false positives with no effect, power with one) and how often the
interval holds the true difference."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from evals.stats.verdicts import Pair, compare_metric, metric_extractors, write_verdicts


def simulated_pairs(rng, base, shifted, trials: int) -> list[Pair]:
    """Pairs of stand-in records (only what the verdict code reads: persona, error, outcome) drawn per persona."""
    pairs = []
    for persona, (p_a, p_b) in enumerate(zip(base, shifted, strict=True)):
        for _ in range(trials):
            a, b = (
                SimpleNamespace(
                    persona=f"p{persona}", error=None, outcome="retained" if rng.random() < p else "cancelled"
                )
                for p in (p_a, p_b)
            )
            pairs.append(Pair(a, b))  # type: ignore[arg-type]
    return pairs


def simulate(effect: float, comparisons: int, seed: int, personas: int = 14, trials: int = 5) -> tuple[float, float]:
    """(share of comparisons whose retention verdict is significant, share whose 95% interval holds the true
    difference), through the report's own verdict code (compare_metric, then write_verdicts with Holm over the
    primary family), with per-persona base rates and independent draws in each arm."""
    rng = np.random.default_rng(seed)
    extractors = metric_extractors()
    called = covered = 0
    for _ in range(comparisons):
        base = rng.uniform(0.05, 0.95, personas)
        shifted = np.clip(base + effect, 0, 1)
        pairs = simulated_pairs(rng, base, shifted, trials)
        metrics = [compare_metric(name, *extractors[name], pairs) for name in ("retention", "cancellation")]
        write_verdicts(metrics, copies=False)
        retention = metrics[0]
        called += retention.significant
        covered += (retention.diff_low or 0) <= float((shifted - base).mean()) <= (retention.diff_high or 0)
    return called / comparisons, covered / comparisons
