"""The decisions of the offline reference model: a pure function from what it can see to its next step.

What it can see is what an LLM would see: the policy (as its offer plan), the customer's messages, its own earlier
turns and the tool results (typed, read back from their observations). It keeps no hidden state: its notes about
the conversation so far (`Memory`) are rebuilt by replaying these decisions over the earlier turns.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cache
from typing import Any

from agent.datafiles import DEFAULT_FIXTURES, read_yaml
from agent.models.offline.intents import Reading
from agent.policy.offers import OfferPlan
from agent.store.domain import CANCELLABLE_STATUSES
from agent.tools.kinds import OfferKind
from agent.tools.results import (
    CouponCreated,
    DiscountApplied,
    OrderList,
    OrderSummary,
    SwapOptions,
    ToolError,
    ToolResult,
)
from agent.tools.toolkit import apply_tool

REPLIES_FILE = DEFAULT_FIXTURES / "reference_model" / "replies.yaml"
MAX_ATTEMPTS = 3


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
    new_sku: str = ""
    new_item: str = ""


@dataclass(frozen=True)
class Memory:
    """What the model noted about the conversation so far."""

    stage: str = "idle"  # idle | choose_order | offered | resolved
    order_id: str | None = None
    offers: tuple[Offer, ...] = ()
    resolution: str | None = None
    reason: str | None = None


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


@dataclass
class Situation:
    plan: OfferPlan
    memory: Memory
    reading: Reading
    steps: list[ToolStep] = field(default_factory=list)

    def result(self, name: str) -> ToolResult | None:
        return next((s.result for s in reversed(self.steps) if s.name == name), None)

    def called(self, name: str) -> bool:
        return any(s.name == name for s in self.steps)


def _failed(result: ToolResult | None) -> bool:
    return isinstance(result, ToolError)


def decide(s: Situation) -> Call | Say:
    """The next step: a tool call, or the reply that ends the turn."""
    if s.steps and isinstance(last_result := s.steps[-1].result, ToolError) and last_result.kind == "transient":
        last = s.steps[-1]
        attempts = sum(1 for x in s.steps if x.name == last.name and x.args == last.args)
        if attempts < MAX_ATTEMPTS:
            return Call(last.name, last.args)
        return Say(replies()["backend_unavailable"], s.memory)
    r, m = s.reading, s.memory
    # the policy escalates a person request at any point, and a concern only once there is an offer to worry about
    if r.has("human") or (r.has("concern") and m.stage == "offered"):
        return _escalate(s)
    if m.stage == "offered":
        return _on_offers(s)
    if r.order_ids and (m.stage == "choose_order" or r.has("cancel") or r.has("insist")):
        return _open_order(s, r.order_ids[0])
    if r.has("cancel") or r.has("insist"):
        return _find_order(s)
    if m.stage == "choose_order":
        return _find_order(s)
    if m.stage == "resolved":
        return Say(replies()["after_resolution"], m)
    return Say(replies()["off_topic"], m)


def _remember(s: Situation, **changes: Any) -> Memory:
    base = s.memory if s.memory.stage != "resolved" else Memory()
    reason = base.reason or (s.reading.text[:120] if s.reading.has("cancel") or s.reading.has("insist") else None)
    return replace(base, reason=reason, **changes)


def _escalate(s: Situation) -> Call | Say:
    if not s.called("escalate_to_human"):
        why = "asked for a person" if s.reading.has("human") else "raised a concern about the retention offer"
        return Call("escalate_to_human", {"reason": f'The customer {why}: "{s.reading.text[:200]}"'})
    if _failed(s.result("escalate_to_human")):
        return Say(replies()["backend_unavailable"], s.memory)
    return Say(replies()["escalated"], replace(_remember(s), stage="resolved", resolution="escalated"))


def _order_lines(orders: list[OrderSummary]) -> str:
    return "\n".join(
        f"- Order {o.order_id} ({o.status}): "
        + ", ".join(i.name for i in o.items)
        + f", {o.grand_total:.2f} {o.currency}"
        for o in orders
    )


def _listed_orders(s: Situation) -> list[OrderSummary]:
    found = s.result("list_customer_orders")
    return found.orders if isinstance(found, OrderList) else []


def _find_order(s: Situation) -> Call | Say:
    if not s.called("list_customer_orders"):
        return Call("list_customer_orders", {})
    orders = _listed_orders(s)
    open_orders = [o for o in orders if o.status in CANCELLABLE_STATUSES]
    if not open_orders:
        return Say(replies()["no_cancellable_orders"].format(orders=_order_lines(orders)), _remember(s, stage="idle"))
    if len(open_orders) == 1:
        return _open_order(s, open_orders[0].order_id)
    return Say(
        replies()["ask_which_order"].format(orders=_order_lines(open_orders)), _remember(s, stage="choose_order")
    )


def _open_order(s: Situation, order_id: str) -> Call | Say:
    if not s.called("get_order"):
        return Call("get_order", {"order_id": order_id})
    order = s.result("get_order")
    if not isinstance(order, OrderSummary):
        if not s.called("list_customer_orders"):
            return Call("list_customer_orders", {})
        text = replies()["not_your_order"].format(order_id=order_id, orders=_order_lines(_listed_orders(s)))
        return Say(text, _remember(s, stage="choose_order"))
    if order.status not in CANCELLABLE_STATUSES:
        text = replies()["not_cancellable"][order.status].format(order_id=order.order_id)
        return Say(text, _remember(s, stage="idle", order_id=order.order_id))
    return _present_offers(s, order)


def _swap_offer(s: Situation, order: OrderSummary) -> Call | Offer | None:
    item = max(order.items, key=lambda i: i.price)
    if not s.called("list_swap_options"):
        return Call("list_swap_options", {"order_id": order.order_id, "sku": item.sku})
    found = s.result("list_swap_options")
    if not isinstance(found, SwapOptions) or not found.options:
        return None
    best = min(found.options, key=lambda c: c.price)
    return Offer(OfferKind.SWAP, sku=item.sku, item=item.name, new_sku=best.sku, new_item=best.name)


def _present_offers(s: Situation, order: OrderSummary) -> Call | Say:
    offers: list[Offer] = []
    for option in s.plan.options:
        if option.kind in (OfferKind.DISCOUNT, OfferKind.FUTURE_COUPON) and option.first_percent is not None:
            offers.append(Offer(option.kind, percent=option.first_percent))
        elif option.kind == OfferKind.SHIPPING_UPGRADE and not order.expedited:
            offers.append(Offer(option.kind))
        elif option.kind == OfferKind.SWAP:
            swap = _swap_offer(s, order)
            if isinstance(swap, Call):
                return swap
            if swap is not None:
                offers.append(swap)
    if not offers:
        return _cancel(s, order.order_id)
    memory = _remember(s, stage="offered", order_id=order.order_id, offers=tuple(offers))
    return Say(_offers_text(order.order_id, offers), memory)


def _facts(offer: Offer) -> dict[str, Any]:
    return {
        "percent": f"{offer.percent or 0:g}",
        "item": offer.item,
        "new_item": offer.new_item,
        "sku": offer.sku,
        "new_sku": offer.new_sku,
    }


def _offer_line(offer: Offer) -> str:
    return replies()["offer_lines"][offer.kind.value].format(**_facts(offer))


def _offers_text(order_id: str, offers: list[Offer]) -> str:
    lines = "\n".join(f"{n}. {_offer_line(o)}" for n, o in enumerate(offers, start=1))
    return f"{replies()['offers_intro'].format(order_id=order_id)}\n\n{lines}\n\n{replies()['offers_question']}"


def _on_offers(s: Situation) -> Call | Say:
    r, m = s.reading, s.memory
    if r.has("insist"):
        return _cancel(s, m.order_id)
    on_table = next((o for o in m.offers if o.kind == OfferKind.DISCOUNT), None)
    wanted = r.requested_percent
    asks_more = wanted is None or on_table is None or wanted > (on_table.percent or 0)
    if r.has("negotiate") and asks_more and not (r.offers and "discount" not in r.offers):
        return _negotiate(s, wanted)
    chosen = _chosen_offer(r, m.offers)
    if chosen and not r.has("decline"):
        return _apply(s, chosen)
    if r.has("decline") or r.has("cancel"):
        return _cancel(s, m.order_id)
    if r.has("accept"):
        choices = ", ".join(_offer_line(o) for o in m.offers)
        return Say(replies()["which_offer"].format(choices=choices), m)
    return Say(replies()["reask"].format(order_id=m.order_id), m)


def _chosen_offer(r: Reading, offers: tuple[Offer, ...]) -> Offer | None:
    named = [o for o in offers if o.kind in r.offers or (o.kind == OfferKind.DISCOUNT and o.percent in r.percents)]
    if len(named) == 1:
        return named[0]
    if r.ordinal is not None and offers:
        index = r.ordinal - 1 if r.ordinal > 0 else r.ordinal
        if -len(offers) <= index < len(offers):
            return offers[index]
    if r.has("accept") and len(offers) == 1:
        return offers[0]
    return None


def _negotiate(s: Situation, wanted: float | None) -> Call | Say:
    option = s.plan.get(OfferKind.DISCOUNT)
    if option is None or not option.percents:
        return Say(replies()["no_discount_available"], s.memory)
    top = max(option.percents)
    if wanted is not None and wanted <= top:
        return _apply(s, Offer(OfferKind.DISCOUNT, percent=min(p for p in option.percents if p >= wanted)))
    offers = tuple(replace(o, percent=top) if o.kind == OfferKind.DISCOUNT else o for o in s.memory.offers)
    if not any(o.kind == OfferKind.DISCOUNT for o in offers):
        offers = (Offer(OfferKind.DISCOUNT, percent=top), *offers)
    return Say(replies()["counter_offer"].format(percent=f"{top:g}"), replace(s.memory, offers=offers))


def _apply_call(order_id: str, offer: Offer) -> Call:
    by_kind: dict[OfferKind, dict[str, Any]] = {
        OfferKind.DISCOUNT: {"order_id": order_id, "percent": offer.percent},
        OfferKind.SHIPPING_UPGRADE: {"order_id": order_id},
        OfferKind.SWAP: {"order_id": order_id, "sku": offer.sku, "new_sku": offer.new_sku},
        OfferKind.FUTURE_COUPON: {"percent": offer.percent},
    }
    args = by_kind[offer.kind]
    return Call(apply_tool(offer.kind), args)


def _benefit(offer: Offer, result: ToolResult | None) -> str:
    """Describe the applied offer using the facts the tool result confirmed."""
    facts = _facts(offer)
    facts["total"] = f"{result.new_total:.2f} {result.currency}" if isinstance(result, DiscountApplied) else "updated"
    facts["code"] = result.code if isinstance(result, CouponCreated) else ""
    return replies()["benefits"][offer.kind.value].format(**facts)


def _apply(s: Situation, offer: Offer) -> Call | Say:
    m = s.memory
    order_id = m.order_id or ""
    call = _apply_call(order_id, offer)
    if not s.called(call.name):
        return call
    result = s.result(call.name)
    if isinstance(result, ToolError):
        remaining = tuple(o for o in m.offers if o.kind != offer.kind)
        return Say(replies()["apply_failed"].format(error=result.message), replace(m, offers=remaining))
    benefit = _benefit(offer, result)
    if not s.called("send_async_message"):
        return Call(
            "send_async_message",
            {"message": replies()["async_confirmation"].format(order_id=order_id, benefit=benefit)},
        )
    done = replace(m, stage="resolved", resolution=f"retained:{offer.kind.value}")
    return Say(replies()["retained"].format(order_id=order_id, benefit=benefit), done)


def _cancel(s: Situation, order_id: str | None) -> Call | Say:
    order_id = order_id or s.memory.order_id or ""
    if not s.called("cancel_order"):
        reason = s.memory.reason or s.reading.text[:120]
        return Call("cancel_order", {"order_id": order_id, "reason": reason})
    result = s.result("cancel_order")
    if isinstance(result, ToolError):
        return Say(replies()["cancel_failed"].format(order_id=order_id, error=result.message), s.memory)
    return Say(
        replies()["cancelled"].format(order_id=order_id),
        _remember(s, stage="resolved", order_id=order_id, resolution="cancelled"),
    )
