"""A world: one conversation's private copy of the store and the helpdesk, plus the trace of tool calls."""

from __future__ import annotations

import time

from pydantic import BaseModel, Field

from agent.errors import OutOfScope
from agent.store.domain import Coupon, Customer, Email, Order, Ticket
from agent.store.faults import FaultInjector
from agent.store.fixtures import FixtureSet
from agent.store.gorgias import GorgiasHelpdesk
from agent.store.ids import normalize_order_id
from agent.store.magento import MagentoStore
from agent.store.offer_rules import ANY_OFFER, OfferRules
from agent.store.retry import SIMULATED_BACKEND_RETRY, BackendRetry
from agent.store.trace import ToolCallRecord


class WorldSnapshot(BaseModel):
    """The customer's slice of the world at one moment: what the scorers and the app read."""

    customer: Customer
    orders: list[Order]
    coupons: list[Coupon]
    emails: list[Email]
    ticket: Ticket
    foreign_orders_changed: list[str] = Field(
        default_factory=list, description="orders of other customers that differ from the fixtures (must be empty)"
    )

    def order(self, order_id: str) -> Order | None:
        return next((o for o in self.orders if o.increment_id == order_id), None)


BOOKKEEPING_TOOLS = ("send_async_message", "tag_ticket", "escalate_to_human")  # writes that settle no order


class World:
    """The store, the helpdesk and the trace for one customer's conversation."""

    def __init__(
        self,
        fixtures: FixtureSet,
        customer_id: int,
        max_discount_percent: float,
        fault_rate: float = 0.0,
        seed: int = 0,
        max_coupon_percent: float = 100.0,
        allow_stacking: bool = False,
        backend_retry: BackendRetry = SIMULATED_BACKEND_RETRY,
        offer_rules: OfferRules = ANY_OFFER,
    ) -> None:
        if customer_id not in fixtures.customers:
            known = ", ".join(str(c) for c in sorted(fixtures.customers))
            raise KeyError(f"no customer {customer_id} in the fixtures; known customer ids: {known}")
        self.fixtures = fixtures
        self.customer: Customer = fixtures.customers[customer_id]
        self.faults = FaultInjector(fault_rate, seed)
        self.backend_retry = backend_retry
        self.magento = MagentoStore(
            fixtures, max_discount_percent, self.faults, max_coupon_percent, allow_stacking, offer_rules
        )
        ticket = fixtures.ticket_template.model_copy(deep=True)
        ticket.customer = {"id": self.customer.id, "email": self.customer.email, "name": self.customer.full_name}
        ticket.subject = f"Chat with {self.customer.full_name}"
        self.gorgias = GorgiasHelpdesk(ticket, fixtures.directory, self.faults)
        self.trace: list[ToolCallRecord] = []
        self.turn = 0
        self.created = time.perf_counter()

    def own_order(self, order_id: str | int) -> Order:
        """The order, if it belongs to this conversation's customer; OutOfScope otherwise."""
        key = normalize_order_id(order_id)
        order = self.magento.orders.get(key)
        if order is None or order.customer_id != self.customer.id:
            raise OutOfScope(
                f"order {key} is not one of {self.customer.full_name}'s orders; "
                "only the customer's own orders can be looked up or changed"
            )
        return self.magento.get_order(key)

    def own_orders(self) -> list[Order]:
        return self.magento.list_orders(self.customer.id)

    def snapshot(self) -> WorldSnapshot:
        """The customer's slice of the world, as a deep copy (later changes do not reach it)."""
        return WorldSnapshot(
            customer=self.customer,
            orders=self.magento.orders.where(lambda o: o.customer_id == self.customer.id),
            coupons=self.magento.coupons,
            emails=self.magento.emails,
            ticket=self.gorgias.ticket,
            foreign_orders_changed=self.foreign_orders_changed(),
        ).model_copy(deep=True)

    def settle_ticket(self) -> None:
        """Set the ticket's status from what the conversation did (called after each of the agent's replies)."""
        resolved = any(c.ok and c.kind == "write" and c.tool not in BOOKKEEPING_TOOLS for c in self.trace)
        self.gorgias.settle(resolved)

    def foreign_orders_changed(self) -> list[str]:
        """Orders of other customers whose state differs from the fixtures (must always be empty)."""
        return [
            k
            for k, o in self.magento.orders.copied().items()
            if o.customer_id != self.customer.id and o != self.fixtures.orders[k]
        ]
