"""What a policy's plan may ask about the customer behind an order: their Magento customer group, how long they had
been a customer (at their newest order), and how many of their orders the store already holds as cancelled (a first
request or a repeat). Read from the fixtures as the conversation starts, so what happens in it changes nothing."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from agent.store.fixtures import FixtureSet


class CustomerFacts(BaseModel):
    """The customer as a plan's conditions see them (also what `list_customer_orders` shows when a plan asks)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    group: str  # the customer group's code, e.g. "General", "VIP"
    days_as_customer: int  # from the account's creation to the customer's newest order (one figure per customer)
    earlier_cancellations: int  # the customer's orders cancelled before this conversation

    @property
    def repeat(self) -> bool:
        return self.earlier_cancellations > 0


def customer_facts(fixtures: FixtureSet, customer_id: int) -> CustomerFacts:
    """The facts of `customer_id`. Tenure is measured at their newest order, whichever order is discussed, so the
    agent (shown the facts once), the store, the oracle and the scorers all read the same figure."""
    customer = fixtures.customers[customer_id]
    own = fixtures.orders_of(customer_id)
    when = max((o.created_at for o in own), default=customer.created_at)
    return CustomerFacts(
        group=fixtures.groups[customer.group_id].code,
        days_as_customer=max(0, (_date(when) - _date(customer.created_at)).days),
        earlier_cancellations=sum(o.status == "canceled" for o in own),
    )


def _date(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).replace(tzinfo=None)
