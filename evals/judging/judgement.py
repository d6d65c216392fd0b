"""What the judge says about one conversation: per criterion, the majority verdict over samples and its evidence."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

Verdict = Literal["pass", "fail", "n/a"]


class CriterionJudgement(BaseModel):
    criterion: str
    verdict: Verdict | None = Field(description="the majority over samples; None when no sample gave one")
    samples: list[Verdict | None]
    evidence: str = ""
    agreement: float = Field(description="share of samples that gave the majority verdict")
    note: str = ""


class ConversationJudgement(BaseModel):
    judge: str
    criteria: list[CriterionJudgement] = Field(default_factory=list)
    errors: list[str] = Field(default_factory=list)
