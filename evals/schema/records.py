"""The serialised results of an eval: one ConversationRecord per JSON line of `results.jsonl`, and its one reader."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from pathlib import Path

from pydantic import BaseModel, Field

from agent.store.trace import ToolCallRecord, TranscriptLine, TurnResult
from agent.store.world import WorldSnapshot
from evals.schema.attack import AttackResult
from evals.schema.judgement import ConversationJudgement
from evals.schema.persona import ExpectedOutcome, SimEvent
from evals.schema.reading import Reading
from evals.schema.version import UNVERSIONED, check_version

RESULTS = "results.jsonl"


class Score(BaseModel):
    """One scorer's verdict. `passed` is None when the rule did not apply to this conversation."""

    name: str
    value: float | None
    passed: bool | None
    evidence: str = ""
    where: str = Field(default="", description="the policy line that states the rule, e.g. retention_offers.md:23")


class Economics(BaseModel):
    value_kept: float = 0.0
    offer_cost: float = 0.0
    tokens_in: int = 0
    tokens_out: int = 0
    helper_tokens: dict[str, list[int]] = Field(
        default_factory=dict, description="model -> [input, output] tokens of the reader, judge and voice models"
    )
    cost_usd: float | None = Field(
        default=None, description="USD for the agent's and the helper models' calls; None when one has no price"
    )
    turns: int = 0
    agent_ms: float = 0.0


class ConversationRecord(BaseModel):
    schema_version: int = Field(
        default=UNVERSIONED, description="the format's version (evals/schema/version.py); absent before version 2"
    )
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
    transcript: list[TranscriptLine]
    turns: list[TurnResult]
    trace: list[ToolCallRecord]
    final_state: WorldSnapshot | None = Field(description="None only in a light record")
    sim_events: list[SimEvent]
    expected: ExpectedOutcome
    stop_reason: str
    outcome: str = ""
    retained_offer: str | None = None
    scores: list[Score] = Field(default_factory=list)
    economics: Economics = Field(default_factory=Economics)
    latency_ms: float = 0.0
    model_calls: int = Field(default=0, description="model calls made for this conversation in this run")
    reused: bool = Field(
        default=False,
        description="kept from an earlier run with the same inputs, settings and code (evals/running/result_cache.py): "
        "not played in this run, so model_calls is 0; everything else is the earlier run's",
    )
    error: str | None = None
    faults_met: int = Field(default=0, description="injected backend faults this conversation met")
    reader: str = Field(default="rules", description="the reader of agent replies: 'rules' or a model string")
    readings: list[Reading] = Field(default_factory=list, description="the reader's reading of each agent reply")
    reader_errors: int = Field(default=0, description="replies the model reader could not read (the rules read them)")
    judgement: ConversationJudgement | None = Field(default=None, description="the soft-criteria judge's verdicts")
    customer_voice: dict[str, int] = Field(
        default_factory=dict, description="with --customer-model: messages by how they were voiced (see SimEvent)"
    )
    fingerprint: str = Field(default="", description="hash of the transcript and tool calls: equal means a copy")
    attack: AttackResult | None = Field(default=None, description="an attack persona's conversation, priced")

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
        return self.model_copy(
            update={"transcript": [], "turns": [], "trace": [], "final_state": None, "sim_events": [], "readings": []}
        )


def fingerprint(transcript: list[TranscriptLine], trace: list[ToolCallRecord]) -> str:
    """Two conversations with the same fingerprint said and did the same things: one is a copy of the other."""
    said = [(line.role, line.content) for line in transcript]
    did = [(c.tool, sorted(c.args.items()), c.ok) for c in trace]
    return hashlib.sha256(repr((said, did)).encode()).hexdigest()[:16]


def iter_results(out: Path) -> Iterator[ConversationRecord]:
    """Every complete record in out/results.jsonl, one at a time (a torn last line from a killed run is skipped)."""
    path = out / RESULTS
    if not path.exists():
        return
    with path.open("rb") as handle:  # bytes: a torn last line may end inside a UTF-8 character
        for line in handle:
            try:
                record = ConversationRecord.model_validate_json(line)
            except ValueError:  # a torn line (invalid JSON or UTF-8) is skipped, as --resume rewrites it away
                continue
            check_version(record.schema_version, path)
            yield record


def iter_sorted_results(out: Path, keys: set[str] | None = None) -> Iterator[ConversationRecord]:
    """Every record (of `keys`, when given), by policy, persona and trial, reading one record at a time (an index of
    offsets, then seeks). A key written twice is read once."""
    path = out / RESULTS
    if not path.exists():
        return
    index: dict[tuple[str, str, int], int] = {}
    with path.open("rb") as handle:
        offset = 0
        for line in handle:
            try:
                record = ConversationRecord.model_validate_json(line)
            except ValueError:
                record = None
            if record is not None and (keys is None or record.key in keys):
                check_version(record.schema_version, path)
                index.setdefault((record.key.split("/")[0], record.persona, record.trial), offset)
            offset += len(line)
        for key in sorted(index):
            handle.seek(index[key])
            yield ConversationRecord.model_validate_json(handle.readline())


def read_results(out: Path, light: bool = False) -> list[ConversationRecord]:
    """All records of a run; `light=True` drops transcripts, traces and states to save memory."""
    return [r.light() if light else r for r in iter_results(out)]


def of_the_run(records: Sequence[ConversationRecord], keys: set[str]) -> tuple[Sequence[ConversationRecord], list[str]]:
    """The records whose key the run planned, each key once; and the keys left out (foreign or repeated). Light
    records (`evals.schema.light_records`) are chosen by key, without parsing them."""
    seen: set[str] = set()
    left_out: list[str] = []
    if hasattr(records, "where_key"):

        def planned(key: str) -> bool:
            if key in keys and key not in seen:
                seen.add(key)
                return True
            left_out.append(key)
            return False

        return records.where_key(planned), left_out  # type: ignore[attr-defined]
    kept: list[ConversationRecord] = []
    for record in records:
        if record.key in keys and record.key not in seen:
            kept.append(record)
            seen.add(record.key)
        else:
            left_out.append(record.key)
    return kept, left_out


def run_records(out: Path) -> tuple[Sequence[ConversationRecord], list[str]]:
    """A run's light records, only those its manifest planned (each once), and the keys left out."""
    from evals.schema.manifest import load_manifest

    return of_the_run(read_results(out, light=True), load_manifest(out).keys())


def load_record(run: Path, key: str) -> ConversationRecord | None:
    return next((r for r in iter_results(run) if r.key == key), None)
