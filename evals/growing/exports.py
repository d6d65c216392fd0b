"""Helpdesk and store exports as their APIs return them: Gorgias tickets (`GET /api/tickets`, a list response
`{"data": [...], "meta": ...}` or a plain list, each ticket with its `messages` as `GET /api/tickets/{id}` gives them)
and Magento orders (`GET /V1/orders`: `{"items": [...]}`). Only the fields the import reads are typed; the rest of a
real export is ignored. A file that is not such an export is one clear line naming the file and the field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from agent.errors import InputFileError


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore")

    @model_validator(mode="before")
    @classmethod
    def _nulls_are_missing(cls, data: Any) -> Any:
        """A real export writes null for what it does not have: the field's default then applies."""
        return {k: v for k, v in data.items() if v is not None} if isinstance(data, dict) else data


class Person(_Lenient):
    id: int | None = None
    email: str | None = None
    name: str | None = None
    firstname: str | None = None
    lastname: str | None = None


class Named(_Lenient):
    name: str | None = None


class TicketMessage(_Lenient):
    id: int | None = None
    public: bool = True
    channel: str | None = None
    from_agent: bool = False
    sender: Person | None = None
    receiver: Person | None = None
    subject: str | None = None
    body_text: str | None = None
    stripped_text: str | None = None
    created_datetime: str | None = None

    @property
    def text(self) -> str:
        return (self.stripped_text or self.body_text or "").strip()

    @property
    def from_customer(self) -> bool:
        return not self.from_agent and self.public and self.channel != "internal-note"


class Ticket(_Lenient):
    id: int
    channel: str | None = None
    status: str | None = None
    subject: str | None = None
    language: str | None = None
    customer: Person | None = None
    assignee_user: Person | None = None
    assignee_team: Named | None = None
    tags: list[Named] = Field(default_factory=list)
    messages: list[TicketMessage] = Field(default_factory=list)
    created_datetime: str | None = None

    @property
    def tag_names(self) -> list[str]:
        return [t.name.lower() for t in self.tags if t.name]


class ExportItem(_Lenient):
    sku: str
    name: str
    price: float = 0.0
    qty_ordered: float = 1
    row_total: float | None = None
    product_id: int | None = None


class Address(_Lenient):
    firstname: str | None = None
    lastname: str | None = None
    street: list[str] = Field(default_factory=list)

    @field_validator("street", mode="before")
    @classmethod
    def _one_line_is_a_list(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    city: str | None = None
    postcode: str | None = None
    telephone: str | None = None
    email: str | None = None


class StatusEntry(_Lenient):
    comment: str | None = None
    status: str | None = None
    created_at: str | None = None


class ExportOrder(_Lenient):
    increment_id: str
    customer_id: int | None = None
    customer_group_id: int | None = None
    customer_email: str | None = None
    customer_firstname: str | None = None
    customer_lastname: str | None = None
    status: str
    created_at: str = "2025-01-01 00:00:00"
    order_currency_code: str = "USD"
    subtotal: float = 0.0
    discount_amount: float = 0.0
    discount_description: str | None = None
    shipping_amount: float = 0.0
    shipping_description: str | None = None
    grand_total: float = 0.0
    items: list[ExportItem] = Field(default_factory=list)
    billing_address: Address | None = None
    status_histories: list[StatusEntry] = Field(default_factory=list)
    payment: dict[str, Any] = Field(default_factory=dict)
    extension_attributes: dict[str, Any] = Field(default_factory=dict)


def _read_json(path: Path, what: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise InputFileError(path, "", "no such file", f"pass {what}") from exc
    except IsADirectoryError as exc:
        raise InputFileError(path, "", "is a folder", f"pass {what}") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputFileError(path, "", f"is not JSON ({exc})", f"pass {what}") from exc


def _records(path: Path, data: Any, key: str, what: str) -> list[Any]:
    if isinstance(data, list):
        return data
    if isinstance(data, dict) and isinstance(data.get(key), list):
        return data[key]
    raise InputFileError(path, key, "missing", f"pass {what}")


def _validate(model: type[BaseModel], records: list[Any], key: str) -> tuple[list[Any], dict[str, str]]:
    """(the records that read, {where: why} for those that do not): one broken record never stops the rest."""
    out, broken = [], {}
    for index, record in enumerate(records):
        try:
            out.append(model.model_validate(record))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = f"{key}[{index}]." + ".".join(str(p) for p in first["loc"])
            broken[where] = str(first["msg"])
    return out, broken


def read_tickets(path: Path) -> tuple[list[Ticket], dict[str, str]]:
    """The tickets that read, and {where: why} for those that do not (none readable: one clear error)."""
    what = 'tickets as Gorgias\'s GET /api/tickets returns them ({"data": [...]}) or a list of tickets'
    tickets, broken = _validate(Ticket, _records(path, _read_json(path, what), "data", what), "data")
    if broken and not tickets:
        where, why = next(iter(broken.items()))
        raise InputFileError(path, where, why, "export the tickets again from the API")
    return tickets, broken


def read_orders(path: Path) -> tuple[list[ExportOrder], dict[str, str]]:
    what = 'orders as Magento\'s GET /V1/orders returns them ({"items": [...]})'
    orders, broken = _validate(ExportOrder, _records(path, _read_json(path, what), "items", what), "items")
    if broken and not orders:
        where, why = next(iter(broken.items()))
        raise InputFileError(path, where, why, "export the orders again from the API")
    return orders, broken
