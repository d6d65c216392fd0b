"""Paired statistics whose unit is the persona: trials of one persona are not independent evidence (with a
deterministic model they are copies), so every population claim is made on per-persona differences.

- `sign_flip_test`: exact two-sided permutation test of "no difference" on per-persona mean differences (every sign
  assignment is enumerated up to 16 personas; a seeded sample of 20,000 beyond that).
- `persona_interval`: a t interval on per-persona rates, for the rates of one run (personas are the clusters).
- `sign_flip_interval`: the test inverted, the interval of shifts it does not reject (used by the A/B verdicts, so
  interval and test agree).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

EXACT_UP_TO = 16  # 2^16 sign assignments; beyond, a seeded sample


def sign_flip_test(differences: Sequence[float], seed: int = 0, weights: Sequence[float] | None = None) -> float:
    """Two-sided p-value that the per-persona differences are centred on zero (exact up to EXACT_UP_TO personas;
    beyond, the same seeded sample of sign assignments as `sign_flip_interval`, so the two always agree). With
    `weights`, the statistic is the weighted sum (a persona's share of real cancellation requests)."""
    d = np.asarray(differences, dtype=float)
    w = _scaled(weights, d.size)
    if d.size <= EXACT_UP_TO:  # a persona with no difference is the same under every sign flip: leave it out
        keep = np.abs(d) > 1e-12
        d, w = d[keep], w[keep]
    if d.size == 0:
        return 1.0
    signs, exact = _sign_matrix(d.size, seed)
    hits = int(np.sum(np.abs(signs @ (w * d)) >= abs(float(w @ d)) - _tolerance(w, d)))
    return hits / len(signs) if exact else (hits + 1) / (len(signs) + 1)  # a sampled p-value is never 0


def _scaled(weights: Sequence[float] | None, size: int) -> np.ndarray:
    """Weights scaled so the largest is 1: the test is the same for any scale, and sums stay small enough that a
    rounding error cannot pass for a real difference."""
    w = np.ones(size) if weights is None else np.asarray(weights, dtype=float)
    return w / w.max() if w.size and w.max() > 0 else w


def _tolerance(w: np.ndarray, d: np.ndarray) -> float:
    """Two sums closer than this are equal (a tie counts as a hit): relative to the size of the sums."""
    return 1e-9 * max(1.0, float(np.abs(w * d).sum()))


def persona_interval(differences: Sequence[float], bound: float | None = 1.0) -> tuple[float, float, float]:
    """Mean per-persona difference with a 95% t interval (n - 1 degrees of freedom), clipped to +-bound."""
    d = np.asarray(differences, dtype=float)
    mean = float(d.mean()) if d.size else 0.0
    if d.size < 2:
        return mean, -(bound or math.inf), bound or math.inf
    half = float(stats.t.ppf(0.975, d.size - 1) * d.std(ddof=1) / math.sqrt(d.size))
    low, high = mean - half, mean + half
    if bound is not None:
        low, high = max(low, -bound), min(high, bound)
    return mean, low, high


def smallest_p(differing_personas: int) -> float:
    """The smallest two-sided p-value the sign-flip test can give when this many personas differ."""
    return 2.0 / 2**differing_personas if differing_personas else 1.0


def personas_needed(alpha: float, family_size: int = 1) -> int:
    """How many personas must differ, all in one direction, before the test can reach `alpha` after Holm's
    correction over a family of `family_size` metrics."""
    return next(k for k in range(1, 64) if family_size * smallest_p(k) < alpha)


@dataclass(frozen=True)
class SignFlipInterval:
    """The shifts of the per-persona differences that the sign-flip test does not reject at `level` (its inversion:
    the interval is consistent with the test by construction). `exact`: every sign assignment was enumerated.
    `spread`: the personas differ among themselves; when every persona moved by the same amount there is no spread
    to estimate from, and the interval is only that amount. `open_low`/`open_high`: the data cannot bound that side
    (too few personas to reject any shift)."""

    low: float
    high: float
    exact: bool
    spread: bool
    open_low: bool = False
    open_high: bool = False

    def holds(self, value: float) -> bool:
        return (self.open_low or self.low <= value + 1e-12) and (self.open_high or value <= self.high + 1e-12)


def _sign_matrix(n: int, seed: int) -> tuple[np.ndarray, bool]:
    if n <= EXACT_UP_TO:
        return np.array(list(itertools.product((1.0, -1.0), repeat=n))), True
    return np.random.default_rng(seed).choice((1.0, -1.0), size=(20_000, n)), False


def sign_flip_interval(
    differences: Sequence[float],
    alpha: float = 0.05,
    bound: float | None = 1.0,
    seed: int = 0,
    weights: Sequence[float] | None = None,
) -> SignFlipInterval:
    """The 1 - alpha interval for the mean per-persona difference from inverting the sign-flip test: the shifts it
    does not reject, found by bisection from the mean (where the test cannot reject) out to each edge (rates: +-bound;
    amounts: around the data, open-ended when the data cannot bound a side). Each end is given on the side of the
    boundary the test rejects, so the interval errs wide by at most a thousandth of its range."""
    d = np.asarray(differences, dtype=float)
    if not d.size:
        return SignFlipInterval(-(bound or 0.0), bound or 0.0, True, False, bound is None, bound is None)
    w = _scaled(weights, d.size)
    low_d, high_d, mean = float(d.min()), float(d.max()), float(w @ d / w.sum())
    spread = high_d - low_d > 1e-12
    width = max(high_d - low_d, abs(high_d), abs(low_d), 1.0)
    edges = (-bound, bound) if bound is not None else (low_d - width, high_d + width)
    signs, exact = _sign_matrix(d.size, seed)
    flipped, balance = signs @ (w * d), signs @ w

    def kept(shift: float) -> bool:
        observed = abs(float(w @ d) - w.sum() * shift)
        hits = int(np.sum(np.abs(flipped - balance * shift) >= observed - _tolerance(w, d - shift)))
        p = hits / len(signs) if exact else (hits + 1) / (len(signs) + 1)
        return p >= alpha - 1e-12

    zero_rejected = not kept(0.0)
    ends = []
    for edge in edges:
        if kept(edge):
            ends.append((edge, True))
            continue
        # when the test rejects 0 and 0 lies on this side, 0 is the first rejected point: the end stays beyond it
        toward_zero = zero_rejected and min(mean, edge) < 0.0 < max(mean, edge)
        inside, outside = mean, 0.0 if toward_zero else edge
        while abs(outside - inside) > (edges[1] - edges[0]) / 1000:
            middle = (inside + outside) / 2
            inside, outside = (middle, outside) if kept(middle) else (inside, middle)
        ends.append(((inside + outside) / 2 if toward_zero else outside, False))
    (low, low_open), (high, high_open) = ends
    if kept(0.0):  # the test does not reject 0, so the interval holds it (even where the kept shifts are not convex)
        low, high = min(low, 0.0), max(high, 0.0)
    return SignFlipInterval(low, high, exact, spread, low_open and bound is None, high_open and bound is None)
