"""What the offline reference model sees and notes: the situation of one step, its memory, and its steps.

Its memory is rebuilt from the history each time (see `model.py`), so everything here is plain, frozen data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any

from agent.datafiles import DEFAULT_FIXTURES, read_yaml
from agent.models.offline.intents import Reading
from agent.policy.plan import OfferPlan
from agent.store.customer_facts import CustomerFacts
from agent.tools.kinds import OfferKind
from agent.tools.results import OrderSummary, ToolResult

REPLIES_FILE = DEFAULT_FIXTURES / "reference_model" / "replies.yaml"


@cache
def replies() -> dict[str, Any]:
    return read_yaml(REPLIES_FILE)


@dataclass(frozen=True)
class Offer:
    """One offer as the model made it: its kind, and the details the customer was told."""

    kind: OfferKind
    percent: float | None = None
    sku: str = ""
    item: str = ""
    price: float = 0.0
    new_sku: str = ""
    new_item: str = ""
    new_price: float = 0.0
    after: tuple[str, ...] = ()  # held back until the customer refuses an offer / raises a concern (the plan's `after`)


@dataclass(frozen=True)
class OrderNote:
    """What the model knows of one of the customer's orders."""

    order_id: str
    status: str
    items: tuple[str, ...]
    subtotal: float
    total: float
    currency: str
    expedited: bool
    created_at: str = ""

    @classmethod
    def of(cls, order: OrderSummary) -> OrderNote:
        return cls(
            order.order_id,
            order.status,
            tuple(i.name for i in order.items),
            order.subtotal,
            order.grand_total,
            order.currency,
            order.expedited,
            order.created_at,
        )


@dataclass(frozen=True)
class Memory:
    """What the model noted about the conversation so far."""

    stage: str = "idle"  # idle | choose_order | offered | confirm_cancel | resolved
    order: OrderNote | None = None
    offers: tuple[Offer, ...] = ()  # on the table now
    pending: tuple[Offer, ...] = ()  # not presented yet (one offer at a time, or held back until a refusal/concern)
    listed: tuple[OrderNote, ...] = ()  # the orders last shown to the customer
    known: tuple[OrderNote, ...] = ()  # every order of the customer's the model has seen, whatever its status
    focus: str = ""  # the one offer the model's last question was about ("Shall I apply it?"), for a bare yes
    queue: tuple[str, ...] = ()  # further orders the customer asked to cancel
    done: tuple[tuple[str, str], ...] = ()  # (order id, "cancelled" | "retained:<kind>: <benefit>" | "escalated")
    reason: str | None = None
    customer: CustomerFacts | None = None  # the customer's facts, once a tool result showed them

    @property
    def order_id(self) -> str:
        return self.order.order_id if self.order else ""

    def outcome_of(self, order_id: str) -> str | None:
        return next((what for done, what in self.done if done == order_id), None)


@dataclass(frozen=True)
class ToolStep:
    name: str
    args: dict[str, Any]
    result: ToolResult | None = None


@dataclass(frozen=True)
class Call:
    name: str
    args: dict[str, Any]


@dataclass(frozen=True)
class Say:
    text: str
    memory: Memory
    why: str = ""  # which rule and policy line this reply follows (shown in the chat lab, never to the customer)


@dataclass(frozen=True)
class PolicyBrief:
    """What the model knows of the policy: its offer plan and discount cap (given by the agent factory)."""

    plan: OfferPlan = field(default_factory=OfferPlan)
    max_discount_percent: float = 100.0

    @property
    def hands_over(self) -> bool:
        """Whether the policy hands a customer who asks for a person to one."""
        return self.plan.hands_over_on("request")

    @property
    def hands_over_concerns(self) -> bool:
        return self.plan.hands_over_on("concern")


@dataclass
class Situation:
    brief: PolicyBrief
    memory: Memory
    reading: Reading
    steps: list[ToolStep] = field(default_factory=list)
    focus: str = ""  # the offer the model's previous question was about (moved here from its notes each turn)

    @property
    def plan(self) -> OfferPlan:
        return self.brief.plan

    def result(self, name: str, **args: Any) -> ToolResult | None:
        return next((s.result for s in reversed(self.steps) if s.name == name and _has(s.args, args)), None)

    def called(self, name: str, **args: Any) -> bool:
        return any(s.name == name and _has(s.args, args) for s in self.steps)

    @property
    def customer(self) -> CustomerFacts | None:
        """The customer's facts as the last order list showed them (this turn's, else noted earlier)."""
        listed = self.result("list_customer_orders")
        shown = getattr(listed, "customer", None)
        return shown if isinstance(shown, CustomerFacts) else self.memory.customer


def _has(actual: dict[str, Any], wanted: dict[str, Any]) -> bool:
    return all(actual.get(k) == v for k, v in wanted.items())
