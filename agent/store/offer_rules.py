"""What the store asks before it applies a retention offer: whether the conversation's policy allows it on this
order. The store enforces its own rules anyway (unshipped orders, one grant, caps); these are the policy's."""

from __future__ import annotations

from typing import Protocol

from agent.store.customer_facts import CustomerFacts
from agent.store.domain import Order


class OfferRules(Protocol):
    @property
    def asks_about_customer(self) -> bool:
        """Whether the policy makes some offer only for some customers (the agent is then shown their facts)."""
        ...

    def refusal(
        self,
        kind: str,
        order: Order | None,
        percent: float | None,
        value: float = 0.0,
        customer: CustomerFacts | None = None,
    ) -> str | None:
        """Why the policy does not allow this offer (kind, on `order`, at `percent`, giving away `value` in the
        order's currency, for `customer`), or None when it does. A coupon has no order."""
        ...


class AnyOffer:
    """No policy: the store's own rules only (the default of a world built without a policy)."""

    asks_about_customer = False

    def refusal(
        self,
        kind: str,
        order: Order | None,
        percent: float | None,
        value: float = 0.0,
        customer: CustomerFacts | None = None,
    ) -> str | None:
        return None


ANY_OFFER = AnyOffer()
