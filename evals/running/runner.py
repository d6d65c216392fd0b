"""The batch runner: personas x policies x trials, concurrent, appended to JSONL as each conversation ends.

A killed run resumes with `--resume`: finished conversations are read back from results.jsonl (a torn last line is
dropped) and only the missing ones are run, so the file ends with exactly one record per conversation.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from langchain_core.language_models import BaseChatModel

from agent.conversation import Conversation
from agent.datafiles import DEFAULT_FIXTURES
from agent.errors import InputFileError
from agent.models.offline.flow import replies
from agent.models.offline.intents import default_rules
from agent.models.settings import ModelSettings, make_chat_model
from agent.policy.compiled import CompiledPolicy, compile_policy_file
from agent.policy.lint import errors_only, lint_paths
from agent.store.fixtures import FixtureSet, default_fixtures
from evals.judging.judge import Judge
from evals.personas.loader import load_personas
from evals.personas.schema import Persona
from evals.personas.simulator import PersonaSimulator, phrases
from evals.reading.readers import judging_model, make_reader
from evals.reading.reading import ReplyReader
from evals.reading.rules import RulesReader, reading_rules
from evals.running.cache import DiskCache, counting_misses
from evals.running.config import RunConfig, trial_seed
from evals.running.manifest import PolicyEntry, RunManifest, has_manifest, load_manifest, write_manifest
from evals.running.pricing import cost_usd, prices
from evals.running.records import RESULTS, ConversationRecord, Economics, fingerprint, iter_results
from evals.scoring.context import ScoringContext
from evals.scoring.oracle import expected_outcome
from evals.scoring.outcome import offer_cost, read_outcome, value_kept
from evals.scoring.score import score_all


@dataclass(frozen=True)
class Job:
    policy: CompiledPolicy
    persona: Persona
    trial: int
    seed: int

    @property
    def key(self) -> str:
        return f"{self.policy.main.path.stem}/{self.persona.id}/{self.trial}"


def check_data_files() -> None:
    """Read every data file a conversation reads (each is cached), so a broken one stops the run before it starts."""
    for read in (default_rules, replies, phrases, reading_rules, prices):
        read()


def _refuse_lint_errors(config: RunConfig) -> None:
    for path in config.policies:
        errors = errors_only(lint_paths([path]))
        if errors and not config.allow_lint_errors:
            listed = "; ".join(f"line {e.line}: {e.message}" for e in errors[:3])
            raise InputFileError(
                errors[0].path, "--policy", f"{len(errors)} lint error(s): {listed}",
                "fix the policy (python -m agent lint), or pass --allow-lint-errors",
            )  # fmt: skip


def inputs_sha(policies: list[CompiledPolicy], personas_dir: Path, fixtures_root: Path = DEFAULT_FIXTURES) -> str:
    """One hash of everything a run reads: policy texts, persona files and store fixtures (for --resume)."""
    digest = hashlib.sha256()
    for policy in policies:
        digest.update(policy.sha.encode())
    files = sorted(personas_dir.glob("*.yaml")) + sorted((fixtures_root / "magento").glob("*.json"))
    for path in files + sorted((fixtures_root / "gorgias").glob("*.json")):
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()[:16]


def plan_jobs(config: RunConfig, fixtures: FixtureSet) -> tuple[list[Job], list[CompiledPolicy], list[Persona]]:
    check_data_files()
    _refuse_lint_errors(config)
    build_judges(config, None)  # an unusable --reader or --judge-model stops the run before anything is written
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
        Job(policy, persona, trial, trial_seed(config.seed, persona.id, trial))
        for policy in policies
        for persona in personas
        for trial in range(config.trials)
    ]
    return jobs, policies, personas


@dataclass(frozen=True)
class Judges:
    """The run's reader of agent replies and, when asked for, its soft-criteria judge: built once per run."""

    reader: ReplyReader
    judge: Judge | None = None


def build_judges(config: RunConfig, cache: DiskCache | None) -> Judges:
    judge = None
    if config.judge_model:
        settings = config.model.model_copy(update={"spec": config.judge_model})
        judge = Judge(judging_model(settings, cache), config.judge_model, config.judge_samples)
    return Judges(make_reader(config.reader, cache), judge)


def run_conversation(
    job: Job,
    config: RunConfig,
    fixtures: FixtureSet,
    model: BaseChatModel,
    cache: DiskCache | None,
    judges: Judges | None = None,
) -> ConversationRecord:
    """Play one persona against one policy and score it. Model and backend faults end up in the record."""
    convo = Conversation.start(
        job.policy, job.persona.customer_id, model, fixtures, config.fault_rate, job.seed, config.step_limit
    )
    convo.model_label = config.model.spec
    judges = judges or Judges(RulesReader())
    sim = PersonaSimulator(job.persona, job.seed, judges.reader)
    start = time.perf_counter()
    with counting_misses() as misses:
        message: str | None = sim.first_message()
        while message is not None:
            turn = convo.send(message)
            message = sim.next_message(turn.reply, turn.tool_calls)
        record = build_record(job, config, convo, sim, fixtures)
        if judges.judge is not None:
            record.judgement = judges.judge.judge(record.transcript)
    record.latency_ms = round((time.perf_counter() - start) * 1000, 2)
    record.model_calls = misses[0] if cache else sum(t.model_calls for t in convo.turns)
    return record


def build_model(settings: ModelSettings, cache: DiskCache | None) -> BaseChatModel:
    """One model for the whole run: clients are costly to build, and chat models are safe to share across threads."""
    model = make_chat_model(settings)
    if cache is not None:
        model.cache = cache
    return model


def build_record(
    job: Job, config: RunConfig, convo: Conversation, sim: PersonaSimulator, fixtures: FixtureSet
) -> ConversationRecord:
    exported = convo.export()
    turns = exported.turns
    record = ConversationRecord(
        key=job.key,
        policy=job.policy.name,
        policy_file=str(job.policy.main.path),
        policy_sha=job.policy.sha,
        persona=job.persona.id,
        trial=job.trial,
        seed=job.seed,
        model=config.model.spec,
        customer_id=job.persona.customer_id,
        target_order=job.persona.order,
        transcript=exported.transcript,
        turns=turns,
        trace=exported.trace,
        final_state=exported.final_state,
        sim_events=sim.events,
        expected=expected_outcome(job.persona, job.policy, sim.accepts, fixtures),
        stop_reason=sim.stop_reason,
        error=next((t.error for t in turns if t.error), None),
        fingerprint=fingerprint(exported.transcript, exported.trace),
        reader=sim.reader.name,
        readings=sim.readings,
    )
    outcome = read_outcome(exported.final_state, fixtures)
    record.outcome, record.retained_offer = outcome.outcome, outcome.offer
    if record.error:  # a model or connection failure: counted and shown, never scored as a policy outcome
        record.outcome, record.retained_offer = "error", None
    record.faults_met = convo.world.faults.injected
    context = ScoringContext(record, exported.final_state, job.policy, fixtures)
    record.scores = score_all(context)
    tokens_in, tokens_out = sum(t.input_tokens for t in turns), sum(t.output_tokens for t in turns)
    record.economics = Economics(
        value_kept=value_kept(exported.final_state, outcome, job.persona.order),
        offer_cost=offer_cost(exported.final_state, fixtures, job.persona.order),
        tokens_in=tokens_in,
        tokens_out=tokens_out,
        cost_usd=cost_usd(config.model.spec, tokens_in, tokens_out),
        turns=len(turns),
        agent_ms=round(sum(t.latency_ms for t in turns), 2),
    )
    return record


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


def policy_entry(policy: CompiledPolicy) -> PolicyEntry:
    return PolicyEntry(
        file=str(policy.main.path),
        stem=policy.main.path.stem,
        name=policy.name,
        version=policy.version,
        sha=policy.sha,
        text=policy.main.text,
        offer_plan=policy.offer_plan.describe(),
    )


def _prepare_out(
    config: RunConfig, policies: list[CompiledPolicy], personas: list[Persona], total: int
) -> list[ConversationRecord]:
    out = config.out
    identity = config.identity(inputs_sha(policies, config.personas_dir))
    if has_manifest(out) or (out / RESULTS).exists():
        if not config.resume:
            raise InputFileError(
                out, "--out", "already holds a run", "pass --resume to finish it, or choose a new --out"
            )
        if load_manifest(out).identity != identity:
            raise InputFileError(
                out,
                "--resume",
                "the run there was made with other settings",
                "rerun with the same --policy/--personas/--trials/--model/--seed and unchanged policy, persona "
                "and fixture files, or a new --out",
            )
    manifest = RunManifest(
        identity=identity,
        total=total,
        created=time.strftime("%Y-%m-%d %H:%M:%S"),
        concurrency=config.concurrency,
        policies=[policy_entry(p) for p in policies],
        personas=[p.id for p in personas],
    )
    write_manifest(out, manifest)
    return _rewrite_clean(out)


RecordCallback = Callable[[ConversationRecord, int, int], None]
LOCK = ".lock"


def execute_run(
    config: RunConfig, on_result: RecordCallback | None = None, fixtures: FixtureSet | None = None
) -> list[ConversationRecord]:
    """Run (or finish) an eval. Returns every record of the run, finished earlier or now, light (see
    `ConversationRecord.light`): the full records are in out/results.jsonl."""
    fixtures = fixtures or default_fixtures()
    jobs, policies, personas = plan_jobs(config, fixtures)
    with run_lock(config.out):
        return _execute(config, fixtures, jobs, policies, personas, on_result)


@contextmanager
def run_lock(out: Path) -> Iterator[None]:
    """An exclusive lock on the run folder: one writer at a time, so runs can never be mixed."""
    if out.exists() and not out.is_dir():
        raise InputFileError(out, "--out", "is a file, not a folder", "choose a folder for --out")
    try:
        out.mkdir(parents=True, exist_ok=True)
        handle = (out / LOCK).open("w")
    except OSError as exc:
        raise InputFileError(out, "--out", f"cannot be written ({exc.strerror})", "choose a writable --out") from exc
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        handle.close()
        raise InputFileError(
            out, "--out", "another run is writing here", "wait for it, or choose another --out"
        ) from exc
    try:
        yield
    finally:
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()


def _execute(
    config: RunConfig,
    fixtures: FixtureSet,
    jobs: list[Job],
    policies: list[CompiledPolicy],
    personas: list[Persona],
    on_result: RecordCallback | None,
) -> list[ConversationRecord]:
    done = _prepare_out(config, policies, personas, len(jobs))
    finished = {r.key for r in done}
    pending = [job for job in jobs if job.key not in finished]
    cache = DiskCache(config.cache_path) if config.cache_path else None
    records = list(done)
    try:
        with (config.out / RESULTS).open("a", encoding="utf-8") as sink:
            judges = build_judges(config, cache)
            for record in _run_pending(pending, config, fixtures, build_model(config.model, cache), cache, judges):
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
    jobs: list[Job],
    config: RunConfig,
    fixtures: FixtureSet,
    model: BaseChatModel,
    cache: DiskCache | None,
    judges: Judges,
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
                running.add(pool.submit(run_conversation, job, config, fixtures, model, cache, judges))

        top_up()
        while running:
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                running.discard(future)
                yield future.result()
            top_up()
