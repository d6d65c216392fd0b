"""Paired statistics for A/B comparisons: McNemar's exact test, Holm's correction, a persona-cluster bootstrap."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import stats


def mcnemar_exact(only_a: int, only_b: int) -> float:
    """Two-sided exact McNemar p-value from the discordant pairs (A yes/B no, A no/B yes)."""
    discordant = only_a + only_b
    if discordant == 0:
        return 1.0
    return float(stats.binomtest(only_a, discordant, 0.5, alternative="two-sided").pvalue)


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values, in the input order (step-down, monotone, capped at 1)."""
    order = sorted(range(len(p_values)), key=lambda i: p_values[i])
    adjusted, running = [1.0] * len(p_values), 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (len(p_values) - rank) * p_values[index]))
        adjusted[index] = running
    return adjusted


def cluster_bootstrap_diff(
    differences: Sequence[float], clusters: Sequence[str], seed: int = 0, resamples: int = 4000
) -> tuple[float, float, float]:
    """Mean paired difference B - A with a 95% percentile CI that resamples whole personas (clusters).

    Trials of one persona are not independent, so personas, not conversations, are the unit resampled.
    """
    diffs = np.asarray(differences, dtype=float)
    labels = sorted(set(clusters))
    sums = np.array([diffs[[c == label for c in clusters]].sum() for label in labels])
    counts = np.array([sum(c == label for c in clusters) for label in labels], dtype=float)
    estimate = float(sums.sum() / counts.sum())
    if np.allclose(diffs, diffs[0]):
        return estimate, estimate, estimate  # every pair moved the same way: nothing to resample
    result = stats.bootstrap(
        (sums, counts),
        lambda s, n, axis=-1: s.sum(axis=axis) / n.sum(axis=axis),
        paired=True,
        vectorized=True,
        n_resamples=resamples,
        confidence_level=0.95,
        method="percentile",
        random_state=np.random.default_rng(seed),
    )
    return estimate, float(result.confidence_interval.low), float(result.confidence_interval.high)


def pairs_needed(discordance: float, effect: float = 0.05, alpha: float = 0.05, power: float = 0.8) -> int:
    """Pairs McNemar's test needs to detect a difference of `effect` (Connor 1987), given the discordance rate."""
    p_d = max(discordance, effect)
    z_a, z_b = stats.norm.ppf(1 - alpha / 2), stats.norm.ppf(power)
    n = (z_a * math.sqrt(p_d) + z_b * math.sqrt(max(p_d - effect**2, 1e-12))) ** 2 / effect**2
    return math.ceil(n)
