"""Seedable fault injection: make a chosen share of backend calls fail with a transient error."""

from __future__ import annotations

import random

from agent.errors import TransientBackendError


class FaultInjector:
    """Fails about `rate` of the calls it is asked about, reproducibly for a given seed."""

    def __init__(self, rate: float = 0.0, seed: int = 0) -> None:
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"fault rate must be between 0 and 1, got {rate}")
        self.rate = rate
        self._rng = random.Random(seed)
        self.injected = 0

    def check(self, operation: str) -> None:
        """Raise TransientBackendError for this call if the dice say so."""
        if self.rate and self._rng.random() < self.rate:
            self.injected += 1
            raise TransientBackendError(f"{operation}: the backend timed out (HTTP 503); it is safe to retry")
