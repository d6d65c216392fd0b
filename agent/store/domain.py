"""Typed records for the mocked Magento 2 store and Gorgias helpdesk.

Field names follow the Magento 2 REST (`/V1/orders`, `/V1/customers`, `/V1/products`) and Gorgias REST
(`/api/tickets`) resources, so fixtures look like what those APIs return.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

OrderStatus = Literal["pending", "processing", "complete", "canceled", "holded"]
EmailKind = Literal["order_update", "order_canceled", "coupon"]
MessageChannel = Literal["chat", "email", "internal-note"]
CANCELLABLE_STATUSES: tuple[str, ...] = ("pending", "processing")
# what a policy's plan calls an order's state, as the Magento statuses it covers
STATUS_GROUPS: dict[str, tuple[str, ...]] = {
    "unshipped": CANCELLABLE_STATUSES,
    "shipped": ("complete",),
    "on_hold": ("holded",),
}


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class CustomerGroup(_Record):
    """A Magento customer group (`GET /V1/customerGroups/search`): the segment a policy's plan may name."""

    id: int
    code: str
    tax_class_id: int = 3
    tax_class_name: str = "Retail Customer"


class Customer(_Record):
    id: int = Field(description="Magento customer entity id")
    group_id: int = Field(default=1, description="its CustomerGroup's id")
    email: str
    firstname: str
    lastname: str
    created_at: str
    store_id: int = 1
    website_id: int = 1

    @property
    def full_name(self) -> str:
        return f"{self.firstname} {self.lastname}"


class StockItem(_Record):
    qty: int = Field(ge=0)
    is_in_stock: bool


class ProductExtension(_Record):
    stock_item: StockItem


class CustomAttribute(_Record):
    attribute_code: str
    value: Any


class Product(_Record):
    id: int
    sku: str
    name: str
    price: float = Field(ge=0)
    type_id: str = "simple"
    status: int = 1
    visibility: int = 4
    custom_attributes: list[CustomAttribute] = Field(default_factory=list)
    extension_attributes: ProductExtension

    @property
    def category_ids(self) -> list[str]:
        for attribute in self.custom_attributes:
            if attribute.attribute_code == "category_ids":
                return list(attribute.value)
        return []

    @property
    def in_stock(self) -> bool:
        stock = self.extension_attributes.stock_item
        return stock.is_in_stock and stock.qty > 0


class OrderItem(_Record):
    item_id: int
    product_id: int
    sku: str
    name: str
    qty_ordered: int = Field(ge=1)
    price: float = Field(ge=0)
    row_total: float = Field(ge=0)


class StatusHistory(_Record):
    comment: str
    created_at: str
    is_customer_notified: bool = True


class Order(_Record):
    entity_id: int
    increment_id: str = Field(description="The order number the customer sees, e.g. 000000101")
    customer_id: int
    customer_email: str
    customer_firstname: str
    customer_lastname: str
    state: str
    status: OrderStatus
    order_currency_code: str = "USD"
    created_at: str
    subtotal: float
    discount_amount: float = Field(le=0, description="Magento stores discounts as a negative amount")
    discount_description: str | None = None
    discount_percent: float = 0.0
    shipping_amount: float = Field(ge=0)
    shipping_method: str
    shipping_description: str
    grand_total: float
    items: list[OrderItem]
    status_histories: list[StatusHistory] = Field(default_factory=list)
    customer_note: str | None = Field(default=None, description="the note the customer left at checkout (free text)")

    @property
    def is_cancellable(self) -> bool:
        return self.status in CANCELLABLE_STATUSES


class Coupon(_Record):
    code: str
    customer_id: int
    discount_percent: float
    rule_name: str
    times_used: int = 0


class Email(_Record):
    """A transactional email that Magento would send (order update or cancellation)."""

    to: str
    subject: str
    increment_id: str
    kind: EmailKind
    body: str


class ShippingMethod(_Record):
    """A Magento shipping rate (`/V1/carts/mine/shipping-methods`)."""

    carrier_code: str
    method_code: str
    carrier_title: str
    method_title: str
    amount: float = Field(ge=0)
    expedited: bool

    @property
    def code(self) -> str:
        return f"{self.carrier_code}_{self.method_code}"

    @property
    def description(self) -> str:
        return f"{self.carrier_title} - {self.method_title}"


class GorgiasTag(_Record):
    name: str


class GorgiasMessage(_Record):
    id: int
    channel: MessageChannel = "chat"
    via: str = "chat"
    from_agent: bool
    public: bool = True
    body_text: str
    sender: dict[str, Any] = Field(default_factory=dict)
    created_datetime: str
    is_async: bool = Field(default=False, description="Sent with send_async_message (out of the live chat)")


class GorgiasTeam(_Record):
    id: int
    name: str
    description: str = ""


class Ticket(_Record):
    id: int
    channel: str = "chat"
    via: str = "chat"
    status: Literal["open", "closed"] = "open"
    subject: str
    priority: str = "normal"
    customer: dict[str, Any] | None = None
    assignee_user: dict[str, Any] | None = None
    assignee_team: dict[str, Any] | None = None
    tags: list[GorgiasTag] = Field(default_factory=list)
    messages: list[GorgiasMessage] = Field(default_factory=list)
    created_datetime: str


class GorgiasDirectory(_Record):
    teams: list[GorgiasTeam]
    agent_user: dict[str, Any]
