"""One helpdesk ticket read as a cancellation request: which order, in the customer's own words, what the agent
offered and the customer took or refused, a worry, a request for a person, and how production ended. What cannot be
told is a reason to skip the ticket (never a guess): not a cancellation, no order, several orders, another
customer's order."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from agent.models.offline.intents import Reading, default_rules
from evals.growing.exports import ExportOrder, Ticket
from evals.growing.ticket_text import own_words
from evals.reading.rules import read_with_rules

NUMBER = re.compile(r"(?<![\d.,$€£%])(\d{3,9})(?![\d%]|[.,]\d)")
CLAIMED = {  # what the agent said it did -> (outcome, offer kind)
    "order_cancelled": ("cancelled", None),
    "discount_applied": ("retained", "discount"),
    "shipping_upgraded": ("retained", "shipping_upgrade"),
    "item_swapped": ("retained", "swap"),
    "coupon_created": ("retained", "future_coupon"),
    "escalated": ("escalated", None),
}
HANDED_OVER = re.compile(r"escalat|tier ?2|specialist|supervisor|manager|human|hand(ed)?[- ]?over|back ?office",
                         re.IGNORECASE)  # fmt: skip


@dataclass
class TicketReading:
    ticket: Ticket
    lines: list[str]  # the customer's messages, their own words only
    readings: list[Reading]
    order: ExportOrder | None = None
    skipped: str | None = None  # why no persona can be made
    outcome: str = "unresolved"
    offer: str | None = None  # the offer production's customer kept
    offered: list[str] = field(default_factory=list)  # the offer kinds the agents made, in order
    notes: list[str] = field(default_factory=list)

    @property
    def refused(self) -> list[str]:
        return [kind for kind in self.offered if kind != self.offer]

    def first_with(self, intent: str) -> str | None:
        return next((line for line, r in zip(self.lines, self.readings, strict=True) if r.has(intent)), None)


def read_ticket(ticket: Ticket, orders: dict[str, ExportOrder]) -> TicketReading:
    lines = [w for m in ticket.messages if m.from_customer and (w := own_words(m.text))]
    rules = default_rules()
    reading = TicketReading(ticket, lines, [rules.read(line) for line in lines])
    if not lines:
        reading.skipped = "no message from the customer"
        return reading
    if not any(r.has("cancel") or r.has("insist") for r in reading.readings):
        reading.skipped = "not a cancellation request"
        return reading
    reading.order, reading.skipped = _which_order(ticket, reading, orders)
    if reading.skipped is None:
        _production(reading, orders)
    return reading


def _own(ticket: Ticket, order: ExportOrder) -> bool:
    email = ticket.customer.email.lower() if ticket.customer and ticket.customer.email else None
    return bool(email and order.customer_email and order.customer_email.lower() == email)


def _numbers(text: str, orders: dict[str, ExportOrder]) -> list[str]:
    """The order numbers a text names that the export holds ("#4512", "4512" and "000004512" alike)."""
    found = []
    for match in NUMBER.finditer(text):
        digits = match.group(1)
        for candidate in (digits, digits.zfill(9)):
            if candidate in orders and candidate not in found:
                found.append(candidate)
    return found


def _which_order(
    ticket: Ticket, reading: TicketReading, orders: dict[str, ExportOrder]
) -> tuple[ExportOrder | None, str | None]:
    asking = [
        line for line, r in zip(reading.lines, reading.readings, strict=True) if r.has("cancel") or r.has("insist")
    ]
    named = _numbers(" ".join([ticket.subject or "", *reading.lines]), orders)
    in_request = [n for n in _numbers(" ".join(asking), orders) if n in named]
    if len(named) > 1 and len(in_request) != 1:
        return None, f"names several orders ({', '.join(named)}) and not which one to cancel"
    number = in_request[0] if in_request else (named[0] if named else None)
    if number is not None:
        order = orders[number]
        if not _own(ticket, order):
            return None, f"names order {number}, which is not the ticket customer's"
        return order, None
    mine = [o for o in orders.values() if _own(ticket, o)]
    if len(mine) == 1:
        reading.notes.append(f"the customer names no order; {mine[0].increment_id} is their only one in the export")
        return mine[0], None
    if not mine:
        return None, "names no order, and the export holds none of the customer's"
    return None, f"names no order, and the customer has {len(mine)} in the export"


def _production(reading: TicketReading, orders: dict[str, ExportOrder]) -> None:
    """How production ended: the store's final state first, then what the agents said they did, then the ticket."""
    said = [read_with_rules(m.text) for m in reading.ticket.messages if m.from_agent and m.public and m.text]
    for answer in said:
        for mention in answer.offers:
            if mention.kind.value not in reading.offered:
                reading.offered.append(mention.kind.value)
    claims = [CLAIMED[c.kind] for answer in said for c in answer.claims if c.kind in CLAIMED]
    order = reading.order
    assert order is not None
    if order.status == "canceled":
        reading.outcome = "cancelled"
    elif kept := next((c for c in claims if c[0] == "retained"), None):
        reading.outcome, reading.offer = kept
    elif order.discount_amount < 0:
        reading.outcome, reading.offer = "retained", "discount"
    elif any(c[0] == "escalated" for c in claims) or _handed_over(reading.ticket):
        reading.outcome = "escalated"
    elif any(c[0] == "cancelled" for c in claims):
        reading.outcome = "cancelled"
        reading.notes.append("the agent said the order was cancelled, but the export shows it is not")


def _handed_over(ticket: Ticket) -> bool:
    team = ticket.assignee_team.name if ticket.assignee_team and ticket.assignee_team.name else ""
    return bool(HANDED_OVER.search(team) or any(HANDED_OVER.search(tag) for tag in ticket.tag_names))
