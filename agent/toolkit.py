"""What the agent's tools do, as plain Python bound to one world and scoped to its customer.

Each function's docstring is its description for the model and its signature is the argument schema;
`agent.tools` wraps them as LangChain tools. This module does not import LangChain, so the linter and the
app can learn the tool names cheaply.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from agent.domain import Order
from agent.world import World

ToolKind = Literal["read", "write"]


@dataclass(frozen=True)
class ToolBody:
    func: Callable[..., Any]
    kind: ToolKind
    offer: str | None  # the retention offer this tool applies, if any

    @property
    def name(self) -> str:
        return self.func.__name__


def order_summary(order: Order) -> dict[str, Any]:
    return {
        "order_id": order.increment_id,
        "status": order.status,
        "created_at": order.created_at,
        "items": [{"sku": i.sku, "name": i.name, "qty": i.qty_ordered, "price": i.price} for i in order.items],
        "subtotal": order.subtotal,
        "discount_percent": order.discount_percent,
        "shipping": order.shipping_description,
        "grand_total": order.grand_total,
        "currency": order.order_currency_code,
    }


def tool_bodies(world: World) -> list[ToolBody]:
    """What each tool does, for one conversation: every tool acts only on `world` and only for its customer."""
    made: list[ToolBody] = []

    def register(kind: ToolKind, offer: str | None = None) -> Callable[[Callable[..., Any]], None]:
        def decorate(func: Callable[..., Any]) -> None:
            made.append(ToolBody(func, kind, offer))

        return decorate

    @register("read")
    def list_customer_orders() -> list[dict[str, Any]]:
        """List every order of the customer on this ticket, newest first, with status and totals."""
        return [order_summary(o) for o in sorted(world.own_orders(), key=lambda o: o.created_at, reverse=True)]

    @register("read")
    def get_order(order_id: str) -> dict[str, Any]:
        """Get one of the customer's orders: status, items, totals, discount and shipping method.

        Args:
            order_id: The order number, e.g. 000000101.
        """
        return order_summary(world.own_order(order_id))

    @register("write")
    def cancel_order(order_id: str, reason: str) -> str:
        """Cancel one of the customer's orders. Only pending or processing orders can be cancelled.

        Args:
            order_id: The order number to cancel.
            reason: Why the customer is cancelling, in a few words.
        """
        order = world.magento.cancel_order(world.own_order(order_id).increment_id, reason)
        return f"Order {order.increment_id} is now {order.status}. Magento emailed the cancellation confirmation."

    @register("write", offer="discount")
    def set_discount_to_order(order_id: str, percent: float) -> str:
        """Apply a one-time retention discount to an order the customer keeps, as a percentage of the subtotal.

        Args:
            order_id: The order number.
            percent: The discount, e.g. 10 for 10%. It cannot exceed the policy's cap.
        """
        order = world.magento.set_discount(world.own_order(order_id).increment_id, percent)
        return (
            f"Applied {order.discount_percent:g}% to order {order.increment_id}: discount "
            f"{-order.discount_amount:.2f}, new total {order.grand_total:.2f} {order.order_currency_code}. "
            "Magento emailed the customer."
        )

    @register("write", offer="shipping_upgrade")
    def upgrade_shipping(order_id: str) -> str:
        """Upgrade an unshipped order to expedited shipping, free of charge.

        Args:
            order_id: The order number.
        """
        order = world.magento.upgrade_shipping(world.own_order(order_id).increment_id)
        return f"Order {order.increment_id} now ships with {order.shipping_description}, at no charge."

    @register("read", offer="swap")
    def list_swap_options(order_id: str, sku: str) -> list[dict[str, Any]]:
        """List in-stock products that an item of the order can be swapped for at no extra cost.

        Args:
            order_id: The order number.
            sku: The SKU of the item the customer would swap.
        """
        products = world.magento.swap_options(world.own_order(order_id).increment_id, sku)
        return [{"sku": p.sku, "name": p.name, "price": p.price} for p in products]

    @register("write", offer="swap")
    def swap_order_item(order_id: str, sku: str, new_sku: str) -> str:
        """Swap an item of the order for another product of the same or higher price, at no extra cost.

        Args:
            order_id: The order number.
            sku: The SKU of the item to replace.
            new_sku: The SKU of the replacement, from list_swap_options.
        """
        order = world.magento.swap_item(world.own_order(order_id).increment_id, sku, new_sku)
        names = ", ".join(i.name for i in order.items)
        return f"Order {order.increment_id} now contains: {names}. The total is unchanged."

    @register("write", offer="future_coupon")
    def create_future_coupon(percent: float) -> str:
        """Create a coupon for the customer's next purchase, tied to this customer.

        Args:
            percent: The coupon's discount, e.g. 20 for 20% off the next order.
        """
        coupon = world.magento.create_coupon(world.customer.id, percent)
        return f"Coupon {coupon.code} gives {coupon.discount_percent:g}% off the next order for this customer."

    @register("write")
    def send_async_message(message: str) -> str:
        """Send the customer a follow-up message outside the live chat (it reaches them by email).

        Args:
            message: The text to send, e.g. a confirmation that their order was updated.
        """
        world.gorgias.send_async_message(message)
        return "Follow-up message sent to the customer."

    @register("write")
    def escalate_to_human(reason: str, team: str = "Retention specialists") -> str:
        """Hand the conversation to a human team when the customer has concerns or asks for a person.

        Args:
            reason: What the human needs to know, in one sentence.
            team: The Gorgias team to assign, by default Retention specialists.
        """
        ticket = world.gorgias.assign_team(team, reason)
        return f"Ticket {ticket.id} is assigned to {ticket.assignee_team['name']}; a person will follow up."  # type: ignore[index]

    @register("write")
    def tag_ticket(tags: list[str]) -> str:
        """Add tags to the helpdesk ticket, e.g. retained or canceled.

        Args:
            tags: The tag names to add.
        """
        return "Ticket tags: " + ", ".join(world.gorgias.add_tags(tags))

    return made
