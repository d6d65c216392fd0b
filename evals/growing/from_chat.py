"""A chat turned into a test customer: the persona contract a conversation implies (who the customer is, which order
and why, their opening line, which offers they took or refused and on what terms, a concern, a request for a person),
with the outcome this policy reached pinned as its expectation. What the chat cannot tell is said in the notes, and
the contract is checked against the oracle before anyone saves it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from agent.conversation import ConversationExport
from agent.models.offline.intents import default_rules
from agent.store.fixtures import FixtureSet, default_fixtures
from agent.store.ids import normalize_order_id
from agent.tools.kinds import OfferKind
from agent.tools.toolkit import spec_of
from evals.reading.rules import read_with_rules
from evals.schema.persona import Concern, OfferTerms, Persona, PinnedExpectation
from evals.scoring.outcome import read_outcome

ORDER_NUMBER = re.compile(r"(?<![\d.%$])#?\s?(\d{3,9})(?![\d%]|[.,]\d)")
SLUG = re.compile(r"[^a-z0-9]+")
BRACES = re.compile(r"[{}]")
PLACEHOLDER = re.compile(r"(?<!\{)\{(?:order|target)\}(?!\})")  # a placeholder, not a doubled literal brace


@dataclass
class SavedChat:
    persona: Persona
    notes: list[str] = field(default_factory=list)  # what the chat could not tell, for the reviewer


def persona_from_chat(
    export: ConversationExport, persona_id: str | None = None, fixtures: FixtureSet | None = None
) -> SavedChat:
    fixtures = fixtures or default_fixtures()
    said = [line.content for line in export.transcript if line.role == "customer"]
    if not said:
        raise ValueError("the conversation has no customer message")
    if failed := next((t.error for t in export.turns if t.error), None):
        raise ValueError(f"a turn ended in an error ({failed[:80]}), so the chat did not reach an outcome")
    notes: list[str] = []
    order = _main_order(export, said, fixtures)
    changed = {normalize_order_id(str(c.args["order_id"])) for c in _order_writes(export)}
    if len(changed) > 1:  # a persona is about one order: its outcome, offers and percent would mix two
        raise ValueError(f"the chat changed {len(changed)} orders ({', '.join(sorted(changed))})")
    own = order in {o.increment_id for o in fixtures.orders_of(export.customer_id)}
    outcome = read_outcome(export.final_state, fixtures)
    readings = [default_rules().read(text) for text in said]
    offers, haggle = _offer_terms(export, readings, outcome.offer)
    refusals = sum(r.has("decline") for r in readings)
    concern = next((text for text, r in zip(said, readings, strict=True) if r.has("concern")), None)
    if concern and BRACES.search(concern):  # a concern line is sent as written, and braces would read as placeholders
        concern = BRACES.sub(lambda m: "(" if m.group(0) == "{" else ")", concern)
        notes.append("the concern line had braces; they are written as parentheses")
    opening = _placeholder(said[0], order, "order" if own else "target")
    asked = next((text for text, r in zip(said, readings, strict=True) if r.has("human")), None)
    if asked and asked != said[0]:  # a persona asks for a person in its first message, or not at all
        opening = f"{opening.rstrip()} {asked.replace('{', '{{').replace('}', '}}')}"
    if not PLACEHOLDER.search(opening):
        notes.append("the first message does not name the order by number: the persona will not either")
    persona = Persona(
        id=persona_id or _slug(export, said[0]),
        title=f"Saved from a chat: {said[0][:80]}",
        customer_id=export.customer_id,
        orders=[order if own else _own_order(export, fixtures, notes)],
        target_order=None if own else order,
        mention_order=bool(PLACEHOLDER.search(opening)),
        reason=said[0][:200],
        opening=[opening],
        offers=offers,
        haggle_percent=haggle,
        patience=max(1, refusals - (1 if any(r.has("insist") for r in readings) else 0)),
        concern=Concern(when_offered="any", lines=[concern]) if concern else None,
        asks_for_person=_asks_for_person(readings, notes),
        max_turns=min(30, len(said) + 3),
        pinned=[
            PinnedExpectation(
                policy=Path(export.policy.path).stem,
                outcome=outcome.outcome,  # type: ignore[arg-type]
                offer=OfferKind(outcome.offer) if outcome.offer else None,
            )
        ],  # fmt: skip
    )
    return SavedChat(persona, notes)


def _asks_for_person(readings: list, notes: list[str]) -> bool:
    turn = next((n for n, r in enumerate(readings, start=1) if r.has("human")), None)
    if turn is not None and turn > 1:
        notes.append(f"the customer asked for a person in message {turn}; a persona can only ask in its first "
                     "message, so its opening line carries that request")  # fmt: skip
    return turn is not None


def _main_order(export: ConversationExport, said: list[str], fixtures: FixtureSet) -> str:
    """The order the conversation was about: the one a write changed, else the first the agent looked up, else the
    first the customer named."""
    for call in _order_writes(export):
        return normalize_order_id(str(call.args["order_id"]))
    for call in export.trace:  # a lookup that found the order (a refused one is still an order the customer named)
        if "order_id" in call.args and (call.ok or call.error_kind == "scope"):
            return normalize_order_id(str(call.args["order_id"]))
    for text in said:
        for number in ORDER_NUMBER.findall(text):
            if (found := number.zfill(9)) in fixtures.orders:
                return found
    raise ValueError("no order was named or looked up in the conversation")


def _order_writes(export: ConversationExport) -> list:
    return [c for c in export.trace if c.kind == "write" and c.ok and "order_id" in c.args]


def _own_order(export: ConversationExport, fixtures: FixtureSet, notes: list[str]) -> str:
    own = fixtures.orders_of(export.customer_id)
    if not own:
        raise ValueError(f"customer {export.customer_id} has no orders in the fixtures")
    notes.append(f"the customer asked about someone else's order; their own first order ({own[0].increment_id}) "
                 "is listed as theirs")  # fmt: skip
    return own[0].increment_id


def _offer_terms(
    export: ConversationExport, readings: list, retained: str | None
) -> tuple[dict[OfferKind, OfferTerms], float | None]:
    """Each offer the agent made: accepted (the one that kept the order, at the percent applied) or refused; and the
    highest percent the customer asked for, when they haggled."""
    made = dict.fromkeys(o.kind for turn in export.turns for o in read_with_rules(turn.reply).offers)
    applied = _applied_percent(export)
    asked = [p for r in readings if r.has("negotiate") for p in r.percents]
    haggle = max(asked) if asked else None
    terms = {}
    for kind in made:
        if retained and kind.value == retained:
            least = applied if kind == OfferKind.DISCOUNT and haggle else None
            terms[kind] = OfferTerms(accept=1.0, min_percent=least)
        else:
            terms[kind] = OfferTerms(accept=0.0)
    return terms, haggle


def _applied_percent(export: ConversationExport) -> float | None:
    for call in export.trace:
        spec = spec_of(call.tool)
        if call.ok and spec is not None and spec.offer == OfferKind.DISCOUNT and "percent" in call.args:
            return float(call.args["percent"])
    return None


def _placeholder(text: str, order: str, name: str) -> str:
    """The message with the order's number written as a placeholder the simulator fills in; any other brace is
    doubled so the text is kept as written."""
    escaped = text.replace("{", "{{").replace("}", "}}")
    short = order.lstrip("0")
    for written in (order, f"#{short}", short):
        pattern = re.compile(rf"(?<!\d){re.escape(written)}(?!\d)")
        if pattern.search(escaped):
            return pattern.sub(f"{{{name}}}", escaped, count=1)
    return escaped


def _slug(export: ConversationExport, first: str) -> str:
    words = "_".join(SLUG.sub(" ", first.lower()).split()[:5]) or "customer"
    return f"chat_{export.customer_id}_{words}"


def oracle_disagrees(saved: SavedChat, export: ConversationExport, fixtures: FixtureSet | None = None) -> str:
    """Why the oracle would expect another outcome of this persona under the chat's policy ("" when it agrees): a
    persona whose own contract leads elsewhere would not replay the chat."""
    from agent.policy.compiled import compile_policy_text
    from evals.personas.simulator import PersonaSimulator
    from evals.scoring.oracle import expected_outcome

    policy = compile_policy_text(export.policy.text, Path(export.policy.path))
    accepts = PersonaSimulator(saved.persona, 0).accepts
    expected = expected_outcome(saved.persona, policy, accepts, fixtures or default_fixtures())
    pinned = saved.persona.pinned[0]
    reached = (pinned.outcome, pinned.offer.value if pinned.offer else None)
    wanted = (expected.outcome, expected.offer.value if expected.offer else None)
    if wanted == reached:
        return ""
    return (
        f"the chat reached {reached[0]} ({reached[1]}), but the policy's oracle expects {wanted[0]} ({wanted[1]}) "
        f"of this contract: {expected.why}"
    )


def persona_yaml(saved: SavedChat) -> str:
    """The contract as a persona file, with the notes for the reviewer as comments at the top."""
    header = ["# A test customer saved from a chat: review it before use."]
    header += [f"# note: {note}" for note in saved.notes]
    return persona_yaml_of(saved.persona, "\n".join(header))


def persona_yaml_of(persona: Persona, header: str) -> str:
    """A persona file: `header` (comment lines), then the contract without its default values."""
    import yaml

    data = persona.model_dump(mode="json", exclude_defaults=True)
    data.setdefault("orders", persona.orders)
    return header + "\n" + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=110)
