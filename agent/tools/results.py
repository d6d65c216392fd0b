"""What each tool returns, as typed results. The model sees `observation(result)`: its JSON, rendered here only.

The offline reference model and the app read these types back with `read_observation`; nobody parses free text.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from agent.store.customer_facts import CustomerFacts
from agent.store.domain import Order, Product

# response_metadata key under which the OpenAI client names streamed tool calls whose arguments were not complete JSON
UNPARSED_TOOL_CALLS = "unparsed_tool_calls"


class _Result(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ItemSummary(_Result):
    sku: str
    name: str
    qty: int
    price: float


class OrderSummary(_Result):
    type: Literal["order"] = "order"
    order_id: str
    status: str
    created_at: str
    items: list[ItemSummary]
    subtotal: float
    discount_percent: float
    shipping: str
    expedited: bool = Field(description="whether the order already ships expedited")
    grand_total: float
    currency: str
    customer_note: str | None = Field(
        default=None, exclude_if=lambda value: value is None, description="the customer's checkout note, when any"
    )

    @classmethod
    def of(cls, order: Order, expedited: bool) -> OrderSummary:
        return cls(
            order_id=order.increment_id,
            status=order.status,
            created_at=order.created_at,
            items=[ItemSummary(sku=i.sku, name=i.name, qty=i.qty_ordered, price=i.price) for i in order.items],
            subtotal=order.subtotal,
            discount_percent=order.discount_percent,
            shipping=order.shipping_description,
            expedited=expedited,
            grand_total=order.grand_total,
            currency=order.order_currency_code,
            customer_note=order.customer_note,
        )


class OrderList(_Result):
    type: Literal["orders"] = "orders"
    orders: list[OrderSummary]
    customer: CustomerFacts | None = Field(
        default=None,
        exclude_if=lambda value: value is None,
        description="the customer's group, tenure and earlier cancellations, shown when the policy's offers ask",
    )


class OrderCancelled(_Result):
    type: Literal["order_cancelled"] = "order_cancelled"
    order_id: str
    status: str
    note: str = "Magento emailed the cancellation confirmation."


class DiscountApplied(_Result):
    type: Literal["discount_applied"] = "discount_applied"
    order_id: str
    percent: float
    discount: float
    new_total: float
    currency: str
    note: str = "Magento emailed the customer."


class ShippingUpgraded(_Result):
    type: Literal["shipping_upgraded"] = "shipping_upgraded"
    order_id: str
    shipping: str
    note: str = "At no charge. Magento emailed the customer."


class SwapOption(_Result):
    sku: str
    name: str
    price: float

    @classmethod
    def of(cls, product: Product) -> SwapOption:
        return cls(sku=product.sku, name=product.name, price=product.price)


class SwapOptions(_Result):
    type: Literal["swap_options"] = "swap_options"
    order_id: str
    sku: str
    options: list[SwapOption]


class ItemSwapped(_Result):
    type: Literal["item_swapped"] = "item_swapped"
    order_id: str
    old_item: str
    new_item: str
    items: list[str]
    note: str = "The total is unchanged. Magento emailed the customer."


class CouponCreated(_Result):
    type: Literal["coupon_created"] = "coupon_created"
    code: str
    percent: float
    note: str = "Valid on the customer's next order."


class MessageSent(_Result):
    type: Literal["message_sent"] = "message_sent"
    note: str = "Follow-up message sent to the customer."


class Escalated(_Result):
    type: Literal["escalated"] = "escalated"
    ticket_id: int
    team: str
    tags: list[str]
    note: str = "A person will follow up."


class TicketTags(_Result):
    type: Literal["ticket_tags"] = "ticket_tags"
    tags: list[str]


class ToolError(_Result):
    """A failed call: `kind` says why (rule, scope, not_found, transient, invalid, interrupted)."""

    type: Literal["error"] = "error"
    kind: str
    message: str


ToolResult = Annotated[
    OrderSummary
    | OrderList
    | OrderCancelled
    | DiscountApplied
    | ShippingUpgraded
    | SwapOptions
    | ItemSwapped
    | CouponCreated
    | MessageSent
    | Escalated
    | TicketTags
    | ToolError,
    Field(discriminator="type"),
]
_RESULT = TypeAdapter(ToolResult)


def observation(result: _Result) -> str:
    """The text the model sees for a tool result: its JSON (the only place results become text)."""
    return result.model_dump_json()


def read_observation(text: str) -> ToolResult:
    """A tool result read back from its observation. Text that is not one (a framework's own error) is an error."""
    try:
        return _RESULT.validate_json(text)
    except ValidationError:
        return ToolError(kind="invalid", message=text)
