"""Before an A/B run: how likely the report's own test is to show a difference of a given size with these personas
and trials, and how many personas (and trials, where they can vary) it would take. Every figure is simulated
through the verdict code the report uses (`evals.stats.power`), never a formula of its own."""

from __future__ import annotations

import re
from dataclasses import dataclass

from agent.errors import InputFileError
from evals.schema.persona import Persona
from evals.stats.power import plan
from evals.stats.verdicts import personas_needed

TARGET = 0.8
EFFECT = re.compile(r"^\s*\+?(\d+(?:\.\d+)?)\s*(?:pp)?\s*$")


def parse_effect(text: str) -> float:
    found = EFFECT.match(text)
    if not found or not 0 < float(found[1]) <= 100:
        raise InputFileError("plan-ab", "--effect", f"cannot read {text!r}", "give percentage points, e.g. 20pp")
    return float(found[1]) / 100


@dataclass(frozen=True)
class PowerRow:
    personas: int
    trials: int
    power: float


@dataclass(frozen=True)
class PowerPlan:
    personas: int
    trials: int
    effect: float
    deterministic: bool
    rows: list[PowerRow]
    comparisons: int

    @property
    def now(self) -> float:
        return next(r.power for r in self.rows if (r.personas, r.trials) == (self.personas, self.trials))

    @property
    def enough(self) -> PowerRow | None:
        """The smallest setting simulated that reaches 80% power."""
        return next((r for r in sorted(self.rows, key=lambda r: r.personas * r.trials) if r.power >= TARGET), None)

    def lines(self) -> list[str]:
        kind = (
            "trials cannot vary (the offline model, personas that draw nothing): an effect means a share of personas "
            "that end differently under B"
            if self.deterministic
            else "trials can vary: an effect means every persona's retention rate moves by it"
        )
        lines = [
            f"{self.personas} personas x {self.trials} trials, a true retention effect of {self.effect:.0%} points; "
            f"{kind}. Power is the chance that the report calls retention (its primary metric, tested at 2.5%) "
            f"significant, simulated {self.comparisons} times per row through the report's own verdict code.",
            f"Power now: {self.now:.0%}.",
        ]
        if self.deterministic:
            flips = max(1, round(self.effect * self.personas))
            needed = personas_needed(0.025)
            lines.append(
                f"About {flips} persona(s) would change; the test needs at least {needed} moving the same way, so "
                f"about {int(needed / self.effect + 0.999)} personas at this effect. More trials add nothing here."
            )
        enough = self.enough
        lines.append(
            f"80% power first at {enough.personas} personas x {enough.trials} trials (of the settings simulated)."
            if enough
            else "None of the settings simulated reaches 80% power: add personas that the two wordings could treat "
            "differently."
        )
        return lines


def plan_ab(personas: list[Persona], trials: int, effect: float, comparisons: int = 100) -> PowerPlan:
    deterministic = not any(p.has_chance for p in personas)
    kind = "deterministic" if deterministic else "heterogeneous"
    n = len(personas)
    sizes = sorted({n, 2 * n, 3 * n} | ({40} if 3 * n < 40 else set())) if n <= 60 else [n]  # a big library: as is
    trial_options = [trials] if deterministic or trials > 20 else sorted({trials, 2 * trials, 3 * trials})
    rows = [PowerRow(size, k, plan(size, k, effect, kind, comparisons)) for size in sizes for k in trial_options]
    return PowerPlan(n, trials, effect, deterministic, rows, comparisons)
