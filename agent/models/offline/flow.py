"""The decisions of the offline reference model: a pure function from what it can see to its next step.

What it can see is what an LLM would see: the policy (as its offer plan, given by the agent factory), the customer's
messages, its own earlier turns and the tool results (typed, read back from their observations). It keeps no hidden
state: its notes (`Memory`) are rebuilt by replaying these decisions over the earlier turns. It never runs a write
tool unless the customer asked to cancel that order or explicitly accepted that offer.
"""

from __future__ import annotations

import re
from dataclasses import replace

from agent.models.offline.actions import escalate, leave_as_is, order_lines, remember, retry_transient
from agent.models.offline.intents import default_rules
from agent.models.offline.offering import on_offers, present_offers
from agent.models.offline.situation import Call, OrderNote, Say, Situation, replies
from agent.store.domain import CANCELLABLE_STATUSES
from agent.tools.results import OrderList, OrderSummary, ToolError

WORD = re.compile(r"[a-z]{4,}")
BARE_NUMBER = re.compile(r"(?<![\d.%$])\b(\d{3,9})\b(?![\d.%])")


def decide(s: Situation) -> Call | Say:
    """The next step: a tool call, or the reply that ends the turn. When the customer asked about several orders,
    settling one goes straight on to the next, in the same reply."""
    step = _decide(s)
    if isinstance(step, Say) and step.memory.stage == "resolved" and step.memory.queue:
        m = step.memory
        after = _open_order(replace(s, memory=replace(m, queue=())), m.queue[0], m.queue[1:])
        if isinstance(after, Call):
            return after
        return Say(f"{step.text}\n\n{after.text}", after.memory, f"{step.why}; then {after.why}")
    return step


def _decide(s: Situation) -> Call | Say:
    if (retry := retry_transient(s)) is not None:
        return retry
    r, m = s.reading, s.memory
    if r.has("human"):
        if s.brief.hands_over:
            return escalate(s, "asked for a person")
        return Say(replies()["no_handover"], m, "asked for a person; the policy has no hand-over")
    if m.stage == "offered":
        return on_offers(s)
    if m.stage == "choose_order":
        return _choose_order(s)
    if r.has("cancel") or r.has("insist"):
        return _start_cancel(s)
    if r.has("goodbye"):
        return leave_as_is(s)
    if m.stage == "resolved":
        return Say(replies()["after_resolution"], m, "the request is settled")
    return Say(replies()["off_topic"], m, "no order request in the message")


def _listed(s: Situation) -> tuple[OrderNote, ...]:
    found = s.result("list_customer_orders")
    return tuple(OrderNote.of(o) for o in found.orders) if isinstance(found, OrderList) else s.memory.listed


def _open(orders: tuple[OrderNote, ...]) -> tuple[OrderNote, ...]:
    return tuple(o for o in orders if o.status in CANCELLABLE_STATUSES)


def _orders_named(s: Situation, orders: tuple[OrderNote, ...]) -> list[str]:
    """The orders a message points at: by number, by position in the list shown, by product, or 'both'."""
    r = s.reading
    if r.order_ids:
        return list(r.order_ids)
    if r.has("both") and orders:
        return [o.order_id for o in orders]
    if r.ordinal is not None and orders:
        index = r.ordinal - 1 if r.ordinal > 0 else len(orders) + r.ordinal
        return [orders[index].order_id] if 0 <= index < len(orders) else []
    numbers = {n.zfill(9) for n in BARE_NUMBER.findall(r.text)}
    if by_number := [o.order_id for o in orders if o.order_id in numbers]:
        return by_number
    stopwords = default_rules().product_stopwords
    words = set(WORD.findall(r.text.lower())) - stopwords
    matches = [o for o in orders if words & (set(WORD.findall(" ".join(o.items).lower())) - stopwords)]
    return [matches[0].order_id] if len(matches) == 1 else []


def _start_cancel(s: Situation) -> Call | Say:
    r = s.reading
    if r.order_ids:
        return _open_order(s, r.order_ids[0], r.order_ids[1:])
    if not s.called("list_customer_orders"):
        return Call("list_customer_orders", {})
    listed = _listed(s)
    candidates = _open(listed)
    named = _orders_named(replace(s, memory=replace(s.memory, listed=candidates)), candidates) if r.text else []
    if named:
        return _open_order(s, named[0], tuple(named[1:]))
    if not candidates:
        text = replies()["no_cancellable_orders"].format(orders=order_lines(listed))
        return Say(text, remember(s, stage="idle", listed=listed), "no order can still be cancelled")
    if len(candidates) == 1:
        return _open_order(s, candidates[0].order_id, ())
    text = replies()["ask_which_order"].format(orders=order_lines(candidates))
    return Say(text, remember(s, stage="choose_order", listed=candidates), "several open orders: ask which")


def _choose_order(s: Situation) -> Call | Say:
    if s.reading.has("goodbye") and not s.reading.has("cancel"):
        return leave_as_is(s)
    named = _orders_named(s, s.memory.listed)
    if named:
        return _open_order(s, named[0], tuple(named[1:]))
    if s.reading.has("goodbye"):
        return leave_as_is(s)
    text = replies()["which_order_again"].format(orders=order_lines(s.memory.listed))
    return Say(text, s.memory, "the message names no order: never guess one")


def _open_order(s: Situation, order_id: str, queue: tuple[str, ...] | list[str]) -> Call | Say:
    done = s.memory.outcome_of(order_id)
    if done is not None:
        return _already_done(s, order_id, done)
    if not s.called("get_order", order_id=order_id):
        return Call("get_order", {"order_id": order_id})
    found = s.result("get_order", order_id=order_id)
    if isinstance(found, ToolError) and found.kind not in ("scope", "not_found"):
        return Say(replies()["backend_unavailable"], s.memory, f"get_order failed ({found.kind})")
    if not isinstance(found, OrderSummary):
        if not s.called("list_customer_orders"):
            return Call("list_customer_orders", {})
        listed = _listed(s)
        text = replies()["not_your_order"].format(order_id=order_id, orders=order_lines(listed))
        return Say(text, remember(s, stage="choose_order", listed=_open(listed)), "not this customer's order")
    order = OrderNote.of(found)
    if order.status not in CANCELLABLE_STATUSES:
        text = replies()["not_cancellable"][order.status].format(order_id=order.order_id)
        return Say(text, remember(s, stage="idle"), f"order is {order.status}: it cannot be cancelled")
    s = replace(s, memory=replace(s.memory, queue=tuple(queue)))
    swap_item = max(found.items, key=lambda i: i.price)
    return present_offers(s, order, (swap_item.sku, swap_item.name, swap_item.price))


def _already_done(s: Situation, order_id: str, done: str) -> Call | Say:
    if done.startswith("retained:") and s.reading.has("insist") and s.brief.hands_over:
        return escalate(s, "wants to cancel an order that already took a retention offer")
    if done.startswith("retained:") and not s.plan.stacking:
        benefit = done.split(": ", 1)[-1]
        order = next((o for o in s.memory.listed if o.order_id == order_id), None)
        text = replies()["already_kept"].format(order_id=order_id, benefit=benefit)
        return Say(text, remember(s, stage="resolved", order=order), "one retention offer per order")
    what = done.split(": ", 1)[0].replace("retained:", "kept with ")
    return Say(replies()["already_done"].format(order_id=order_id, what=what), s.memory, "already settled")
