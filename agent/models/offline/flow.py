"""The decisions of the offline reference model: a pure function from what it can see to its next step.

What it can see is what an LLM would see: the policy (as its offer plan, given by the agent factory), the customer's
messages, its own earlier turns and the tool results (typed, read back from their observations). It keeps no hidden
state: its notes (`Memory`) are rebuilt by replaying these decisions over the earlier turns. It never runs a write
tool unless the customer asked to cancel that order or explicitly accepted that offer.
"""

from __future__ import annotations

from dataclasses import replace

from agent.models.offline.actions import escalate, leave_as_is, order_lines, remember, retry_transient
from agent.models.offline.offering import on_confirm_cancel, on_offers, present_offers
from agent.models.offline.order_refs import OrderReference, described_otherwise, refer, undescribed
from agent.models.offline.situation import Call, OrderNote, Say, Situation, replies
from agent.models.offline.wording import default_vocabulary
from agent.store.domain import CANCELLABLE_STATUSES
from agent.tools.results import OrderList, OrderSummary, ToolError


def decide(s: Situation) -> Call | Say:
    """The next step: a tool call, or the reply that ends the turn. When the customer asked about several orders,
    settling one goes straight on to the next, in the same reply."""
    s = replace(s, focus=s.memory.focus, memory=replace(s.memory, focus=""))
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
    if r.has("item_only"):
        memory = remember(s, stage="idle", offers=(), pending=(), order=None)
        return Say(replies()["whole_orders_only"], memory, "asked to cancel part of an order: only whole orders can be")
    if m.stage == "confirm_cancel":
        return on_confirm_cancel(s)
    if m.stage == "offered":
        if (r.has("cancel") or r.has("correction")) and (switch := _switch_order(s)) is not None:
            return switch
        return on_offers(s)
    if m.stage == "choose_order":
        return _choose_order(s)
    if r.has("cancel") or r.has("insist"):
        return _start_cancel(s)
    if r.has("goodbye") or (m.stage == "idle" and (r.has("decline") or r.has("accept")) and not r.offers):
        return leave_as_is(s)
    if m.stage == "resolved":
        return Say(replies()["after_resolution"], m, "the request is settled")
    return Say(replies()["off_topic"], m, "no order request in the message")


def _known(s: Situation) -> tuple[OrderNote, ...]:
    """Every order of the customer's the model has seen: from this turn's order list, or from its notes."""
    found = s.result("list_customer_orders")
    return tuple(OrderNote.of(o) for o in found.orders) if isinstance(found, OrderList) else s.memory.known


def _open(orders: tuple[OrderNote, ...]) -> tuple[OrderNote, ...]:
    return tuple(o for o in orders if o.status in CANCELLABLE_STATUSES)


def _start_cancel(s: Situation) -> Call | Say:
    r = s.reading
    if len(r.order_ids) == 1 and not r.has("correction"):
        return _open_order(s, r.order_ids[0], ())
    if not s.called("list_customer_orders"):
        return Call("list_customer_orders", {})
    known = _known(s)
    candidates = _open(known)
    s = replace(s, memory=replace(s.memory, known=known))
    ref = refer(r, known, candidates, s.memory.order_id)
    if ref.order_ids and not ref.asks:
        return _open_order(s, ref.order_ids[0], ref.order_ids[1:])
    if ref.asks:
        return _ask_which(s, ref, known)
    if not candidates:
        text = replies()["no_cancellable_orders"].format(orders=order_lines(known))
        return Say(text, remember(s, stage="idle", listed=known), "no order can still be cancelled")
    if len(candidates) == 1:
        return _open_order(s, candidates[0].order_id, ())
    text = replies()["ask_which_order"].format(orders=order_lines(candidates))
    return Say(text, remember(s, stage="choose_order", listed=candidates), "several open orders: ask which")


def _ask_which(s: Situation, ref: OrderReference, known: tuple[OrderNote, ...]) -> Say:
    """The message describes an order the model cannot place: none of the customer's orders fits the words, or
    several do. It asks, listing the orders that could be meant, and never picks one itself."""
    if ref.how == "named":
        shown = tuple(o for o in known if o.order_id in ref.order_ids) or known
        text = replies()["which_of_named"].format(orders=order_lines(shown))
        why = "several orders named, and not as one request: ask which, never guess"
    elif ref.how == "several":
        shown = tuple(o for o in known if o.order_id in ref.order_ids)
        text = replies()["several_orders_fit"].format(words=ref.unsure, orders=order_lines(shown))
        why = f'"{ref.unsure}" fits {len(shown)} orders: ask which, never guess'
    else:
        shown = _open(known) or known
        text = replies()["no_order_fits"].format(words=ref.unsure, orders=order_lines(shown))
        why = f'no order of the customer\'s fits "{ref.unsure}": ask which, never substitute another'
    memory = remember(s, stage="choose_order", listed=shown, known=known, order=None, offers=(), pending=())
    return Say(text, memory, why)


def _choose_order(s: Situation) -> Call | Say:
    r, m = s.reading, s.memory
    if r.has("goodbye") and not r.has("cancel"):
        return leave_as_is(s)
    ref = refer(r, m.known or m.listed, m.listed, m.order_id)
    if ref.order_ids and not ref.asks:
        return _open_order(s, ref.order_ids[0], ref.order_ids[1:])
    if ref.asks:
        return _ask_which(s, ref, m.known or m.listed)
    if len(m.listed) == 1 and r.has("accept") and not r.has("decline"):
        return _open_order(s, m.listed[0].order_id, ())
    if r.has("goodbye"):
        return leave_as_is(s)
    text = replies()["which_order_again"].format(orders=order_lines(m.listed))
    return Say(text, m, "the message names no order: never guess one")


def _switch_order(s: Situation) -> Call | Say | None:
    """While offers for one order are on the table, a request to cancel another order (or one the model cannot
    place) leaves the first as it is: the model never cancels the order under discussion in its place."""
    m = s.memory
    known = _known(s) or m.known or ((m.order,) if m.order else ())
    ref = refer(s.reading, known, m.listed or known, m.order_id)
    elsewhere = ref.unsure or default_vocabulary().other_order.search(s.reading.plain)
    if elsewhere and not ref.order_ids and len(known) <= 1 and not s.called("list_customer_orders"):
        return Call("list_customer_orders", {})  # the customer means an order the model has not seen yet
    if ref.asks or (elsewhere and not ref.order_ids):
        unsure = ref if ref.asks else OrderReference((), "unknown", "the other order")
        return _ask_which(replace(s, memory=replace(m, known=known)), unsure, known)
    if ref.order_ids and m.order_id not in ref.order_ids and ref.how != "position":
        s = replace(s, memory=replace(m, stage="idle", offers=(), pending=(), order=None, known=known))
        return _open_order(s, ref.order_ids[0], ref.order_ids[1:])
    return None


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
        known = _known(s)
        text = replies()["not_your_order"].format(order_id=order_id, orders=order_lines(known))
        memory = remember(s, stage="choose_order", listed=_open(known), known=known, order=None, offers=(), pending=())
        return Say(text, memory, "not this customer's order")
    order = OrderNote.of(found)
    if (mismatch := _number_and_words_disagree(s, order)) is not None:
        return mismatch
    if order.status not in CANCELLABLE_STATUSES:
        text = replies()["not_cancellable"][order.status].format(order_id=order.order_id)
        memory = remember(s, stage="idle", order=None, offers=(), pending=())
        why = f"order is {order.status}: it cannot be cancelled, and no other order is taken instead"
        return Say(text, memory, why)
    s = replace(s, memory=replace(s.memory, queue=tuple(queue)))
    swap_item = max(found.items, key=lambda i: i.price)
    return present_offers(s, order, (swap_item.sku, swap_item.name, swap_item.price))


def _number_and_words_disagree(s: Situation, order: OrderNote) -> Call | Say | None:
    """The customer named this order by number but described another ("the shoes order 112", 112 being a jacket):
    the model lists their orders if it has not, then asks which one is meant, and changes nothing."""
    v = default_vocabulary()
    if not undescribed(s.reading, order, v):
        return None
    if not s.called("list_customer_orders") and not s.memory.known:
        return Call("list_customer_orders", {})  # the words may fit an order the model has not seen yet
    known = _known(s)
    words = described_otherwise(s.reading, order, known, v)
    if not words:
        return None
    listed = _open(known) or known
    text = replies()["number_and_words_disagree"].format(
        order_id=order.order_id, items=", ".join(order.items), words=words, orders=order_lines(listed)
    )
    memory = remember(s, stage="choose_order", listed=listed, known=known, order=None, offers=(), pending=())
    return Say(text, memory, f'order {order.order_id} was named, but "{words}" describes another: ask which')


def _already_done(s: Situation, order_id: str, done: str) -> Call | Say:
    if done.startswith("retained:") and s.reading.has("insist") and s.brief.hands_over:
        return escalate(s, "wants to cancel an order that already took a retention offer")
    if done.startswith("retained:") and not s.plan.stacking:
        benefit = done.split(": ", 1)[-1]
        order = next((o for o in s.memory.known or s.memory.listed if o.order_id == order_id), s.memory.order)
        text = replies()["already_kept"].format(order_id=order_id, benefit=benefit)
        return Say(text, remember(s, stage="resolved", order=order), "one retention offer per order")
    what = done.split(": ", 1)[0].replace("retained:", "kept with ")
    return Say(replies()["already_done"].format(order_id=order_id, what=what), s.memory, "already settled")
