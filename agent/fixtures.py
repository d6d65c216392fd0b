"""Load and validate the store and helpdesk fixtures (`fixtures/magento/*.json`, `fixtures/gorgias/*.json`)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from agent.domain import Customer, GorgiasDirectory, Order, Product, ShippingMethod, Ticket
from agent.errors import InputFileError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_FIXTURES = PROJECT_ROOT / "fixtures"

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class FixtureSet:
    """Everything one world is copied from. Treat as read-only: worlds deep-copy what they change."""

    customers: dict[int, Customer]
    orders: dict[str, Order]
    products: dict[str, Product]
    shipping_methods: dict[str, ShippingMethod]
    ticket_template: Ticket
    directory: GorgiasDirectory

    def orders_of(self, customer_id: int) -> list[Order]:
        return [o for o in self.orders.values() if o.customer_id == customer_id]


def describe_validation_error(path: Path, error: ValidationError, prefix: str = "") -> InputFileError:
    """Turn the first pydantic error into a one-line `file: field: problem (fix)` error."""
    first = error.errors()[0]
    field = prefix + ".".join(str(part) for part in first["loc"])
    fixes = {"extra_forbidden": "remove this field", "missing": "add this field"}
    fix = fixes.get(first["type"], "fix the value")
    return InputFileError(path, field, first["msg"], fix)


def read_json(path: Path) -> object:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise InputFileError(path, "", "file not found", "restore it from git or point --fixtures elsewhere") from exc
    except json.JSONDecodeError as exc:
        raise InputFileError(path, f"line {exc.lineno}", exc.msg, "make it valid JSON") from exc


def read_yaml(path: Path, fix_missing: str = "restore it from git") -> dict:
    """A YAML file that holds a mapping. Raises InputFileError naming the file and the line, never a traceback."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise InputFileError(path, "", "file not found", fix_missing) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InputFileError(path, f"line {mark.line + 1 if mark else 1}", "is not valid YAML", "fix the YAML") from exc
    if not isinstance(data, dict):
        raise InputFileError(path, "", "must hold a YAML mapping (key: value lines)", "restore it from git")
    return data


def _validate(model: type[M], path: Path, data: object, prefix: str = "") -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise describe_validation_error(path, exc, prefix) from exc


def _load_items(model: type[M], path: Path) -> list[M]:
    data = read_json(path)
    if not isinstance(data, dict) or not isinstance(data.get("items"), list):
        raise InputFileError(path, "items", "missing", 'wrap the records as {"items": [...]} like the Magento REST API')
    return [_validate(model, path, item, f"items[{i}].") for i, item in enumerate(data["items"])]


def load_fixtures(root: Path = DEFAULT_FIXTURES) -> FixtureSet:
    """Read and validate every store and helpdesk fixture below `root`."""
    magento, gorgias = root / "magento", root / "gorgias"
    customers = {c.id: c for c in _load_items(Customer, magento / "customers.json")}
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
        orders=orders,
        products={p.sku: p for p in _load_items(Product, magento / "products.json")},
        shipping_methods={m.code: m for m in _load_items(ShippingMethod, magento / "shipping_methods.json")},
        ticket_template=_validate(
            Ticket, gorgias / "ticket_template.json", read_json(gorgias / "ticket_template.json")
        ),
        directory=_validate(GorgiasDirectory, gorgias / "teams.json", read_json(gorgias / "teams.json")),
    )


@lru_cache(maxsize=4)
def default_fixtures(root: str = str(DEFAULT_FIXTURES)) -> FixtureSet:
    """The fixtures, read once per process (worlds copy what they change)."""
    return load_fixtures(Path(root))
