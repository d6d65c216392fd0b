"""An in-memory Magento 2 store that enforces the rules the real store would."""

from __future__ import annotations

import math
from datetime import UTC, datetime

from agent.errors import NotFound, RuleViolation
from agent.store.copies import CopiedOnFirstUse
from agent.store.customer_facts import customer_facts
from agent.store.domain import Coupon, Email, EmailKind, Order, Product, ShippingMethod, StatusHistory
from agent.store.faults import FaultInjector
from agent.store.fixtures import FixtureSet
from agent.store.ids import normalize_order_id
from agent.store.offer_rules import ANY_OFFER, OfferRules


def _require_finite(percent: float, what: str) -> None:
    if isinstance(percent, bool) or not isinstance(percent, int | float) or not math.isfinite(percent):
        raise RuleViolation(f"a {what} percentage must be a finite number, got {percent!r}")


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class MagentoStore:
    """One world's copy of the store: orders, catalogue, coupons and the emails Magento sends."""

    def __init__(
        self,
        fixtures: FixtureSet,
        max_discount_percent: float,
        faults: FaultInjector | None = None,
        max_coupon_percent: float = 100.0,
        allow_stacking: bool = False,
        offer_rules: OfferRules = ANY_OFFER,
    ) -> None:
        self.offer_rules = offer_rules
        self.fixtures = fixtures
        self.orders: CopiedOnFirstUse[Order] = CopiedOnFirstUse(fixtures.orders)
        self.customers = fixtures.customers
        self.products: CopiedOnFirstUse[Product] = CopiedOnFirstUse(fixtures.products)
        self.shipping_methods: dict[str, ShippingMethod] = dict(fixtures.shipping_methods)
        self.max_discount_percent = max_discount_percent
        self.max_coupon_percent = max_coupon_percent
        self.allow_stacking = allow_stacking
        self.grants: list[tuple[str, str]] = []  # (offer kind, order id or "coupon") granted in this conversation
        self.given: dict[str, float] = {}  # order id → value given away by the offers granted on it
        self.cancelled_here: list[str] = []
        self.coupons: list[Coupon] = []
        self.emails: list[Email] = []
        self.faults = faults or FaultInjector()
        self._applied_writes: set[tuple[str, ...]] = set()

    # -- reads -----------------------------------------------------------------------------------------
    def get_order(self, increment_id: str) -> Order:
        self.faults.check("GET /V1/orders")
        key = normalize_order_id(increment_id)
        if key not in self.orders:
            raise NotFound(f"order {key} does not exist")
        return self.orders[key]

    def list_orders(self, customer_id: int) -> list[Order]:
        self.faults.check("GET /V1/orders?customer_id")
        return self.orders.where(lambda o: o.customer_id == customer_id)

    def swap_options(self, increment_id: str, sku: str) -> list[Product]:
        """In-stock products in the same category at the same or a higher price than the ordered item."""
        order = self.get_order(increment_id)
        item = self._item(order, sku)
        current = self.products[item.sku]
        return self.products.where(
            lambda p: (
                p.sku != item.sku
                and p.in_stock
                and p.price >= item.price
                and bool(set(p.category_ids) & set(current.category_ids))
            )
        )

    # -- writes ----------------------------------------------------------------------------------------
    def cancel_order(self, increment_id: str, reason: str) -> Order:
        order = self.get_order(increment_id)
        key = ("cancel", order.increment_id)
        if self._seen(key):
            return order
        self._require_unshipped(order, "cancelled")
        kept = [kind for kind, where in self.grants if where in (order.increment_id, "coupon")]
        if kept:
            raise RuleViolation(
                f"order {order.increment_id} kept a retention offer ({kept[0]}) in this conversation; cancelling it "
                "now would keep the offer and lose the order: hand the case to a person to reverse the offer first"
            )
        order.status, order.state = "canceled", "canceled"
        self.cancelled_here.append(order.increment_id)
        self._history(order, f"Order canceled at the customer's request. Reason: {reason}")
        self._email(
            order,
            "order_canceled",
            f"Your order #{order.increment_id} has been canceled",
            f"We have canceled order #{order.increment_id}. Any payment will be refunded in full.",
        )
        self._applied_writes.add(key)
        return order

    def set_discount(self, increment_id: str, percent: float) -> Order:
        order = self.get_order(increment_id)
        key = ("discount", order.increment_id, f"{percent:g}")
        if self._seen(key):
            return order
        self._require_unshipped(order, "discounted")
        _require_finite(percent, "discount")
        self._require_no_other_grant(order.increment_id, "discount")
        if percent <= 0:
            raise RuleViolation(f"a discount must be a positive percentage, got {percent:g}%")
        if percent > self.max_discount_percent:
            raise RuleViolation(f"a {percent:g}% discount is above the policy's cap of {self.max_discount_percent:g}%")
        given = self._require_allowed("discount", order, percent, round(order.subtotal * percent / 100, 2))
        if order.discount_percent:
            raise RuleViolation(
                f"order {order.increment_id} already has a {order.discount_percent:g}% discount; "
                "only one discount can be applied to an order"
            )
        order.discount_percent = percent
        order.discount_amount = -round(order.subtotal * percent / 100, 2)
        order.discount_description = f"Retention discount {percent:g}%"
        self.grants.append(("discount", order.increment_id))
        self.given[order.increment_id] = given
        self._retotal(order)
        self._history(order, f"Retention discount of {percent:g}% applied.")
        self._email(
            order,
            "order_update",
            f"Your order #{order.increment_id} has been updated",
            f"A {percent:g}% discount was applied. New total: {order.grand_total:.2f} {order.order_currency_code}.",
        )
        self._applied_writes.add(key)
        return order

    def upgrade_shipping(self, increment_id: str) -> Order:
        order = self.get_order(increment_id)
        key = ("shipping", order.increment_id)
        if self._seen(key):
            return order
        self._require_unshipped(order, "upgraded")
        self._require_no_other_grant(order.increment_id, "shipping_upgrade")
        current = self.shipping_methods.get(order.shipping_method)
        if current is not None and current.expedited:
            raise RuleViolation(f"order {order.increment_id} already ships expedited")
        expedited = next((m for m in self.shipping_methods.values() if m.expedited), None)
        if expedited is None:
            raise RuleViolation(
                "the store has no expedited shipping method (check fixtures/magento/shipping_methods.json)"
            )
        cost = expedited.amount - (current.amount if current is not None else 0.0)  # what the store pays for it
        given = self._require_allowed("shipping_upgrade", order, None, round(max(cost, 0.0), 2))
        self.grants.append(("shipping_upgrade", order.increment_id))
        self.given[order.increment_id] = given
        order.shipping_method, order.shipping_description = expedited.code, expedited.description
        self._history(order, "Shipping upgraded to expedited at no charge.")
        self._email(
            order,
            "order_update",
            f"Your order #{order.increment_id} now ships expedited",
            f"Your order will now ship with {expedited.description}, free of charge.",
        )
        self._applied_writes.add(key)
        return order

    def swap_item(self, increment_id: str, sku: str, new_sku: str) -> Order:
        order = self.get_order(increment_id)
        key = ("swap", order.increment_id, sku, new_sku)
        if self._seen(key):
            return order
        self._require_unshipped(order, "changed")
        self._require_no_other_grant(order.increment_id, "swap")
        item = self._item(order, sku)
        new = self.products.get(new_sku)
        if new is None:
            raise NotFound(f"product {new_sku} does not exist in the catalogue")
        if new.sku not in {p.sku for p in self.swap_options(order.increment_id, sku)}:
            raise RuleViolation(
                f"{new_sku} is not a valid swap for {sku}: it must be in stock, in the same category and "
                f"priced at least {item.price:.2f}"
            )
        given = round((new.price - item.price) * item.qty_ordered, 2)  # the price difference the customer does not pay
        given = self._require_allowed("swap", order, None, given)
        new.extension_attributes.stock_item.qty -= item.qty_ordered
        new.extension_attributes.stock_item.is_in_stock = new.extension_attributes.stock_item.qty > 0
        old_name = item.name
        item.sku, item.name, item.product_id = new.sku, new.name, new.id
        self.grants.append(("swap", order.increment_id))
        self.given[order.increment_id] = given
        self._history(order, f"Swapped {old_name} for {new.name} at no extra cost.")
        self._email(
            order,
            "order_update",
            f"Your order #{order.increment_id} has been updated",
            f"We swapped {old_name} for {new.name} at no extra cost.",
        )
        self._applied_writes.add(key)
        return order

    def _require_allowed(
        self, kind: str, order: Order | None, percent: float | None, value: float = 0.0, customer_id: int | None = None
    ) -> float:
        """Refuse an offer the policy does not allow here (on this order, for this customer); its value counts with
        what the order was given already (stacked offers share one limit). Returns the order's value given once this
        offer is granted."""
        before = self.given.get(order.increment_id, 0.0) if order is not None else 0.0
        who = order.customer_id if order is not None else customer_id
        facts = customer_facts(self.fixtures, who) if who is not None and who in self.fixtures.customers else None
        refusal = self.offer_rules.refusal(kind, order, percent, round(before + value, 2), facts)
        if refusal is not None:
            raise RuleViolation(refusal)
        return round(before + value, 2)

    def create_coupon(self, customer_id: int, percent: float) -> Coupon:
        self.faults.check("POST /V1/coupons/generate")
        for coupon in self.coupons:
            if coupon.customer_id == customer_id and coupon.discount_percent == percent:
                return coupon
        _require_finite(percent, "coupon")
        if not 0 < percent <= self.max_coupon_percent:
            raise RuleViolation(
                f"a coupon must be more than 0% and at most the policy's {self.max_coupon_percent:g}%, got {percent:g}%"
            )
        self._require_allowed("future_coupon", None, percent, customer_id=customer_id)
        if self.coupons:
            raise RuleViolation(
                "this customer already got a retention coupon in this conversation; only one is allowed"
            )
        if self.cancelled_here:
            raise RuleViolation(f"order {self.cancelled_here[0]} was cancelled: a coupon is only for keeping an order")
        self._require_no_other_grant("coupon", "future_coupon")
        coupon = Coupon(
            code=f"KEEP{percent:g}-{customer_id:04d}-{len(self.coupons) + 1}",
            customer_id=customer_id,
            discount_percent=percent,
            rule_name=f"Retention: {percent:g}% off the next order",
        )
        self.coupons.append(coupon)
        self.grants.append(("future_coupon", "coupon"))
        customer = self.customers[customer_id]
        self.emails.append(
            Email(
                to=customer.email,
                subject=f"Your {percent:g}% coupon for your next order",
                increment_id="",
                kind="coupon",
                body=f"Use code {coupon.code} for {percent:g}% off your next order.",
            )
        )
        return coupon

    # -- helpers ---------------------------------------------------------------------------------------
    def _require_no_other_grant(self, where: str, kind: str) -> None:
        """One retention offer per conversation's order (a coupon counts for every order) unless stacking is allowed."""
        if self.allow_stacking:
            return
        other = next((k for k, w in self.grants if where == "coupon" or w in (where, "coupon")), None)
        if other is not None:
            raise RuleViolation(
                f"a retention offer ({other}) was already applied in this conversation; the policy allows one "
                f"retention offer, so {kind} is refused"
            )

    def _seen(self, key: tuple[str, ...]) -> bool:
        """True if this exact write already succeeded: repeats return the current state, not a second change."""
        self.faults.check(f"POST /V1/orders ({key[0]})")
        return key in self._applied_writes

    @staticmethod
    def _require_unshipped(order: Order, verb: str) -> None:
        if not order.is_cancellable:
            raise RuleViolation(f"order {order.increment_id} is {order.status} and can no longer be {verb}")

    @staticmethod
    def _item(order: Order, sku: str):
        for item in order.items:
            if item.sku == sku:
                return item
        raise NotFound(f"order {order.increment_id} has no item with SKU {sku}")

    def _retotal(self, order: Order) -> None:
        order.grand_total = round(order.subtotal + order.shipping_amount + order.discount_amount, 2)

    @staticmethod
    def _history(order: Order, comment: str) -> None:
        order.status_histories.append(StatusHistory(comment=comment, created_at=now_iso()))

    def _email(self, order: Order, kind: EmailKind, subject: str, body: str) -> None:
        self.emails.append(
            Email(to=order.customer_email, subject=subject, increment_id=order.increment_id, kind=kind, body=body)
        )
