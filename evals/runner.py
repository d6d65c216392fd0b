"""The batch runner: personas x policies x trials, concurrent, appended to JSONL as each conversation ends.

A killed run resumes with `--resume`: finished conversations are read back from results.jsonl (a torn last line is
dropped) and only the missing ones are run, so the file ends with exactly one record per conversation.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel
from pydantic import BaseModel, Field

from agent.conversation import Conversation
from agent.errors import InputFileError
from agent.fixtures import PROJECT_ROOT, FixtureSet, default_fixtures
from agent.intents import default_rules
from agent.models import ModelSettings, make_chat_model
from agent.offer_plan import read_offer_plan
from agent.policy import CompiledPolicy, compile_policy_file
from agent.reference_flow import replies
from agent.toolspec import offer_tool_kinds
from evals.cache import DiskCache, counting_misses
from evals.outcome import offer_cost, read_outcome, value_kept
from evals.personas import DEFAULT_PERSONA_DIR, Persona, load_personas
from evals.pricing import cost_usd, prices
from evals.records import ConversationRecord
from evals.scorers import ScoringContext, claim_rules, score_all
from evals.simulator import PersonaSimulator, phrases

RESULTS = "results.jsonl"
MANIFEST = "run.json"
DEFAULT_CACHE = Path(os.environ.get("RETENTION_LAB_CACHE", PROJECT_ROOT / ".cache" / "model-responses.sqlite"))


class RunConfig(BaseModel):
    """Everything that defines a run. Its defaults are the product's defaults."""

    policies: list[Path] = Field(min_length=1)
    personas_dir: Path = DEFAULT_PERSONA_DIR
    persona_ids: list[str] | None = None
    trials: int = Field(default=3, ge=1, le=1000)
    model: ModelSettings = Field(default_factory=ModelSettings)
    concurrency: int = Field(default=4, ge=1, le=256)
    seed: int = 0
    out: Path = Path("runs/latest")
    resume: bool = False
    cache_path: Path | None = Field(default_factory=lambda: Path(os.environ.get("RETENTION_LAB_CACHE", DEFAULT_CACHE)))
    fault_rate: float = Field(default=0.0, ge=0, le=1)
    step_limit: int = Field(default=24, ge=2)

    def identity(self) -> dict[str, Any]:
        """What must match for `--resume` to continue a run."""
        return {
            "policies": [str(p) for p in self.policies],
            "personas_dir": str(self.personas_dir),
            "persona_ids": self.persona_ids,
            "trials": self.trials,
            "model": self.model.spec,
            "base_url": self.model.base_url,
            "seed": self.seed,
            "fault_rate": self.fault_rate,
        }


def trial_seed(base_seed: int, persona_id: str, trial: int) -> int:
    """The same for every policy, so each (persona, trial) is a matched pair across arms."""
    digest = hashlib.sha256(f"{base_seed}:{persona_id}:{trial}".encode()).hexdigest()
    return int(digest[:8], 16)


@dataclass(frozen=True)
class Job:
    policy: CompiledPolicy
    policy_sha: str
    persona: Persona
    trial: int
    seed: int

    @property
    def key(self) -> str:
        return f"{self.policy.main.path.stem}/{self.persona.id}/{self.trial}"


def policy_sha(policy: CompiledPolicy) -> str:
    texts = [policy.main.text, *(p.text for p in policy.included)]
    return hashlib.sha256("\x00".join(texts).encode()).hexdigest()[:16]


def check_data_files() -> None:
    """Read every data file a conversation reads (each is cached), so a broken one stops the run before it starts."""
    for read in (default_rules, replies, phrases, claim_rules, prices):
        read()


def plan_jobs(config: RunConfig, fixtures: FixtureSet) -> tuple[list[Job], list[CompiledPolicy], list[Persona]]:
    check_data_files()
    policies = [compile_policy_file(path) for path in config.policies]
    stems = [p.main.path.stem for p in policies]
    if len(set(stems)) != len(stems):
        raise InputFileError(
            ", ".join(map(str, config.policies)),
            "--policy",
            "two policies share a file name",
            "rename one, since results are keyed by file name",
        )
    personas = load_personas(config.personas_dir, config.persona_ids, fixtures)
    jobs = [
        Job(policy, policy_sha(policy), persona, trial, trial_seed(config.seed, persona.id, trial))
        for policy in policies
        for persona in personas
        for trial in range(config.trials)
    ]
    return jobs, policies, personas


def run_conversation(
    job: Job, config: RunConfig, fixtures: FixtureSet, model: BaseChatModel, cache: DiskCache | None
) -> ConversationRecord:
    """Play one persona against one policy and score it. Model and backend faults end up in the record."""
    convo = Conversation.start(
        job.policy, job.persona.customer_id, model, fixtures, config.fault_rate, job.seed, config.step_limit
    )
    convo.model_label = config.model.spec
    sim = PersonaSimulator(job.persona, job.seed)
    start = time.perf_counter()
    with counting_misses() as misses:
        message: str | None = sim.first_message()
        while message is not None:
            turn = convo.send(message)
            message = sim.next_message(turn.reply, [c.model_dump() for c in turn.tool_calls])
    record = build_record(job, config, convo, sim, fixtures)
    record.latency_ms = round((time.perf_counter() - start) * 1000, 2)
    record.model_calls = misses[0] if cache else sum(t.model_calls for t in convo.turns)
    return record


def build_model(config: RunConfig, cache: DiskCache | None) -> BaseChatModel:
    """One model for the whole run: clients are costly to build, and chat models are safe to share across threads."""
    model = make_chat_model(config.model)
    if cache is not None:
        model.cache = cache
    return model


def build_record(
    job: Job, config: RunConfig, convo: Conversation, sim: PersonaSimulator, fixtures: FixtureSet
) -> ConversationRecord:
    exported = convo.export()
    turns = exported["turns"]
    record = ConversationRecord(
        key=job.key,
        policy=job.policy.name,
        policy_file=str(job.policy.main.path),
        policy_sha=job.policy_sha,
        persona=job.persona.id,
        trial=job.trial,
        seed=job.seed,
        model=config.model.spec,
        customer_id=job.persona.customer_id,
        target_order=job.persona.order,
        transcript=exported["transcript"],
        turns=turns,
        trace=exported["trace"],
        final_state=exported["final_state"],
        sim_events=sim.event_dicts(),
        expected=sim.expected_outcome(),
        stop_reason=sim.stop_reason,
        error=next((t["error"] for t in turns if t["error"]), None),
    )
    outcome = read_outcome(record.final_state, fixtures)
    record.outcome, record.retained_offer = outcome.outcome, outcome.offer
    plan = read_offer_plan(job.policy.main.body, offer_tool_kinds())
    record.scores = score_all(ScoringContext(record, plan, job.policy.max_discount_percent, fixtures))
    tokens_in, tokens_out = sum(t["input_tokens"] for t in turns), sum(t["output_tokens"] for t in turns)
    record.economics = {
        "value_kept": value_kept(record.final_state, outcome, job.persona.order),
        "offer_cost": offer_cost(record.final_state, fixtures, job.persona.order),
        "tokens_in": tokens_in,
        "tokens_out": tokens_out,
        "cost_usd": cost_usd(config.model.spec, tokens_in, tokens_out),
        "turns": len(turns),
        "agent_ms": round(sum(t["latency_ms"] for t in turns), 2),
    }
    return record


# -- the results file ------------------------------------------------------------------------------------------
def iter_results(out: Path) -> Iterator[ConversationRecord]:
    """Every complete record in out/results.jsonl, one at a time (a torn last line from a killed run is skipped)."""
    path = out / RESULTS
    if not path.exists():
        return
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            try:
                yield ConversationRecord.model_validate_json(line)
            except ValueError:
                continue


def read_results(out: Path, light: bool = False) -> list[ConversationRecord]:
    """All records of a run; `light=True` drops transcripts, traces and states to save memory."""
    return [r.light() if light else r for r in iter_results(out)]


def _rewrite_clean(out: Path) -> list[ConversationRecord]:
    """Drop torn or duplicated lines before appending again; returns the kept records, light."""
    seen: dict[str, ConversationRecord] = {}
    tmp = out / (RESULTS + ".tmp")
    with tmp.open("w", encoding="utf-8") as sink:
        for record in iter_results(out):
            if record.key not in seen:
                sink.write(record.model_dump_json() + "\n")
                seen[record.key] = record.light()
    os.replace(tmp, out / RESULTS)
    return list(seen.values())


def _prepare_out(
    config: RunConfig, policies: list[CompiledPolicy], personas: list[Persona], total: int
) -> list[ConversationRecord]:
    out = config.out
    manifest_path = out / MANIFEST
    if manifest_path.exists() or (out / RESULTS).exists():
        if not config.resume:
            raise InputFileError(
                out, "--out", "already holds a run", "pass --resume to finish it, or choose a new --out"
            )
        previous = json.loads(manifest_path.read_text(encoding="utf-8"))["identity"]
        if previous != config.identity():
            raise InputFileError(
                out,
                "--resume",
                "the run there was made with other settings",
                "rerun with the same --policy/--personas/--trials/--model/--seed, or a new --out",
            )
    out.mkdir(parents=True, exist_ok=True)
    manifest = {
        "identity": config.identity(),
        "total": total,
        "created": time.strftime("%Y-%m-%d %H:%M:%S"),
        "concurrency": config.concurrency,
        "policies": [
            {
                "file": str(p.main.path),
                "stem": p.main.path.stem,
                "name": p.name,
                "version": p.main.meta.version,
                "sha": policy_sha(p),
                "text": p.main.text,
            }
            for p in policies
        ],
        "personas": [p.id for p in personas],
    }
    manifest_path.write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return _rewrite_clean(out)


ProgressCallback = Callable[[ConversationRecord, int, int], None]


def run_eval(
    config: RunConfig, on_result: ProgressCallback | None = None, fixtures: FixtureSet | None = None
) -> list[ConversationRecord]:
    """Run (or finish) an eval. Returns every record of the run, finished earlier or now, light (see
    `ConversationRecord.light`): the full records are in out/results.jsonl."""
    fixtures = fixtures or default_fixtures()
    jobs, policies, personas = plan_jobs(config, fixtures)
    done = _prepare_out(config, policies, personas, len(jobs))
    finished = {r.key for r in done}
    pending = [job for job in jobs if job.key not in finished]
    cache = DiskCache(config.cache_path) if config.cache_path else None
    records = list(done)
    try:
        with (config.out / RESULTS).open("a", encoding="utf-8") as sink:
            for record in _run_pending(pending, config, fixtures, build_model(config, cache), cache):
                sink.write(record.model_dump_json() + "\n")
                sink.flush()
                os.fsync(sink.fileno())
                records.append(record.light())
                if on_result:
                    on_result(record, len(records), len(jobs))
    finally:
        if cache is not None:
            cache.close()
    return records


def _run_pending(
    jobs: list[Job], config: RunConfig, fixtures: FixtureSet, model: BaseChatModel, cache: DiskCache | None
) -> Iterator[ConversationRecord]:
    """Yield records as conversations finish, keeping at most `concurrency` in flight (bounded memory)."""
    queue = iter(jobs)
    with ThreadPoolExecutor(max_workers=config.concurrency) as pool:
        running: set[Future[ConversationRecord]] = set()

        def top_up() -> None:
            while len(running) < config.concurrency * 2:
                job = next(queue, None)
                if job is None:
                    return
                running.add(pool.submit(run_conversation, job, config, fixtures, model, cache))

        top_up()
        while running:
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                running.discard(future)
                yield future.result()
            top_up()
