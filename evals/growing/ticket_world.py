"""The world imported personas play in, built from the store's order export: the customers behind the imported
tickets (ids renumbered, names and emails replaced), all their orders as they stood before the conversation (an
order production cancelled or discounted is put back), the products on those orders, and the shipped fixtures' shipping
methods, customer groups and helpdesk setup. Nothing personal is copied: the lab never needs it."""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from agent.datafiles import DEFAULT_FIXTURES
from agent.store.domain import CANCELLABLE_STATUSES
from evals.growing.exports import ExportOrder

EXPRESS = re.compile(r"express|expedit|next[- ]day|overnight|priority|2[- ]day|urgent|schnell|rapide|r[aá]pido",
                     re.IGNORECASE)  # fmt: skip
COPIED = ("magento/shipping_methods.json", "magento/customer_groups.json", "gorgias/teams.json",
          "gorgias/ticket_template.json")  # fmt: skip


@dataclass
class ImportedWorld:
    customers: dict[str, int] = field(default_factory=dict)  # export customer key -> lab customer id
    orders: list[ExportOrder] = field(default_factory=list)
    kept_offer: dict[str, str | None] = field(default_factory=dict)  # order -> the offer production applied

    def customer_id(self, order: ExportOrder) -> int:
        key = customer_key(order)
        if key not in self.customers:
            self.customers[key] = len(self.customers) + 1
        return self.customers[key]

    def add(self, order: ExportOrder, everything: list[ExportOrder], kept: str | None) -> int:
        """Add the order's customer with all their orders; returns the lab customer id."""
        lab_id = self.customer_id(order)
        for other in everything:
            known = {o.increment_id for o in self.orders}
            if customer_key(other) == customer_key(order) and other.increment_id not in known:
                self.orders.append(other)
        self.kept_offer[order.increment_id] = kept
        return lab_id


def customer_key(order: ExportOrder) -> str:
    """Who the order belongs to: the email, else the customer id, else (a guest with neither) the order itself."""
    if order.customer_email:
        return order.customer_email.lower()
    return f"id:{order.customer_id}" if order.customer_id is not None else f"order:{order.increment_id}"


def write_world(world: ImportedWorld, folder: Path) -> None:
    magento = folder / "magento"
    magento.mkdir(parents=True, exist_ok=True)
    (folder / "gorgias").mkdir(parents=True, exist_ok=True)
    for name in COPIED:
        shutil.copyfile(DEFAULT_FIXTURES / name, folder / name)
    groups = {g["id"] for g in json.loads((DEFAULT_FIXTURES / "magento/customer_groups.json").read_text())["items"]}
    customers = [_customer(lab_id, world.orders, key, groups) for key, lab_id in world.customers.items()]
    orders = [_order(n, o, world) for n, o in enumerate(world.orders, start=1)]
    products = _products(world.orders)
    for name, items in (("customers", customers), ("orders", orders), ("products", products)):
        (magento / f"{name}.json").write_text(json.dumps({"items": items}, indent=2) + "\n", encoding="utf-8")


def _customer(lab_id: int, orders: list[ExportOrder], key: str, groups: set[int]) -> dict:
    """An anonymous customer: the group the export gives (when the shipped groups know it), and tenure counted from
    their first order in the export (the account's own date is not in an order export)."""
    mine = [o for o in orders if customer_key(o) == key]
    first = min((o.created_at for o in mine), default="2025-01-01 00:00:00")
    group = next((o.customer_group_id for o in mine if o.customer_group_id in groups), 1)
    return {"id": lab_id, "group_id": group, "email": f"customer{lab_id}@example.invalid", "firstname": "Customer",
            "lastname": str(lab_id), "created_at": first}  # fmt: skip


def _start_status(order: ExportOrder, in_ticket: bool) -> str:
    """The status before the conversation: the ticket's own order, cancelled in it, was still open (its history says
    how); the customer's other cancelled orders stay cancelled (they make a request a repeat)."""
    if order.status != "canceled" or not in_ticket:
        known = (*CANCELLABLE_STATUSES, "complete", "holded", "canceled")
        return order.status if order.status in known else "processing"
    earlier = [h.status for h in order.status_histories if h.status in CANCELLABLE_STATUSES]
    return earlier[-1] if earlier else "processing"


def _order(entity_id: int, order: ExportOrder, world: ImportedWorld) -> dict:
    lab_id = world.customers[customer_key(order)]
    kept = world.kept_offer.get(order.increment_id)
    express = bool(EXPRESS.search(order.shipping_description or "")) and kept != "shipping_upgrade"
    method = "expedited_expedited" if express else "standard_standard"
    subtotal = round(order.subtotal or sum(i.price * i.qty_ordered for i in order.items), 2)
    status = _start_status(order, order.increment_id in world.kept_offer)
    return {
        "entity_id": entity_id, "increment_id": order.increment_id, "customer_id": lab_id,
        "customer_email": f"customer{lab_id}@example.invalid", "customer_firstname": "Customer",
        "customer_lastname": str(lab_id), "state": "new" if status in CANCELLABLE_STATUSES else status,
        "status": status, "order_currency_code": order.order_currency_code, "created_at": order.created_at,
        "subtotal": subtotal, "discount_amount": 0.0, "discount_percent": 0.0,
        "shipping_amount": round(order.shipping_amount, 2), "shipping_method": method,
        "shipping_description": "Expedited Shipping" if express else "Standard Shipping",
        "grand_total": round(subtotal + order.shipping_amount, 2),
        "items": [{"item_id": n, "product_id": _product_id(i.sku, world.orders), "sku": i.sku, "name": i.name,
                   "qty_ordered": max(1, int(i.qty_ordered)), "price": round(i.price, 2),
                   "row_total": round(i.price * max(1, int(i.qty_ordered)), 2)}
                  for n, i in enumerate(order.items, start=1)],
    }  # fmt: skip


def _skus(orders: list[ExportOrder]) -> list[tuple[str, str, float]]:
    seen: dict[str, tuple[str, str, float]] = {}
    for order in orders:
        for item in order.items:
            seen.setdefault(item.sku, (item.sku, item.name, item.price))
    return list(seen.values())


def _product_id(sku: str, orders: list[ExportOrder]) -> int:
    return next(n for n, (s, _, _) in enumerate(_skus(orders), start=1) if s == sku)


def _products(orders: list[ExportOrder]) -> list[dict]:
    return [{"id": n, "sku": sku, "name": name, "price": round(price, 2), "type_id": "simple", "status": 1,
             "visibility": 4, "custom_attributes": [],
             "extension_attributes": {"stock_item": {"qty": 20, "is_in_stock": True}}}
            for n, (sku, name, price) in enumerate(_skus(orders), start=1)]  # fmt: skip
