"""`python -m evals import-tickets`: Gorgias tickets (and the Magento orders they mention) turned into persona
contracts, with the outcome production reached kept for comparison, and the world they play in. Personal data is
masked before anything is written (`agent.redact.redact_personal`); a summary says how many tickets became personas
and why the others were skipped."""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.redact import redact_personal
from evals.growing.exports import ExportOrder, Ticket, read_orders, read_tickets
from evals.growing.from_chat import persona_yaml_of
from evals.growing.saving import write_persona
from evals.growing.ticket_reading import TicketReading, read_ticket
from evals.growing.ticket_world import ImportedWorld, write_world
from evals.schema.persona import Concern, OfferTerms, Persona, ProductionOutcome, Voice

LANGUAGES = {"en": "English", "es": "Spanish", "de": "German", "fr": "French", "it": "Italian", "pt": "Portuguese"}
LINE_LIMIT = 600
PARTICLES = {"de", "la", "le", "del", "van", "von", "der", "den", "da", "di", "du", "des", "los", "las", "mac", "the"}


@dataclass
class ImportSummary:
    tickets: int = 0
    personas: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # ticket id -> why
    notes: dict[str, list[str]] = field(default_factory=dict)

    def reasons(self) -> Counter[str]:
        return Counter(re.sub(r"\d{3,}", "N", why) for why in self.skipped.values())

    def as_dict(self) -> dict[str, Any]:
        return {"tickets": self.tickets, "personas": self.personas, "skipped": self.skipped, "notes": self.notes,
                "skipped_by_reason": dict(self.reasons())}  # fmt: skip


def personal_values(tickets: list[Ticket], orders: list[ExportOrder]) -> dict[str, list[str]]:
    """Every name, email, phone, street, city, postcode and card ending the exports hold (ticket customers, senders,
    assignees, order customers, addresses), for masking: full names in any case, a single part of a name only when
    written with a capital (so "Will" is masked, "will" is not)."""
    kinds = ("name", "name_part", "email", "phone", "address", "card")
    known: dict[str, set[str]] = {kind: set() for kind in kinds}

    def person(*parts: str | None) -> None:
        full = " ".join(p.strip() for p in parts if p and p.strip())
        if " " in full:
            known["name"].add(full)
        words = {w for part in parts if part for w in re.split(r"[\s,]+", part.strip())}
        known["name_part"].update(w for w in words if len(w) >= 3 and w[:1].isupper() and w.lower() not in PARTICLES)

    people = [p for t in tickets for p in (t.customer, t.assignee_user, *[x for m in t.messages for x in
              (m.sender, m.receiver)]) if p is not None]  # fmt: skip
    for who in people:
        known["email"].add(who.email or "")
        person(who.name)
        person(who.firstname, who.lastname)
    for order in orders:
        known["email"].add(order.customer_email or "")
        person(order.customer_firstname, order.customer_lastname)
        known["card"].add(str(order.payment.get("cc_last4") or ""))
        for address in _addresses(order.model_dump()):
            person(address.get("firstname"), address.get("lastname"))
            known["phone"].add(str(address.get("telephone") or ""))
            known["email"].add(str(address.get("email") or ""))
            street = address.get("street") or []
            known["address"].update(str(line) for line in ([street] if isinstance(street, str) else street))
            known["address"].update(str(address.get(key) or "") for key in ("city", "postcode"))
    return {kind: sorted(v for v in values if v and len(v) >= 2) for kind, values in known.items()}


def _addresses(value: Any) -> list[dict]:
    """Every address-like mapping (with a street, a telephone or a postcode) anywhere in an order."""
    found = []
    if isinstance(value, dict):
        if {"street", "telephone", "postcode"} & value.keys():
            found.append(value)
        for inner in value.values():
            found += _addresses(inner)
    elif isinstance(value, list):
        for inner in value:
            found += _addresses(inner)
    return found


def import_tickets(tickets_path: Path, orders_path: Path | None, out: Path, force: bool = False) -> ImportSummary:
    tickets, broken = read_tickets(tickets_path)
    orders, broken_orders = read_orders(orders_path) if orders_path else ([], {})
    index = {o.increment_id: o for o in orders}
    known = personal_values(tickets, orders)
    keep = frozenset({*index, *(n.lstrip("0") for n in index)})
    summary, world, texts = ImportSummary(tickets=len(tickets) + len(broken)), ImportedWorld(), []
    summary.skipped.update({where: f"not readable: {why}" for where, why in broken.items()})
    summary.notes.update({where: [f"order not readable: {why}"] for where, why in broken_orders.items()})
    for ticket in tickets:
        reading = read_ticket(ticket, index)
        if reading.skipped is not None:
            summary.skipped[str(ticket.id)] = redact_personal(reading.skipped, known, keep) or ""
            continue
        assert reading.order is not None
        customer_id = world.add(reading.order, orders, reading.offer)
        persona = _persona(reading, customer_id, known, keep)
        texts.append((persona.id, persona_yaml_of(persona, _header(reading))))
        summary.personas.append(persona.id)
        if reading.notes:
            summary.notes[persona.id] = [redact_personal(n, known, keep) or "" for n in reading.notes]
    for persona_id, text in texts:
        write_persona(text, persona_id, out / "personas", force)
    if world.orders:
        write_world(world, out / "fixtures")
    (out / "import_summary.json").write_text(json.dumps(summary.as_dict(), indent=2) + "\n", encoding="utf-8")
    return summary


def _header(reading: TicketReading) -> str:
    return f"# Imported from helpdesk ticket {reading.ticket.id}; production: {reading.outcome}" + (
        f" ({reading.offer})" if reading.offer else ""
    )


def _mask(text: str, known: dict[str, list[str]], keep: frozenset[str]) -> str:
    return (redact_personal(text, known, keep) or "").strip()[:LINE_LIMIT]


def _with_placeholder(line: str, number: str) -> str:
    """The line with braces doubled (they are literal) and the order's number as {order}."""
    line = line.replace("{", "{{").replace("}", "}}")
    short = number.lstrip("0")
    return re.sub(rf"(?<!\d)(#\s?)?(0*{re.escape(short)})(?!\d)", "{order}", line)


def _persona(reading: TicketReading, customer_id: int, known: dict[str, list[str]], keep: frozenset[str]) -> Persona:
    order = reading.order
    assert order is not None
    first = _mask(reading.lines[0], known, keep)
    opening = _with_placeholder(first, order.increment_id)
    offers = {kind: OfferTerms(accept=0.0) for kind in reading.refused}
    if reading.offer:
        offers[reading.offer] = OfferTerms(accept=1.0)  # type: ignore[index]
    asked = [p for r in reading.readings if r.has("negotiate") for p in r.percents]
    concern = reading.first_with("concern")
    language = LANGUAGES.get((reading.ticket.language or "").lower()[:2])
    return Persona(
        id=f"ticket_{reading.ticket.id}",
        title=f"Ticket {reading.ticket.id}: " + _mask(reading.ticket.subject or first, known, keep)[:70],
        customer_id=customer_id,
        orders=[order.increment_id],
        mention_order="{order}" in opening,
        reason=first[:200],
        opening=[opening],
        offers=offers,  # type: ignore[arg-type]
        haggle_percent=max(asked) if asked else None,
        patience=max(1, sum(r.has("decline") for r in reading.readings)),
        concern=Concern(when_offered="any", lines=[_with_placeholder(_mask(concern, known, keep), order.increment_id)])
        if concern
        else None,
        asks_for_person=reading.first_with("human") is not None,
        max_turns=min(30, len(reading.lines) + 4),
        voice=Voice(language=language) if language else None,
        production=ProductionOutcome(outcome=reading.outcome, offer=reading.offer, ticket=str(reading.ticket.id)),  # type: ignore[arg-type]
    )
