"""The judge's rubric, read from `fixtures/judge/rubric.yaml`."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from pydantic import BaseModel, Field

from agent.datafiles import DEFAULT_FIXTURES, read_yaml, validate

RUBRIC_FILE = DEFAULT_FIXTURES / "judge" / "rubric.yaml"


class Criterion(BaseModel):
    name: str = Field(pattern=r"^[a-z_]+$")
    question: str
    fail_when: str
    na_when: str


class Rubric(BaseModel):
    criteria: list[Criterion] = Field(min_length=1)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.criteria]

    def as_text(self) -> str:
        return "\n".join(
            f"- {c.name}: {c.question} Fail when {c.fail_when} n/a when {c.na_when}" for c in self.criteria
        )


@cache
def load_rubric(path: Path = RUBRIC_FILE) -> Rubric:
    return validate(Rubric, path, read_yaml(path))
