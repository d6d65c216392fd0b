"""What every scorer reads and returns: the scoring context, the scorer registry, and shared helpers.

Every scorer has the same signature, `(ScoringContext) -> Score`, and is registered by name in SCORERS.
A rule that did not come up in a conversation scores `passed=None` (not applicable), never a free pass.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from agent.policy.compiled import CompiledPolicy
from agent.policy.plan import OfferPlan
from agent.registry import Registry
from agent.store.fixtures import FixtureSet
from agent.store.trace import ToolCallRecord
from agent.store.world import WorldSnapshot
from evals.reading.rules import read_with_rules
from evals.schema.persona import SimEvent
from evals.schema.reading import Reading
from evals.schema.records import ConversationRecord, Score


@dataclass(frozen=True)
class ScoringContext:
    record: ConversationRecord
    state: WorldSnapshot
    policy: CompiledPolicy
    fixtures: FixtureSet

    @property
    def plan(self) -> OfferPlan:
        return self.policy.offer_plan

    @property
    def cap(self) -> float:
        return self.policy.max_discount_percent

    @property
    def calls(self) -> list[ToolCallRecord]:
        return self.record.trace

    def ok_calls(self, tool: str) -> list[tuple[int, ToolCallRecord]]:
        return [(i, c) for i, c in enumerate(self.calls) if c.tool == tool and c.ok]

    def reply(self, turn: int) -> str:
        turns = self.record.turns
        return turns[turn - 1].reply if 0 < turn <= len(turns) else ""

    def reading(self, turn: int) -> Reading:
        """What the run's reader took from the agent's reply in `turn` (read now by the rules if not stored)."""
        readings = self.record.readings
        if 0 < turn <= len(readings):
            return readings[turn - 1]
        return read_with_rules(self.reply(turn))

    def events(self, *kinds: str) -> list[SimEvent]:
        return [e for e in self.record.sim_events if e.kind in kinds]


def confirmations_after(ctx: ScoringContext, index: int) -> list[int]:
    """Positions in the trace of successful send_async_message calls after the call at `index`."""
    return [i for i, _ in ctx.ok_calls("send_async_message") if i > index]


def retried_after_fault(ctx: ScoringContext, tool: str, turn: int) -> ToolCallRecord | None:
    """The later successful `tool` call, when the call in `turn` failed only on a transient backend fault."""
    faulted = any(c.tool == tool and c.turn == turn and c.error_kind == "transient" for c in ctx.calls)
    later = [c for _, c in ctx.ok_calls(tool) if c.turn > turn]
    return later[0] if faulted and later else None


def blocked_by_faults(ctx: ScoringContext, tool: str) -> int:
    """How many calls of `tool` failed on transient backend faults when none of its calls succeeded (0 otherwise)."""
    if ctx.ok_calls(tool):
        return 0
    return sum(c.tool == tool and c.error_kind == "transient" for c in ctx.calls)


Scorer = Callable[[ScoringContext], Score]
SCORERS: Registry[Scorer] = Registry("scorer")


def scorer(name: str) -> Callable[[Scorer], Scorer]:
    return SCORERS.register(name)


def not_applicable(name: str, why: str) -> Score:
    return Score(name=name, value=None, passed=None, evidence=why)


def verdict(name: str, passed: bool, evidence: str) -> Score:
    return Score(name=name, value=1.0 if passed else 0.0, passed=passed, evidence=evidence)
