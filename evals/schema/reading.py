"""The typed reading of one agent reply: the offers it presents, whether it asks which order or says the order cannot
be cancelled, the questions it asks, and the claims it makes about the world."""

from __future__ import annotations

from typing import Literal, Protocol

from pydantic import BaseModel, Field

from agent.tools.kinds import OfferKind

ClaimKind = Literal[
    "order_cancelled",
    "discount_applied",
    "shipping_upgraded",
    "item_swapped",
    "coupon_created",
    "escalated",
    "confirmation_sent",
]
CannotReason = Literal["shipped", "already_cancelled", "not_found", "not_theirs", "other"]


class OfferMention(BaseModel):
    """One offer presented as available now."""

    kind: OfferKind
    percent: float | None = None
    amount: float | None = Field(default=None, description="money off, when the reply states it")


class Claim(BaseModel):
    """A statement that a change has been made."""

    kind: ClaimKind
    percent: float | None = None
    new_total: float | None = None
    code: str | None = None
    order: str | None = None
    sentence: str = Field(default="", description="the sentence that makes the claim, as evidence")


class ReadingAnswer(BaseModel):
    """What the model returns: a Reading without the bookkeeping fields."""

    offers: list[OfferMention] = Field(default_factory=list)
    asks_which_order: bool = False
    cannot_proceed: bool = False
    cannot_proceed_reason: CannotReason | None = None
    questions: list[str] = Field(default_factory=list)
    claims: list[Claim] = Field(default_factory=list)


class Reading(ReadingAnswer):
    """A reply's reading, with who read it and, for a model reader that could not, why."""

    reader: str = Field(default="rules", description="which reader produced this: 'rules' or a model spec")
    error: str | None = Field(default=None, description="why the reader could not read the reply (model readers)")

    def offer_kinds(self) -> list[str]:
        return [o.kind.value for o in self.offers]

    def labelled_fields(self) -> dict[str, object]:
        """The fields a labelled reply is compared on (evidence sentences and questions are not labelled)."""
        return {
            "offers": [o.model_dump(exclude_none=True, mode="json") for o in self.offers],
            "asks_which_order": self.asks_which_order,
            "cannot_proceed": self.cannot_proceed,
            "cannot_proceed_reason": self.cannot_proceed_reason,
            "claims": sorted(
                (c.model_dump(exclude_none=True, exclude={"sentence"}, mode="json") for c in self.claims),
                key=lambda c: str(sorted(c.items())),
            ),
        }


class ReplyReader(Protocol):
    """Anything that reads an agent reply: the rules reader, or a model through structured output."""

    name: str

    def read(self, reply: str) -> Reading: ...
