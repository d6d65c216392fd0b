"""The model reader: a structured-output call to a chat model (any model string the agent takes), cached like every
model call. A malformed or refused answer becomes the reading's `error`, never an exception."""

from __future__ import annotations

from functools import cache

from langchain_core.language_models import BaseChatModel

from agent.datafiles import DEFAULT_FIXTURES
from agent.models.structured import structured_call
from evals.schema.reading import Reading, ReadingAnswer

PROMPT_FILE = DEFAULT_FIXTURES / "reading" / "model_prompt.md"


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
        return Reading(**normalized(answer).model_dump(), reader=self.name)


def normalized(answer: ReadingAnswer) -> ReadingAnswer:
    """What a JSON schema makes some models write for "not stated" read as not stated: a 0 percent, amount or total
    and an empty code are no figure, and a reason why the order cannot be cancelled only counts when it cannot."""
    for item in [*answer.offers, *answer.claims]:
        for name in ("percent", "amount", "new_total", "code", "order"):
            if hasattr(item, name) and getattr(item, name) in (0, 0.0, ""):
                setattr(item, name, None)
    if not answer.cannot_proceed:
        answer.cannot_proceed_reason = None
    return answer
