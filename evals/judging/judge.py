"""The soft-criteria judge: one structured-output call per conversation and sample, each criterion pass / fail /
n/a with a quoted sentence. Several samples give the judge's own disagreement. A quote that is not in the
conversation makes that verdict unusable (`n/a` with a note), since evidence is the point of a verdict."""

from __future__ import annotations

from collections import Counter
from functools import cache

from langchain_core.language_models import BaseChatModel
from pydantic import BaseModel, Field

from agent.datafiles import DEFAULT_FIXTURES
from agent.models.structured import structured_call
from agent.store.trace import TranscriptLine
from evals.judging.rubric import Rubric, load_rubric
from evals.schema.judgement import ConversationJudgement, CriterionJudgement, Verdict

PROMPT_FILE = DEFAULT_FIXTURES / "judge" / "judge_prompt.md"


class CriterionVerdict(BaseModel):
    criterion: str
    verdict: Verdict
    evidence: str = Field(default="", description="one sentence quoted word for word from an agent reply")


class JudgeAnswer(BaseModel):
    verdicts: list[CriterionVerdict]


@cache
def judge_prompt() -> str:
    return PROMPT_FILE.read_text(encoding="utf-8")


def transcript_text(transcript: list[TranscriptLine]) -> str:
    return "\n".join(f"{line.role.upper()}: {line.content}" for line in transcript)


def _quoted(evidence: str, agent_text: str) -> bool:
    needle = " ".join(evidence.strip().strip('"“”').split()).lower()
    return not needle or needle in " ".join(agent_text.split()).lower()


class Judge:
    def __init__(self, model: BaseChatModel, name: str, samples: int = 1, rubric: Rubric | None = None) -> None:
        self.model, self.name, self.samples = model, name, samples
        self.rubric = rubric or load_rubric()

    def judge(self, transcript: list[TranscriptLine]) -> ConversationJudgement:
        system = judge_prompt().format(criteria=self.rubric.as_text())
        agent_text = " ".join(line.content for line in transcript if line.role == "agent")
        runs: list[dict[str, CriterionVerdict]] = []
        errors: list[str] = []
        for sample in range(self.samples):
            # the sample number keeps each sample its own cached answer
            user = f"Judgement {sample + 1} of {self.samples}.\n\n{transcript_text(transcript)}"
            answer, error = structured_call(self.model, JudgeAnswer, system, user)
            if answer is None:
                errors.append(f"sample {sample + 1}: {error}")
                continue
            runs.append({v.criterion: v for v in answer.verdicts})
        criteria = [self._combine(name, runs, agent_text) for name in self.rubric.names]
        return ConversationJudgement(judge=self.name, criteria=criteria if runs else [], errors=errors)

    def _combine(self, name: str, runs: list[dict[str, CriterionVerdict]], agent_text: str) -> CriterionJudgement:
        samples: list[Verdict | None] = []
        notes = []
        evidence_by_verdict: dict[str, str] = {}
        for run in runs:
            v = run.get(name)
            if v is None:
                samples.append(None)
                notes.append("missing")
            elif v.verdict != "n/a" and not _quoted(v.evidence, agent_text):
                samples.append(None)
                notes.append("quote not in the conversation")
            else:
                samples.append(v.verdict)
                evidence_by_verdict.setdefault(v.verdict, v.evidence)
        given = [s for s in samples if s is not None]
        if not given:
            note = "; ".join(notes)
            return CriterionJudgement(criterion=name, verdict=None, samples=samples, agreement=0.0, note=note)
        majority, count = Counter(given).most_common(1)[0]
        return CriterionJudgement(
            criterion=name,
            verdict=majority,
            samples=samples,
            evidence=evidence_by_verdict.get(majority, ""),
            agreement=round(count / len(samples), 3),
            note="; ".join(sorted(set(notes))),
        )
