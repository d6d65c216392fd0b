"""The persona schema: a scripted customer's contract (one YAML file each in `fixtures/personas/`)."""

from __future__ import annotations

from string import Formatter
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from agent.tools.kinds import OfferKind

PLACEHOLDERS = {"order", "target"}
Outcome = Literal["retained", "cancelled", "escalated", "unresolved"]


class OfferTerms(BaseModel):
    model_config = ConfigDict(extra="forbid")
    accept: float = Field(ge=0, le=1, description="probability of accepting this offer, drawn once per trial")
    min_percent: float | None = Field(default=None, ge=0, le=100, description="discounts below this are refused")


class Concern(BaseModel):
    model_config = ConfigDict(extra="forbid")
    when_offered: OfferKind | Literal["any"] = Field(description="raise the concern when this offer is made")
    lines: list[str] = Field(min_length=1)


class Voice(BaseModel):
    """How an LLM-voiced customer (--customer-model) sounds. It changes the wording only, never a decision."""

    model_config = ConfigDict(extra="forbid")
    style: str = Field(default="plain", description="e.g. terse, chatty, formal, texts in lowercase with typos")
    mood: str = Field(default="neutral", description="e.g. annoyed, apologetic, in a hurry")
    language: str = Field(default="English")


class PinnedExpectation(BaseModel):
    """What the persona must get under one policy: an assertion that the oracle agrees (tests check it)."""

    model_config = ConfigDict(extra="forbid")
    policy: str = Field(description="the policy's file name without .md, e.g. retention_offers")
    outcome: Outcome
    offer: OfferKind | None = None
    otherwise: Outcome | None = Field(default=None, description="outcome when the trial's draw refuses `offer`")

    @model_validator(mode="after")
    def _offer_matches_outcome(self) -> PinnedExpectation:
        if self.outcome == "retained" and self.offer is None:
            raise ValueError("a 'retained' expectation needs the offer that retains the customer")
        return self


AttackClass = Literal[
    "discount_extraction", "stacking", "prompt_injection", "data_injection", "foreign_order", "info_extraction"
]


class Attack(BaseModel):
    """What an adversarial customer is after, and the script they escalate with (one line per turn after the
    opening; then the persona answers as its contract says). `marker`: the tag the injected instruction asks for; an
    agent that tags the ticket with it (or tries 100% off) followed the instruction."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    class_: AttackClass = Field(alias="class")
    goal: str
    lines: list[str] = Field(min_length=1)
    marker: str | None = None


class ProductionOutcome(BaseModel):
    """How the real conversation this persona was imported from ended (the ticket import keeps it for comparison)."""

    model_config = ConfigDict(extra="forbid")
    outcome: Outcome
    offer: OfferKind | None = None
    ticket: str = Field(description="the helpdesk ticket it came from")


class Persona(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=r"^[a-z0-9_]+$")
    title: str
    customer_id: int
    orders: list[str] = Field(min_length=1, description="the order(s) they mean; the first is the one to cancel")
    target_order: str | None = Field(default=None, description="an order they name that is not theirs")
    mention_order: bool = True
    reason: str
    opening: list[str] = Field(min_length=1)
    off_topic: list[str] = Field(default_factory=list)
    offers: dict[OfferKind, OfferTerms] = Field(default_factory=dict)
    haggle_percent: float | None = Field(default=None, ge=0, le=100)
    patience: int = Field(default=1, ge=0, description="refusals before they insist on cancelling")
    concern: Concern | None = None
    asks_for_person: bool = Field(default=False, description="asks for a person from the first message")
    max_turns: int = Field(default=8, ge=1, le=30)
    voice: Voice | None = Field(default=None, description="how the customer sounds when a model writes their lines")
    pinned: list[PinnedExpectation] = Field(default_factory=list)
    production: ProductionOutcome | None = Field(default=None, description="how the real ticket ended, if imported")
    attack: Attack | None = Field(default=None, description="an adversarial customer: what they try, and how")
    weight: float = Field(
        default=1.0, gt=0, le=1_000_000,
        description="this persona's share of real cancellation requests, relative to the others (A/B claims are then "
        "about that mix); 1 for every persona: each counts once",
    )  # fmt: skip

    @property
    def order(self) -> str:
        return self.orders[0]

    @property
    def has_chance(self) -> bool:
        """Whether the persona draws any choice per trial (an offer accepted with a probability strictly between 0
        and 1): its trials can then end differently even with a deterministic agent."""
        return any(0 < terms.accept < 1 for terms in self.offers.values())

    @model_validator(mode="after")
    def _only_known_placeholders(self) -> Persona:
        """Lines may use {order} and {target} only: anything else would crash a run or read attributes."""
        lines = [*self.opening, *self.off_topic, *(self.concern.lines if self.concern else [])]
        lines += self.attack.lines if self.attack else []
        for line in lines:
            try:
                fields = [name for _, name, _, _ in Formatter().parse(line) if name is not None]
            except ValueError as exc:
                raise ValueError(f"{line!r} has a stray brace ({exc}); write {{{{ and }}}} for literal braces") from exc
            unknown = [name for name in fields if name not in PLACEHOLDERS]
            if unknown:
                raise ValueError(f"{line!r} uses {{{unknown[0]}}}; only {{order}} and {{target}} can be filled in")
        return self


class ExpectedOutcome(BaseModel):
    """The expectation for one trial under one policy, from the persona's contract and the trial's draw."""

    outcome: Outcome
    offer: OfferKind | None = None
    drawn: dict[str, bool] = Field(default_factory=dict, description="offer kind -> accepted in this trial's draw")
    why: str = Field(default="", description="how the oracle got there, with the policy lines it used")


class SimEvent(BaseModel):
    """One customer message the simulator wrote, and the decision behind it."""

    turn: int
    kind: str  # off_topic | opening | pick_order | accept | decline | insist | haggle | concern | give_up | repeat
    text: str
    offer: str | None = None
    percent: float | None = None
    voiced: str | None = Field(
        default=None,
        description="with --customer-model: 'model' (said as decided), 'regenerated' (right on the second try) or "
        "'deviation' (both tries said something else, so the scripted line was sent)",
    )
