"""The agent's tools as one class per world: each method's docstring is its description for the model and its
signature is the argument schema. `@tool_method` marks a method as a tool, read or write, and names the retention
offer it applies or looks up: that marking is the one table of offer kinds to tools.

Every tool acts only on its world and only for the world's customer. This module does not import LangChain, so the
linter and the app learn tool names and offer kinds cheaply (`ToolSpec`s are read from the class, not a world).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any, TypeVar

from pydantic import ValidationError, validate_call

from agent.errors import RuleViolation
from agent.store.customer_facts import customer_facts
from agent.store.domain import Order
from agent.store.trace import ToolKind
from agent.store.world import World
from agent.tools.kinds import OfferKind
from agent.tools.results import (
    CouponCreated,
    DiscountApplied,
    Escalated,
    ItemSwapped,
    MessageSent,
    OrderCancelled,
    OrderList,
    OrderSummary,
    ShippingUpgraded,
    SwapOption,
    SwapOptions,
    TicketTags,
)

F = TypeVar("F", bound=Callable[..., Any])
SPEC_ATTRIBUTE = "__retention_tool__"


@dataclass(frozen=True)
class ToolSpec:
    name: str
    kind: ToolKind
    offer: OfferKind | None  # the retention offer this tool applies (write) or looks up (read), if any

    @property
    def applies_offer(self) -> bool:
        return self.offer is not None and self.kind == "write"


def tool_method(kind: ToolKind, offer: OfferKind | None = None) -> Callable[[F], F]:
    """Mark a Toolkit method as a tool of this kind, applying (or looking up) `offer`."""

    def mark(func: F) -> F:
        checked = _arguments_checked(func)
        setattr(checked, SPEC_ATTRIBUTE, ToolSpec(func.__name__, kind, offer))
        return checked  # type: ignore[return-value]

    return mark


def _arguments_checked(func: Callable[..., Any]) -> Callable[..., Any]:
    """`func` with its arguments checked against its own annotations, strictly (True is not 1%, "10" is not 10),
    before its body runs: a wrong argument on any call path, a direct call included, is the same rule violation."""
    validated = validate_call(config={"strict": True, "arbitrary_types_allowed": True})(func)
    names = list(inspect.signature(func).parameters)  # a positional argument's error names its parameter

    @functools.wraps(func)
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return validated(*args, **kwargs)
        except ValidationError as exc:
            first = exc.errors()[0]
            loc = [names[part] if isinstance(part, int) and part < len(names) else part for part in first["loc"]]
            where = ".".join(str(part) for part in loc) or "arguments"
            raise RuleViolation(f"{func.__name__}: {where}: {first['msg']} (got {first.get('input')!r})") from None

    return call


class Toolkit:
    """The tools of one conversation, bound to its world."""

    def __init__(self, world: World) -> None:
        self.world = world

    def _summary(self, order: Order) -> OrderSummary:
        method = self.world.magento.shipping_methods.get(order.shipping_method)
        return OrderSummary.of(order, expedited=bool(method and method.expedited))

    @tool_method("read")
    def list_customer_orders(self) -> OrderList:
        """List every order of the customer on this ticket, newest first, with status and totals."""
        orders = sorted(self.world.own_orders(), key=lambda o: o.created_at, reverse=True)
        asks = self.world.magento.offer_rules.asks_about_customer
        facts = customer_facts(self.world.fixtures, self.world.customer.id) if asks else None
        return OrderList(orders=[self._summary(o) for o in orders], customer=facts)

    @tool_method("read")
    def get_order(self, order_id: str) -> OrderSummary:
        """Get one of the customer's orders: status, items, totals, discount and shipping method.

        Args:
            order_id: The order number, e.g. 000000101.
        """
        return self._summary(self.world.own_order(order_id))

    @tool_method("write")
    def cancel_order(self, order_id: str, reason: str) -> OrderCancelled:
        """Cancel one of the customer's orders. Only pending or processing orders can be cancelled.

        Args:
            order_id: The order number to cancel.
            reason: Why the customer is cancelling, in a few words.
        """
        order = self.world.magento.cancel_order(self.world.own_order(order_id).increment_id, reason)
        return OrderCancelled(order_id=order.increment_id, status=order.status)

    @tool_method("write", offer=OfferKind.DISCOUNT)
    def set_discount_to_order(self, order_id: str, percent: float) -> DiscountApplied:
        """Apply a one-time retention discount to an order the customer keeps, as a percentage of the subtotal.

        Args:
            order_id: The order number.
            percent: The discount, e.g. 10 for 10%. It cannot exceed the policy's cap.
        """
        order = self.world.magento.set_discount(self.world.own_order(order_id).increment_id, percent)
        return DiscountApplied(
            order_id=order.increment_id,
            percent=order.discount_percent,
            discount=-order.discount_amount,
            new_total=order.grand_total,
            currency=order.order_currency_code,
        )

    @tool_method("write", offer=OfferKind.SHIPPING_UPGRADE)
    def upgrade_shipping(self, order_id: str) -> ShippingUpgraded:
        """Upgrade an unshipped order to expedited shipping, free of charge.

        Args:
            order_id: The order number.
        """
        order = self.world.magento.upgrade_shipping(self.world.own_order(order_id).increment_id)
        return ShippingUpgraded(order_id=order.increment_id, shipping=order.shipping_description)

    @tool_method("read", offer=OfferKind.SWAP)
    def list_swap_options(self, order_id: str, sku: str) -> SwapOptions:
        """List in-stock products that an item of the order can be swapped for at no extra cost.

        Args:
            order_id: The order number.
            sku: The SKU of the item the customer would swap.
        """
        key = self.world.own_order(order_id).increment_id
        products = self.world.magento.swap_options(key, sku)
        return SwapOptions(order_id=key, sku=sku, options=[SwapOption.of(p) for p in products])

    @tool_method("write", offer=OfferKind.SWAP)
    def swap_order_item(self, order_id: str, sku: str, new_sku: str) -> ItemSwapped:
        """Swap an item of the order for another product of the same or higher price, at no extra cost.

        Args:
            order_id: The order number.
            sku: The SKU of the item to replace.
            new_sku: The SKU of the replacement, from list_swap_options.
        """
        key = self.world.own_order(order_id).increment_id
        old_item = next((i.name for i in self.world.magento.get_order(key).items if i.sku == sku), sku)
        order = self.world.magento.swap_item(key, sku, new_sku)
        new_item = self.world.magento.products[new_sku].name
        return ItemSwapped(order_id=key, old_item=old_item, new_item=new_item, items=[i.name for i in order.items])

    @tool_method("write", offer=OfferKind.FUTURE_COUPON)
    def create_future_coupon(self, percent: float) -> CouponCreated:
        """Create a coupon for the customer's next purchase, tied to this customer.

        Args:
            percent: The coupon's discount, e.g. 20 for 20% off the next order.
        """
        coupon = self.world.magento.create_coupon(self.world.customer.id, percent)
        return CouponCreated(code=coupon.code, percent=coupon.discount_percent)

    @tool_method("write")
    def send_async_message(self, message: str) -> MessageSent:
        """Send the customer a follow-up message outside the live chat (it reaches them by email).

        Args:
            message: The text to send, e.g. a confirmation that their order was updated.
        """
        self.world.gorgias.send_async_message(message)
        return MessageSent()

    @tool_method("write")
    def escalate_to_human(self, reason: str, team: str = "Retention specialists") -> Escalated:
        """Hand the conversation to a human team when the customer has concerns or asks for a person.

        Args:
            reason: What the human needs to know, in one sentence.
            team: The Gorgias team to assign, by default Retention specialists.
        """
        ticket = self.world.gorgias.assign_team(team, reason)
        assigned = ticket.assignee_team or {}
        return Escalated(ticket_id=ticket.id, team=str(assigned.get("name", team)), tags=[t.name for t in ticket.tags])

    @tool_method("write")
    def tag_ticket(self, tags: list[str]) -> TicketTags:
        """Add tags to the helpdesk ticket, e.g. retained or canceled.

        Args:
            tags: The tag names to add.
        """
        return TicketTags(tags=self.world.gorgias.add_tags(tags))


@cache
def tool_specs() -> tuple[ToolSpec, ...]:
    """Every tool of the Toolkit class, in declaration order (no world needed)."""
    found = (getattr(member, SPEC_ATTRIBUTE, None) for member in vars(Toolkit).values())
    return tuple(spec for spec in found if spec is not None)


def tool_names() -> frozenset[str]:
    return frozenset(spec.name for spec in tool_specs())


def spec_of(name: str) -> ToolSpec | None:
    return next((spec for spec in tool_specs() if spec.name == name), None)


def offer_tools() -> dict[str, OfferKind]:
    """Tool name -> the offer kind it applies or looks up."""
    return {spec.name: spec.offer for spec in tool_specs() if spec.offer is not None}


def apply_tool(kind: OfferKind | str) -> str:
    """The write tool that applies an offer kind."""
    return next(spec.name for spec in tool_specs() if spec.applies_offer and spec.offer == kind)
