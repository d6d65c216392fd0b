"""Read a conversation's outcome and economics from the world's end state, compared with the fixtures."""

from __future__ import annotations

from dataclasses import dataclass

from agent.store.domain import Order
from agent.store.fixtures import FixtureSet
from agent.store.world import WorldSnapshot
from agent.tools.kinds import OfferKind


@dataclass(frozen=True)
class Outcome:
    outcome: str  # retained | cancelled | escalated | unresolved
    offer: str | None
    evidence: str


def offer_changes(order: Order, fixtures: FixtureSet) -> dict[OfferKind, str]:
    """Which retention offers changed this order since the fixtures, with a word of evidence each."""
    before = fixtures.orders[order.increment_id]
    changes = {}
    if order.discount_percent > before.discount_percent:
        changes[OfferKind.DISCOUNT] = f"discount {before.discount_percent:g}% -> {order.discount_percent:g}%"
    if order.shipping_method != before.shipping_method:
        changes[OfferKind.SHIPPING_UPGRADE] = f"shipping {before.shipping_method} -> {order.shipping_method}"
    old_skus, new_skus = [i.sku for i in before.items], [i.sku for i in order.items]
    if old_skus != new_skus:
        changes[OfferKind.SWAP] = f"items {old_skus} -> {new_skus}"
    return changes


def read_outcome(state: WorldSnapshot, fixtures: FixtureSet) -> Outcome:
    """Cancelled beats retained beats escalated beats unresolved: the order's fate matters most."""
    cancelled = [
        o for o in state.orders if o.status == "canceled" and fixtures.orders[o.increment_id].status != "canceled"
    ]
    if cancelled:
        return Outcome("cancelled", None, f"order {cancelled[0].increment_id} status -> canceled")
    for order in state.orders:
        changes = offer_changes(order, fixtures)
        if changes:
            offer, evidence = next(iter(changes.items()))
            return Outcome("retained", offer.value, f"order {order.increment_id}: {evidence}")
    if state.coupons:
        coupon = state.coupons[0]
        return Outcome(
            "retained", OfferKind.FUTURE_COUPON.value, f"coupon {coupon.code} ({coupon.discount_percent:g}%)"
        )
    team = state.ticket.assignee_team
    if team:
        return Outcome("escalated", None, f"ticket assigned to {team['name']}")
    return Outcome("unresolved", None, "no order, coupon or ticket assignment changed")


def offer_cost(state: WorldSnapshot, fixtures: FixtureSet, target: str) -> float:
    """What the retention offers cost the store (coupons: assumed redeemed on an order like this one)."""
    cost = 0.0
    rates = {m.code: m.amount for m in fixtures.shipping_methods.values()}
    for order in state.orders:
        before = fixtures.orders[order.increment_id]
        cost += -order.discount_amount + before.discount_amount
        if order.shipping_method != before.shipping_method:
            cost += rates.get(order.shipping_method, 0.0) - rates.get(before.shipping_method, 0.0)
        for old, new in zip(before.items, order.items, strict=True):
            if old.sku != new.sku:
                cost += (fixtures.products[new.sku].price - old.price) * old.qty_ordered
    target_subtotal = fixtures.orders[target].subtotal if target in fixtures.orders else 0.0
    cost += sum(c.discount_percent / 100 * target_subtotal for c in state.coupons)
    return round(cost, 2)


def value_kept(state: WorldSnapshot, outcome: Outcome, target: str) -> float:
    if outcome.outcome != "retained":
        return 0.0
    order = state.order(target)
    return round(order.grand_total, 2) if order else 0.0
