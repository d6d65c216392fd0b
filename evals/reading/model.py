"""The model reader: a structured-output call to a chat model (any model string the agent takes), cached like every
model call. A malformed or refused answer becomes the reading's `error`, never an exception."""

from __future__ import annotations

from functools import cache

from langchain_core.language_models import BaseChatModel
from pydantic import BaseModel, Field

from agent.datafiles import DEFAULT_FIXTURES
from evals.reading.reading import CannotReason, Claim, OfferMention, Reading
from evals.reading.structured import structured_call

PROMPT_FILE = DEFAULT_FIXTURES / "reading" / "model_prompt.md"


class ReadingAnswer(BaseModel):
    """What the model returns: a Reading without the bookkeeping fields."""

    offers: list[OfferMention] = Field(default_factory=list)
    asks_which_order: bool = False
    cannot_proceed: bool = False
    cannot_proceed_reason: CannotReason | None = None
    questions: list[str] = Field(default_factory=list)
    claims: list[Claim] = Field(default_factory=list)


@cache
def reading_prompt() -> str:
    return PROMPT_FILE.read_text(encoding="utf-8")


class ModelReader:
    def __init__(self, model: BaseChatModel, name: str) -> None:
        self.model, self.name = model, name

    def read(self, reply: str) -> Reading:
        answer, error = structured_call(self.model, ReadingAnswer, reading_prompt(), f"The agent's reply:\n\n{reply}")
        if answer is None:
            return Reading(reader=self.name, error=error)
        return Reading(**answer.model_dump(), reader=self.name)
