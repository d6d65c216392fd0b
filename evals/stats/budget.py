"""How an A/B report spends its 5% chance of a false claim, and what its setup lets trials do.

One budget covers everything the report may call significant (Bonferroni): the primary metric, named before the run,
gets half; the guard rails (`--gate`) share a quarter when there are any; every other metric shares the rest. So
the chance that anything in the report is called significant when A and B do not differ is at most 5%.
"""

from __future__ import annotations

from dataclasses import dataclass

ALPHA = 0.05
PRIMARY_METRICS = ("retention", "cancellation", "value")  # value: kept net of offer cost, USD per conversation


@dataclass(frozen=True)
class ErrorBudget:
    primary: str = "retention"
    guards: tuple[str, ...] = ()
    alpha: float = ALPHA

    def shares(self, tested: list[str]) -> dict[str, tuple[str, float]]:
        """metric -> (its role, the level it is tested at), for the metrics that have data."""
        guards = [g for g in dict.fromkeys(self.guards) if g in tested and g != self.primary]
        rest = [m for m in tested if m != self.primary and m not in guards]
        shares: dict[str, tuple[str, float]] = {}
        if self.primary in tested:
            shares[self.primary] = ("primary", self.alpha / 2)
        guard_total = self.alpha / 4 if guards else 0.0
        for guard in guards:
            shares[guard] = ("guard", guard_total / len(guards))
        for metric in rest:
            shares[metric] = ("exploratory", (self.alpha / 2 - guard_total) / len(rest))
        return shares


@dataclass(frozen=True)
class Setup:
    """Whether trials of one persona can end differently, known from how the run was set up (not from the outcomes
    seen): a deterministic model with personas that draw nothing and no injected faults repeats one result."""

    deterministic: bool | None = None  # None: not known (the personas could not be read)
    why: str = ""

    @property
    def advice(self) -> str:
        if self.deterministic:
            return f"trials cannot vary in this setup ({self.why}): more personas add evidence, more trials do not"
        if self.deterministic is False:
            return f"trials can vary in this setup ({self.why}): more trials sharpen each persona's figure"
        return "more personas add evidence"
