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


def judged(judgement: ConversationJudgement | None, criterion: str) -> bool | None:
    """pass -> True, fail -> False; n/a, no verdict or no judge -> None (left out of rates)."""
    if judgement is None:
        return None
    found = next((c for c in judgement.criteria if c.criterion == criterion), None)
    if found is None or found.verdict in (None, "n/a"):
        return None
    return found.verdict == "pass"


def judged_criteria(judgements: list[ConversationJudgement | None]) -> list[str]:
    """The criteria judged in these conversations, in rubric order (empty when no judge ran)."""
    names: list[str] = []
    for judgement in judgements:
        for c in judgement.criteria if judgement else []:
            if c.criterion not in names:
                names.append(c.criterion)
    return names
