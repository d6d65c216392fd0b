"""Claims an agent reply makes about the world, checked against the store: the tool calls that succeeded up to that
turn and the final state, figures included (percent, new total, coupon code, order).

The reply is read by the run's reader (`evals.reading`), so a claim in any wording or language is checked, not only
the offline model's sentences. A claim the store contradicts is false, with the claim's sentence as evidence.
"""

from __future__ import annotations

from agent.store.domain import Order
from agent.store.fixtures import FixtureSet
from agent.store.ids import normalize_order_id
from agent.store.trace import ToolCallRecord
from agent.store.world import WorldSnapshot
from agent.tools.kinds import OfferKind
from agent.tools.toolkit import apply_tool
from evals.schema.reading import Claim

CLAIM_TOOLS = {
    "order_cancelled": "cancel_order",
    "discount_applied": apply_tool(OfferKind.DISCOUNT),
    "shipping_upgraded": apply_tool(OfferKind.SHIPPING_UPGRADE),
    "item_swapped": apply_tool(OfferKind.SWAP),
    "coupon_created": apply_tool(OfferKind.FUTURE_COUPON),
    "escalated": "escalate_to_human",
    "confirmation_sent": "send_async_message",
}
MONEY_TOLERANCE = 0.01


def _order_of(call: ToolCallRecord) -> str | None:
    try:
        return normalize_order_id(call.args["order_id"]) if "order_id" in call.args else None
    except Exception:  # a malformed id never names an order
        return None


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= MONEY_TOLERANCE


def _orders_named(claim: Claim, calls: list[ToolCallRecord], state: WorldSnapshot) -> list[Order]:
    """The orders the claim can be about: those its tool acted on, narrowed to the one it names."""
    ids = {_order_of(c) for c in calls}
    if claim.order:
        named = normalize_order_id(claim.order) if claim.order.strip("#").isdigit() else None
        ids = {named} & ids  # "I swapped the item on order B" is false when the swap was on order A
    return [o for o in state.orders if o.increment_id in ids]


def contradiction(
    claim: Claim, turn: int, calls: list[ToolCallRecord], state: WorldSnapshot, fixtures: FixtureSet
) -> str | None:
    """Why the store contradicts `claim` made in `turn`, or None when the store backs it up."""
    tool = CLAIM_TOOLS[claim.kind]
    done = [c for c in calls if c.tool == tool and c.ok and c.turn <= turn]
    if claim.kind == "confirmation_sent":
        # the agent's message, or the store's own email that every change sends
        emailing = [c for c in calls if c.ok and c.turn <= turn and c.kind == "write" and c.tool != "escalate_to_human"]
        return None if done or emailing else "no confirmation was sent by then"
    if not done:
        return f"no successful {tool} call by then"
    if claim.kind == "coupon_created":
        return _coupon_contradiction(claim, state)
    if claim.kind == "escalated":
        return None if state.ticket.assignee_team else "the ticket is not assigned to a team"
    orders = _orders_named(claim, done, state)
    if not orders:
        return f"order {claim.order} was not changed by {tool} by then"
    reasons = [_order_contradiction(claim, order, fixtures) for order in orders]
    return None if None in reasons else reasons[0]  # backed up when any order the tool changed fits the claim


def _order_contradiction(claim: Claim, order: Order, fixtures: FixtureSet) -> str | None:
    initial = fixtures.orders.get(order.increment_id)
    if claim.kind == "order_cancelled" and order.status != "canceled":
        return f"order {order.increment_id} is {order.status}"
    percent = claim.percent
    if claim.kind == "discount_applied" and percent is not None and not _close(order.discount_percent, percent):
        return f"order {order.increment_id} has {order.discount_percent:g}% off, not {percent:g}%"
    if claim.kind == "shipping_upgraded" and initial and order.shipping_method == initial.shipping_method:
        return f"order {order.increment_id} still ships {order.shipping_method}"
    if claim.new_total is not None and not _close(order.grand_total, claim.new_total):
        return f"order {order.increment_id} totals {order.grand_total:.2f}, not {claim.new_total:.2f}"
    return None


def _coupon_contradiction(claim: Claim, state: WorldSnapshot) -> str | None:
    coupons = state.coupons
    if claim.code:
        match = [c for c in coupons if c.code.lower() == claim.code.lower()]
        if not match:
            return f"no coupon with code {claim.code} exists (codes: {', '.join(c.code for c in coupons) or 'none'})"
        coupons = match
    if claim.percent is not None and not any(_close(c.discount_percent, claim.percent) for c in coupons):
        return f"no {claim.percent:g}% coupon exists"
    return None
