"""The held-out customer scripts (`fixtures/labelled/customer_scripts_heldout.yaml`, written by a helper without sight
of the offline model's rules): each script played through the offline model under its policy, and its end state
compared with the label. A write the label does not allow (an order changed otherwise than any acceptable end state
says, or a coupon no acceptable end state has) is an *unasked write*: the property the tests keep at zero.
`scripts/script_accuracy.py` prints the figures."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any

from agent.conversation import Conversation
from agent.datafiles import DEFAULT_FIXTURES, read_yaml
from agent.policy.compiled import CompiledPolicy, compile_policy_file
from agent.store.domain import Order
from agent.store.fixtures import default_fixtures

SCRIPTS = DEFAULT_FIXTURES / "labelled" / "customer_scripts_heldout.yaml"
SCRIPT_SETS = {"heldout": SCRIPTS, "heldout2": DEFAULT_FIXTURES / "labelled" / "customer_scripts_heldout2.yaml"}
REVIEWS = DEFAULT_FIXTURES / "labelled" / "reviews" / "customer_scripts_heldout.yaml"
POLICIES = Path(__file__).resolve().parent.parent / "policies"
COUPON = "future_coupon"


@dataclass(frozen=True)
class EndState:
    orders: dict[str, str]
    escalated: bool

    @classmethod
    def of(cls, data: dict[str, Any]) -> EndState:
        return cls({str(k).zfill(9): str(v) for k, v in data.get("orders", {}).items()}, bool(data.get("escalated")))

    def outcome(self, order_id: str) -> str:
        return self.orders.get(order_id, "unchanged")

    def coupons(self) -> int:
        return sum(1 for v in self.orders.values() if v == COUPON)

    def allows(self, actual: EndState, coupons: int) -> bool:
        """Whether every write in `actual` is one this end state has (an order may also be left unchanged)."""
        for order_id, outcome in actual.orders.items():
            if outcome != "unchanged" and outcome != self.outcome(order_id):
                return False
        return coupons <= self.coupons()

    def matches(self, actual: EndState, coupons: int) -> bool:
        orders = set(self.orders) | set(actual.orders)
        same_orders = all(
            actual.outcome(o) == ("unchanged" if self.outcome(o) == COUPON else self.outcome(o)) for o in orders
        )
        return same_orders and coupons == self.coupons() and actual.escalated == self.escalated


@dataclass(frozen=True)
class Script:
    id: str
    policy: str
    customer: int
    messages: tuple[str, ...]
    expect: EndState
    also_ok: tuple[EndState, ...] = ()
    note: str = ""

    @property
    def acceptable(self) -> tuple[EndState, ...]:
        return (self.expect, *self.also_ok)

    @property
    def language(self) -> str:
        prefix = self.id.split("_", 1)[0]
        return prefix if prefix in ("es", "de", "fr") else "en"


@dataclass
class Played:
    script: Script
    actual: EndState
    coupons: int
    replies: list[str] = field(default_factory=list)

    @property
    def correct(self) -> bool:
        return any(e.matches(self.actual, self.coupons) for e in self.script.acceptable)

    @property
    def unasked_write(self) -> bool:
        return not any(e.allows(self.actual, self.coupons) for e in self.script.acceptable)


def load_reviews(path: Path = REVIEWS) -> dict[str, EndState]:
    """The project's disputed labels: script id → the end state the project accepts in addition (none for a set
    without a review file)."""
    if not path.exists():
        return {}
    return {str(r["id"]): EndState.of(r["accept"]) for r in read_yaml(path)["reviews"]}


def reviews_of(path: Path) -> Path:
    return path.parent / "reviews" / path.name


def reviewed(script: Script, reviews: dict[str, EndState]) -> Script:
    extra = reviews.get(script.id)
    return replace(script, also_ok=(*script.also_ok, extra)) if extra is not None else script


def load_scripts(path: Path = SCRIPTS) -> list[Script]:
    data = read_yaml(path)
    return [
        Script(
            str(s["id"]),
            str(s["policy"]),
            int(s["customer"]),
            tuple(str(m) for m in s["messages"]),
            EndState.of(s["expect"]),
            tuple(EndState.of(e) for e in s.get("also_ok") or ()),
            str(s.get("note", "")),
        )
        for s in data["scripts"]
    ]


@cache
def _policy(name: str) -> CompiledPolicy:
    return compile_policy_file(POLICIES / name)


def outcome_of(before: Order, after: Order) -> str:
    if after.status == "canceled" and before.status != "canceled":
        return "cancelled"
    if after.discount_percent != before.discount_percent:
        return f"discount:{after.discount_percent:g}"
    if after.shipping_method != before.shipping_method:
        return "shipping_upgrade"
    if [i.sku for i in after.items] != [i.sku for i in before.items]:
        return "swap"
    return "unchanged"


def play(script: Script) -> Played:
    convo = Conversation.start(_policy(script.policy), script.customer)
    replies = [convo.send(message).reply for message in script.messages]
    fixtures = default_fixtures()
    before = fixtures.orders
    snapshot = convo.world.snapshot()
    orders = {o.increment_id: outcome_of(before[o.increment_id], o) for o in snapshot.orders}
    orders.update({order_id: "changed" for order_id in snapshot.foreign_orders_changed})
    escalated = any(c.tool == "escalate_to_human" and c.ok for c in convo.world.trace)
    return Played(script, EndState(orders, escalated), len(snapshot.coupons), replies)


def play_all(scripts: list[Script] | None = None) -> list[Played]:
    return [play(s) for s in (scripts if scripts is not None else load_scripts())]


def summary(played: list[Played], reviews_file: Path = REVIEWS) -> dict[str, Any]:
    by_language: Counter[str] = Counter(p.script.language for p in played)
    right: Counter[str] = Counter(p.script.language for p in played if p.correct)
    reviews = load_reviews(reviews_file)
    with_reviews = [replace(p, script=reviewed(p.script, reviews)) for p in played]
    return {
        "scripts": len(played),
        "correct": sum(p.correct for p in played),
        "unasked_writes": sum(p.unasked_write for p in played),
        "correct_reviewed": sum(p.correct for p in with_reviews),
        "unasked_writes_reviewed": sum(p.unasked_write for p in with_reviews),
        "reviewed_labels": len(reviews),
        "by_language": {lang: f"{right[lang]}/{n}" for lang, n in sorted(by_language.items())},
    }
