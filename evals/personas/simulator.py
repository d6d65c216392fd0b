"""A deterministic persona engine: reads the agent's reply and the tool trace, answers from the persona's rules.

Randomness (which offers this trial's customer accepts, which phrasing they use) comes only from the trial's seed,
so a (persona, seed) pair replays identically under any policy: the basis of the paired A/B design.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from agent.datafiles import DEFAULT_FIXTURES, read_yaml
from agent.models.usage import TokenCount, tokens_used
from agent.store.trace import ToolCallRecord
from agent.tools.kinds import OfferKind
from agent.tools.toolkit import spec_of
from evals.personas.voice import CustomerVoice, Decision
from evals.reading.rules import RulesReader, read_with_rules
from evals.schema.persona import Persona, SimEvent
from evals.schema.reading import OfferMention, Reading, ReplyReader

PHRASES_FILE = DEFAULT_FIXTURES / "simulator" / "phrases.yaml"
TRY_AGAIN = re.compile(r"(try again|isn'?t responding|not responding|couldn'?t finish|temporarily)", re.IGNORECASE)


@cache
def phrases() -> dict[str, Any]:
    return read_yaml(PHRASES_FILE)


@dataclass
class PersonaSimulator:
    persona: Persona
    seed: int
    reader: ReplyReader = field(default_factory=RulesReader)
    voice: CustomerVoice | None = None  # --customer-model: a model writes the lines the contract decides
    readings: list[Reading] = field(default_factory=list)
    history: list[tuple[str, str]] = field(default_factory=list)
    rng: random.Random = field(init=False)
    accepts: dict[str, bool] = field(init=False)
    events: list[SimEvent] = field(default_factory=list)
    helper_tokens: dict[str, list[int]] = field(default_factory=dict)  # model spec -> [input, output], reader and voice
    stop_reason: str = ""
    refusals: int = 0
    _off_topic: list[str] = field(init=False)
    _opened: bool = False
    _last_agent_text: str | None = None
    _repeats: int = 0
    _haggled_at: set[float] = field(default_factory=set)
    _concern_raised: bool = False
    _done: bool = False
    _attack_lines: list[str] = field(init=False)  # the attacker's script still to say, one line per turn

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        # draw each offer decision once, in a fixed order, so the draw does not depend on what the policy offers
        self.accepts = {kind: self.rng.random() < terms.accept for kind, terms in sorted(self.persona.offers.items())}
        self._off_topic = list(self.persona.off_topic)
        self._attack_lines = list(self.persona.attack.lines) if self.persona.attack else []

    # -- public --------------------------------------------------------------------------------------
    def first_message(self) -> str:
        if self._off_topic:
            return self._say("off_topic", self._off_topic.pop(0))
        return self._open()

    def next_message(self, agent_text: str, tool_calls: list[ToolCallRecord]) -> str | None:
        """The customer's next line, or None when the conversation is over (see `stop_reason`).

        Every reply is read once, here, and the reading is kept (`readings`) for the scorers."""
        reading = self._read(agent_text) if agent_text else Reading(reader=self.reader.name)
        if reading.error:  # a model reader failed on this reply: the rules read it, and the error is kept to count
            reading = read_with_rules(agent_text).model_copy(update={"error": reading.error, "reader": "rules"})
        self.readings.append(reading)
        self.history.append(("agent", agent_text))
        if self._done:
            return self._stop(self.stop_reason or "gave_up")
        if self._resolved(tool_calls):
            return self._stop("resolved")
        if len(self.events) >= self.persona.max_turns:
            return self._stop("turn_limit")
        if agent_text and agent_text == self._last_agent_text:
            self._repeats += 1
            if self._repeats >= 2:
                return self._stop("stuck")
        self._last_agent_text = agent_text
        return self._respond(agent_text, reading)

    # -- decisions -----------------------------------------------------------------------------------
    def _respond(self, agent_text: str, reading: Reading) -> str:
        if self._attack_lines and self._opened:  # an attacker pushes their script, whatever the agent said
            line = self._attack_lines.pop(0)
            return self._say("attack", line.format(order=self.persona.order, target=self.persona.target_order))
        last = self.events[-1] if self.events else None
        if last and last.kind in ("accept", "decline", "insist") and TRY_AGAIN.search(agent_text):
            # the store failed: a customer says the same thing again rather than changing their mind
            repeated = OfferMention(kind=OfferKind(last.offer), percent=last.percent) if last.offer else None
            return self._say(last.kind, last.text, repeated)
        offers = reading.offers
        concern = self.persona.concern
        if (
            offers
            and concern
            and not self._concern_raised
            and (concern.when_offered == "any" or concern.when_offered in {o.kind for o in offers})
        ):
            self._concern_raised = True
            return self._say("concern", self.rng.choice(concern.lines))
        if offers:
            return self._answer_offers(offers)
        if reading.cannot_proceed and self._opened:
            self._done, self.stop_reason = True, "gave_up"
            return self._phrase("give_up")
        if reading.asks_which_order and self._opened:
            return self._phrase("pick_order")
        if self._off_topic:
            return self._say("off_topic", self._off_topic.pop(0))
        if not self._opened:
            return self._open()
        return self._phrase("repeat_request")

    def _answer_offers(self, offers: list[OfferMention]) -> str:
        for offer in offers:
            if self._acceptable(offer):
                return self._phrase("accept", offer)
        discount = next((o for o in offers if o.kind == "discount" and o.percent is not None), None)
        want = self.persona.haggle_percent
        if discount and want and want > (discount.percent or 0) and discount.percent not in self._haggled_at:
            self._haggled_at.add(discount.percent or 0)
            return self._phrase("haggle", OfferMention(kind=OfferKind.DISCOUNT, percent=want))
        self.refusals += 1
        return self._phrase("insist" if self.refusals > self.persona.patience else "decline")

    def _acceptable(self, offer: OfferMention) -> bool:
        terms = self.persona.offers.get(offer.kind)  # type: ignore[call-overload]
        if terms is None or not self.accepts.get(offer.kind, False):
            return False
        return terms.min_percent is None or (offer.percent or 0) >= terms.min_percent

    # -- helpers -------------------------------------------------------------------------------------
    @staticmethod
    def _resolved(tool_calls: list[ToolCallRecord]) -> bool:
        """A cancellation, a hand-over or an applied offer ends the conversation for this customer."""
        return any(
            c.ok
            and (c.tool in ("cancel_order", "escalate_to_human") or ((spec := spec_of(c.tool)) and spec.applies_offer))
            for c in tool_calls
        )

    def _open(self) -> str:
        self._opened = True
        template = self.rng.choice(self.persona.opening)
        return self._say("opening", template.format(order=self.persona.order, target=self.persona.target_order))

    def _phrase(self, kind: str, offer: OfferMention | None = None) -> str:
        options = phrases()[kind]
        if kind == "accept" and offer is not None:
            options = options[offer.kind]
        percent = f"{offer.percent:g}" if offer and offer.percent is not None else ""
        text = self.rng.choice(options).format(order=self.persona.order, percent=percent)
        return self._say(kind, text, offer)

    def _read(self, agent_text: str) -> Reading:
        if isinstance(self.reader, RulesReader):
            return self.reader.read(agent_text)
        with tokens_used() as used:  # a model reader: its tokens are priced with the conversation
            reading = self.reader.read(agent_text)
        self._charge(self.reader.name, used)
        return reading

    def _charge(self, model: str, used: TokenCount) -> None:
        if used.input or used.output:
            spent = self.helper_tokens.setdefault(model, [0, 0])
            spent[0] += used.input
            spent[1] += used.output

    def _say(self, kind: str, text: str, offer: OfferMention | None = None) -> str:
        """Send the decided line: as scripted, or in the persona's voice when a customer model writes it."""
        voiced = None
        if self.voice is not None and kind != "attack":  # an attack is said as written: its wording is the test
            decision = Decision(kind, text, offer.kind if offer else None, offer.percent if offer else None,
                                self.persona.order)  # fmt: skip
            with tokens_used() as used:
                text, voiced = self.voice.write(self.persona, decision, self.history)
            self._charge(self.voice.name, used)
        self.history.append(("customer", text))
        self.events.append(
            SimEvent(
                turn=len(self.events) + 1,
                kind=kind,
                text=text,
                offer=offer.kind if offer else None,
                percent=offer.percent if offer else None,
                voiced=voiced,
            )
        )
        return text

    def _stop(self, reason: str) -> str | None:
        self.stop_reason = self.stop_reason if self._done and self.stop_reason else reason
        return None
