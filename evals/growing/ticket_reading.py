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

NOT_WANTED = re.compile(  # "I don't want to cancel it", "no quiero cancelarlo", "je ne veux pas annuler"
    r"\b(don'?t|do not|doesn'?t|does not|won'?t|will not|not (want|trying) to|no (quiero|deseo|necesito)|"
    r"nicht|ne (veux|souhaite|voudrais) pas)\b[^.!?]{0,30}\b(cancel|cancelar|stornier|annuler)",
    re.IGNORECASE,
)
SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")
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
    refused_kinds: list[str] = field(default_factory=list)  # the offers the customer turned down
    notes: list[str] = field(default_factory=list)

    @property
    def refused(self) -> list[str]:
        return self.refused_kinds

    def first_with(self, intent: str) -> str | None:
        return next((line for line, r in zip(self.lines, self.readings, strict=True) if r.has(intent)), None)


def read_ticket(ticket: Ticket, orders: dict[str, ExportOrder]) -> TicketReading:
    lines = [w for m in ticket.messages if m.from_customer and (w := own_words(m.text))]
    rules = default_rules()
    reading = TicketReading(ticket, lines, [rules.read(line) for line in lines])
    if not lines:
        reading.skipped = "no message from the customer"
        return reading
    if not _requests(reading.lines):
        reading.skipped = "not a cancellation request (no sentence asks to cancel without an if or a not)"
        return reading
    reading.order, reading.skipped = _which_order(ticket, reading, orders)
    if reading.skipped is None:
        _production(reading, orders)
    return reading


def _requests(lines: list[str]) -> list[str]:
    """The sentences that ask to cancel: not conditional ("if it's not here by Friday I'll cancel") and not a wish to
    keep the order ("I don't want to cancel it")."""
    rules = default_rules()
    sentences = [part for line in lines for part in SENTENCE.split(line) if part.strip()]
    found = []
    for part in sentences:
        said = rules.read(part)
        asks = said.has("cancel") or said.has("insist")
        if asks and not said.has("conditional") and not said.has("keep") and not NOT_WANTED.search(part):
            found.append(part)
    return found


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
    asking = _requests([ticket.subject or "", *reading.lines])  # a subject "Cancel order 4512" asks too
    named = _numbers(" ".join([ticket.subject or "", *reading.lines]), orders)
    in_request = [n for n in _numbers(" ".join(asking), orders) if n in named]
    first = next((line for line in reading.lines if _requests([line])), "")
    unnamed = any(not _numbers(part, orders) for part in _requests([first]))  # "cancel the kettle one": which?
    if len(named) > 1 and (len(in_request) != 1 or unnamed):
        return None, f"names several orders ({', '.join(named)}) and not which one to cancel"
    mine = [o for o in orders.values() if _own(ticket, o)]
    if named and not in_request and len(mine) > 1:  # "where is #4511? ... cancel my other order": not that one
        return None, f"names order {named[0]}, but the request to cancel does not say which of {len(mine)} orders"
    number = in_request[0] if in_request else (named[0] if named else None)
    if number is not None:
        order = orders[number]
        if not _own(ticket, order):
            return None, f"names order {number}, which is not the ticket customer's"
        return order, None
    if not mine:
        return None, "names no order, and the export holds none of the customer's"
    return None, f"names no order (the customer has {len(mine)} in the export; taking one would be a guess)"


def _production(reading: TicketReading, orders: dict[str, ExportOrder]) -> None:
    """How production ended: the store's final state first, then what the customer accepted (and the agents did not
    take back), then what the agents said they did, then the ticket's team or tags."""
    claims, accepted, refused = _walk(reading)
    order = reading.order
    assert order is not None
    reading.refused_kinds = [k for k in refused if k not in accepted[-1:]]
    if order.status == "canceled":
        reading.outcome = "cancelled"
        reading.refused_kinds = list(dict.fromkeys([*refused, *accepted]))  # taken, then taken back
    elif accepted:
        reading.outcome, reading.offer = "retained", accepted[-1]
    elif kept := next((c for c in claims if c[0] == "retained"), None):
        reading.outcome, reading.offer = kept
    elif order.discount_amount < 0:
        reading.outcome, reading.offer = "retained", "discount"
    elif any(c[0] == "escalated" for c in claims) or _handed_over(reading.ticket):
        reading.outcome = "escalated"
    elif any(c[0] == "cancelled" for c in claims):
        reading.outcome = "cancelled"
        reading.notes.append("the agent said the order was cancelled, but the export shows it is not")


def _walk(reading: TicketReading) -> tuple[list[tuple[str, str | None]], list[str], list[str]]:
    """(what the agents claimed, the offers the customer accepted, those they refused), message by message: a reply
    is read against the offers on the table (a bare yes to a single offer takes it; a no refuses what is there)."""
    rules = default_rules()
    claims: list[tuple[str, str | None]] = []
    on_table: list[str] = []
    accepted: list[str] = []
    refused: list[str] = []
    for message in reading.ticket.messages:
        if message.from_agent and message.public and message.text:
            answer = read_with_rules(message.text)
            kinds = [m.kind.value for m in answer.offers]
            on_table = kinds or on_table
            reading.offered += [k for k in kinds if k not in reading.offered]
            claims += [CLAIMED[c.kind] for c in answer.claims if c.kind in CLAIMED]
        elif message.from_customer and (words := own_words(message.text)):
            said = rules.read(words)
            takes = [k for k in said.kinds("accept") if k in on_table]
            if not takes and said.has("accept") and not said.has("decline") and len(on_table) == 1:
                takes = on_table[:1]
            noes = [k for k in said.kinds("decline") if k in on_table]
            if not noes and not takes and (said.has("decline") or said.has("insist")):
                noes = list(on_table)
            accepted = [k for k in accepted if k not in noes] + [k for k in takes if k not in accepted]
            refused += [k for k in noes if k not in refused]
    return claims, accepted, refused


def _handed_over(ticket: Ticket) -> bool:
    team = ticket.assignee_team.name if ticket.assignee_team and ticket.assignee_team.name else ""
    return bool(HANDED_OVER.search(team) or any(HANDED_OVER.search(tag) for tag in ticket.tag_names))
