"""The offline model's actions that end an order's retention step: cancel, hand over, or leave the order as it is."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from agent.models.offline.situation import Call, Memory, OrderNote, Say, Situation, replies
from agent.tools.results import ToolError

MAX_ATTEMPTS = 3


def retry_transient(s: Situation) -> Call | Say | None:
    """Retry the last call after a transient backend error, up to MAX_ATTEMPTS; None when there is nothing to retry."""
    if not s.steps:
        return None
    last = s.steps[-1]
    if not (isinstance(last.result, ToolError) and last.result.kind == "transient"):
        return None
    attempts = sum(1 for x in s.steps if x.name == last.name and x.args == last.args)
    if attempts < MAX_ATTEMPTS:
        return Call(last.name, last.args)
    if last.name == "list_swap_options":
        return None  # a failed lookup skips the swap offer; the other offers still stand
    return Say(replies()["backend_unavailable"], s.memory, f"{last.name} failed {attempts} times (transient errors)")


def order_lines(orders: tuple[OrderNote, ...] | list[OrderNote]) -> str:
    return "\n".join(
        f"- Order {o.order_id} ({o.status}): {', '.join(o.items)}, {o.total:.2f} {o.currency}" for o in orders
    )


def remember(s: Situation, **changes: Any) -> Memory:
    """The memory with `changes`, noting the customer's reason for cancelling the first time they give one."""
    reading = s.reading
    reason = s.memory.reason or (reading.text[:120] if reading.has("cancel") or reading.has("insist") else None)
    return replace(s.memory, reason=reason, **changes)


def finish_order(s: Situation, what: str) -> Memory:
    """The memory once the current order is settled: noted as done, nothing on the table."""
    return remember(s, stage="resolved", offers=(), pending=(), done=(*s.memory.done, (s.memory.order_id, what)))


def escalate(s: Situation, why: str) -> Call | Say:
    said = s.plan.handover_said
    if not s.called("escalate_to_human"):
        return Call("escalate_to_human", {"reason": f'The customer {why}: "{s.reading.text[:200]}"'})
    if isinstance(s.result("escalate_to_human"), ToolError):
        return Say(replies()["backend_unavailable"], s.memory, "escalate_to_human failed")
    memory = finish_order(s, "escalated") if s.memory.order else remember(s, stage="resolved")
    return Say(
        replies()["escalated"], memory, f"the customer {why}; the policy hands over at {said.where if said else '?'}"
    )


def cancel(s: Situation, why: str) -> Call | Say:
    order_id = s.memory.order_id
    if not s.called("cancel_order", order_id=order_id):
        reason = s.memory.reason or s.reading.text[:120]
        return Call("cancel_order", {"order_id": order_id, "reason": reason})
    result = s.result("cancel_order", order_id=order_id)
    if isinstance(result, ToolError):
        text = replies()["cancel_failed"].format(order_id=order_id, error=result.message)
        return Say(text, s.memory, "cancel_order failed")
    return Say(replies()["cancelled"].format(order_id=order_id), finish_order(s, "cancelled"), why)


def leave_as_is(s: Situation) -> Say:
    """The customer says goodbye: nothing is written, and the order stays as it is."""
    order_id = s.memory.order_id
    memory = remember(s, stage="idle", offers=(), pending=(), order=None)
    if not order_id:
        return Say(replies()["goodbye"], memory, "goodbye: nothing to do")
    return Say(replies()["left_as_is"].format(order_id=order_id), memory, "goodbye: no write without a decision")
