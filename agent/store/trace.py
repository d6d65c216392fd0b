"""The trace: one record per tool call, as the world saw it. Scorers read it; nobody parses the model's text."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

ToolKind = Literal["read", "write"]


class ToolCallRecord(BaseModel):
    """One tool call: what was asked, whether it worked, and what the model was told."""

    call_id: str = ""
    tool: str
    kind: ToolKind
    args: dict[str, Any]
    ok: bool
    result: str = Field(description="the observation the model saw (JSON of the tool's typed result)")
    error_kind: str | None = None
    attempts: int = Field(default=1, description="backend attempts, counting retries of transient errors")
    started_at: float = Field(description="seconds since the world was created")
    duration_ms: float
    turn: int


class TurnResult(BaseModel):
    """One turn: the customer's message, the agent's reply, and the tool calls in between."""

    customer: str
    reply: str
    tool_calls: list[ToolCallRecord]
    latency_ms: float
    input_tokens: int = 0
    output_tokens: int = 0
    error: str | None = None
    model_calls: int = 0
    why: str = Field(default="", description="the offline model's reason for its reply (rule and policy line)")


class TranscriptLine(BaseModel):
    role: Literal["customer", "agent"]
    content: str
