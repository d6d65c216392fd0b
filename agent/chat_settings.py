"""The chat's settings, declared once: `python -m agent chat` generates its flags from `ChatSettings`, the chat lab
gets the step limit through `Conversation.start`'s default, and an eval run (`evals.running.config.RunConfig`)
reuses the step limit's declaration."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

from agent.models.settings import ModelSettings

DEFAULT_STEP_LIMIT = 24
StepLimit = Annotated[
    int,
    Field(
        ge=2,
        le=500,
        description="most graph steps (model calls and tool calls) in one agent turn",
        json_schema_extra={"flag": "--step-limit"},
    ),
]


class ChatSettings(BaseModel):
    """How one chat runs: the agent's model and how many steps a turn may take."""

    model: ModelSettings = Field(default_factory=ModelSettings)
    step_limit: StepLimit = DEFAULT_STEP_LIMIT
