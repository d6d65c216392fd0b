"""The serialised results of an eval: one ConversationRecord per JSON line."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class Score(BaseModel):
    """One scorer's verdict. `passed` is None when the rule did not apply to this conversation."""

    name: str
    value: float | None
    passed: bool | None
    evidence: str = ""


class ConversationRecord(BaseModel):
    key: str = Field(description="policy/persona/trial: unique within a run")
    policy: str
    policy_file: str
    policy_sha: str
    persona: str
    trial: int
    seed: int
    model: str
    customer_id: int
    target_order: str
    transcript: list[dict[str, str]]
    turns: list[dict[str, Any]]
    trace: list[dict[str, Any]]
    final_state: dict[str, Any]
    sim_events: list[dict[str, Any]]
    expected: dict[str, Any]
    stop_reason: str
    outcome: str = ""
    retained_offer: str | None = None
    scores: list[Score] = Field(default_factory=list)
    economics: dict[str, float | None] = Field(default_factory=dict)
    latency_ms: float = 0.0
    model_calls: int = 0
    error: str | None = None

    def score(self, name: str) -> Score | None:
        return next((s for s in self.scores if s.name == name), None)

    @property
    def correct(self) -> bool:
        score = self.score("correct_outcome")
        return bool(score and score.passed)

    @property
    def adherence_ok(self) -> bool:
        return all(s.passed is not False for s in self.scores if s.name.startswith("adherence."))

    def light(self) -> ConversationRecord:
        """The record without transcript, trace and state: enough for metrics, a fraction of the memory."""
        return self.model_copy(update={"transcript": [], "turns": [], "trace": [], "final_state": {}, "sim_events": []})
