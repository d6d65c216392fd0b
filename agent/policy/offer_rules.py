"""The store's questions answered from the policy's plan: only the offers the plan makes, on the orders it makes them
for, up to the percent it allows there (the tier's, when tiered). Given to every conversation's world."""

from __future__ import annotations

from dataclasses import dataclass

from agent.policy.plan import OfferPlan
from agent.store.customer_facts import CustomerFacts
from agent.store.domain import Order


@dataclass(frozen=True)
class PlanOfferRules:
    plan: OfferPlan  # the effective plan: exclusions applied
    max_value_percent: float | None = None  # limits.max_value_percent: one offer's value against the subtotal

    @property
    def asks_about_customer(self) -> bool:
        return self.plan.asks_about_customer

    def refusal(
        self,
        kind: str,
        order: Order | None,
        percent: float | None,
        value: float = 0.0,
        customer: CustomerFacts | None = None,
    ) -> str | None:
        """Conditions on the conversation (an offer made only after a refusal) are not the store's to know: the
        scorers check them."""
        option = self.plan.get(kind)
        label = kind.replace("_", " ")
        if option is None:
            return f"the policy makes no {label} offer"
        if order is not None and not option.applies_to(order.status, order.grand_total, customer):
            return f"the policy makes the {label} offer only {option.describe_conditions()}, not on this order"
        if order is None and not option.fits_customer(customer):
            return f"the policy makes the {label} offer only {option.describe_conditions()}, not for this customer"
        top = option.top_percent_for(order.grand_total) if order is not None else option.top_percent
        if percent is not None and top is not None and percent > top:
            where = "on this order" if order is not None else "for a coupon"
            return f"the policy allows at most {top:g}% {where} (asked {percent:g}%)"
        if order is not None and self.max_value_percent is not None:
            allowed = round(order.subtotal * self.max_value_percent / 100, 2)
            if value > allowed + 0.005:
                share = f"{self.max_value_percent:g}% of the order's {order.subtotal:.2f} subtotal ({allowed:.2f})"
                given = f"{value:.2f} {order.order_currency_code}"
                return f"this {label} gives away {given}, more than the policy's {share}"
        return None
