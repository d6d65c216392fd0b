"""Load and validate the store and helpdesk fixtures (`fixtures/magento/*.json`, `fixtures/gorgias/*.json`)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from agent.datafiles import DEFAULT_FIXTURES, M, read_json, validate
from agent.errors import InputFileError
from agent.store.domain import Customer, CustomerGroup, GorgiasDirectory, Order, Product, ShippingMethod, Ticket


@dataclass(frozen=True)
class FixtureSet:
    """Everything one world is copied from. Treat as read-only: worlds deep-copy what they change."""

    customers: dict[int, Customer]
    groups: dict[int, CustomerGroup]
    orders: dict[str, Order]
    products: dict[str, Product]
    shipping_methods: dict[str, ShippingMethod]
    ticket_template: Ticket
    directory: GorgiasDirectory

    def orders_of(self, customer_id: int) -> list[Order]:
        return [o for o in self.orders.values() if o.customer_id == customer_id]


def _load_items(model: type[M], path: Path) -> list[M]:
    data = read_json(path)
    if not isinstance(data, dict) or not isinstance(data.get("items"), list):
        raise InputFileError(path, "items", "missing", 'wrap the records as {"items": [...]} like the Magento REST API')
    return [validate(model, path, item, f"items[{i}].") for i, item in enumerate(data["items"])]


def load_fixtures(root: Path = DEFAULT_FIXTURES) -> FixtureSet:
    """Read and validate every store and helpdesk fixture below `root`."""
    magento, gorgias = root / "magento", root / "gorgias"
    groups = {g.id: g for g in _load_items(CustomerGroup, magento / "customer_groups.json")}
    customers = {c.id: c for c in _load_items(Customer, magento / "customers.json")}
    for customer in customers.values():
        if customer.group_id not in groups:
            known = ", ".join(f"{g.id} ({g.code})" for g in groups.values())
            raise InputFileError(
                magento / "customers.json",
                f"{customer.id}.group_id",
                f"no customer group {customer.group_id}",
                f"use one of {known}, or add it to customer_groups.json",
            )
    orders = {o.increment_id: o for o in _load_items(Order, magento / "orders.json")}
    for order in orders.values():
        if order.customer_id not in customers:
            raise InputFileError(
                magento / "orders.json",
                f"{order.increment_id}.customer_id",
                f"no customer {order.customer_id}",
                "add the customer or fix the id",
            )
    return FixtureSet(
        customers=customers,
        groups=groups,
        orders=orders,
        products={p.sku: p for p in _load_items(Product, magento / "products.json")},
        shipping_methods={m.code: m for m in _load_items(ShippingMethod, magento / "shipping_methods.json")},
        ticket_template=validate(Ticket, gorgias / "ticket_template.json", read_json(gorgias / "ticket_template.json")),
        directory=validate(GorgiasDirectory, gorgias / "teams.json", read_json(gorgias / "teams.json")),
    )


@lru_cache(maxsize=4)
def default_fixtures(root: str = str(DEFAULT_FIXTURES)) -> FixtureSet:
    """The fixtures, read once per process (worlds copy what they change)."""
    return load_fixtures(Path(root))
