"""The batch runner: personas x policies x trials, concurrent, appended to JSONL as each conversation ends.

A killed run resumes with `--resume`: finished conversations are read back from results.jsonl (a torn last line is
dropped) and only the missing ones are run, so the file ends with exactly one record per conversation.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.errors import InputFileError
from agent.models.cache import DiskCache
from agent.models.settings import check_model
from agent.policy.compiled import CompiledPolicy
from agent.store.fixtures import FixtureSet
from evals.running.agent_under_test import AgentFactory, langchain_agent
from evals.running.config import RunConfig
from evals.running.driver import Driver, DriverLimits, Holder
from evals.running.heap import long_lived_objects_frozen
from evals.running.helpers import build_helpers
from evals.running.limits import TrafficLimits
from evals.running.planning import Job, inputs_sha, plan_jobs, run_fixtures
from evals.running.result_cache import FinishedConversations
from evals.running.scheduling import LongestFirst
from evals.schema.light_records import LightRecords
from evals.schema.manifest import PolicyEntry, RunManifest, has_manifest, load_manifest, write_manifest
from evals.schema.persona import Persona
from evals.schema.records import RESULTS, ConversationRecord, iter_results
from evals.schema.version import SCHEMA_VERSION


def _rewrite_clean(out: Path) -> LightRecords:
    """Drop torn or duplicated lines before appending again; returns the kept records, light and compressed."""
    seen: set[str] = set()
    kept = LightRecords()
    tmp = out / (RESULTS + ".tmp")
    with tmp.open("w", encoding="utf-8") as sink:
        for record in iter_results(out):
            if record.key not in seen:
                sink.write(record.model_dump_json() + "\n")
                seen.add(record.key)
                kept.append(record)
    os.replace(tmp, out / RESULTS)
    return kept


def policy_entry(policy: CompiledPolicy) -> PolicyEntry:
    return PolicyEntry(
        file=str(policy.main.path),
        stem=policy.main.path.stem,
        name=policy.name,
        version=policy.version,
        sha=policy.sha,
        text=policy.main.text,
        offer_plan=policy.offer_plan.describe(),
        plan_source="explicit" if policy.read_plan.explicit else "draft",
    )


def _prepare_out(
    config: RunConfig, policies: list[CompiledPolicy], personas: list[Persona], total: int
) -> LightRecords:
    out = config.out
    identity = config.identity(inputs_sha(policies, config.personas_dir, config.fixtures_root))
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
        schema_version=SCHEMA_VERSION,
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


@dataclass
class RunControls:
    """How a caller steers a run while it goes: ask it to stop, hear a tick every few seconds, learn why it stopped."""

    should_stop: Callable[[], bool] = lambda: False
    on_tick: Callable[[int, int, float], None] | None = None  # (done, total, spend in USD)
    stop_reason: str | None = None  # "budget" or "stopped" when the run ended before every conversation


def execute_run(
    config: RunConfig,
    on_result: RecordCallback | None = None,
    fixtures: FixtureSet | None = None,
    controls: RunControls | None = None,
    agent: AgentFactory = langchain_agent,
) -> LightRecords:
    """Run (or finish) an eval. Returns every record of the run, finished earlier or now, light (see
    `ConversationRecord.light`): the full records are in out/results.jsonl. `agent`: the agent under test (the
    LangChain agent unless a test double is given; Ray actors always play the LangChain agent)."""
    fixtures = fixtures or run_fixtures(config)
    jobs, policies, personas = plan_jobs(config, fixtures)
    if config.executor == "ray":
        from evals.running.ray_executor import import_ray

        import_ray()  # without the extra: one line saying how to install it, before anything is written
    with run_lock(config.out):
        return _execute(config, fixtures, jobs, policies, personas, on_result, controls or RunControls(), agent)


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


def _persona_of(job: Job) -> tuple[str, str]:
    return (job.policy.main.path.stem, job.persona.id)


def _lease_ray_pool(config: RunConfig, driver_may_play: bool) -> Any:
    if config.executor != "ray":
        return None
    from evals.running.ray_executor import PoolLease  # imported here: Ray workers import this module

    return PoolLease(config, driver_may_play)


async def _as_is(record: ConversationRecord) -> ConversationRecord:
    return record


def _execute(
    config: RunConfig,
    fixtures: FixtureSet,
    jobs: list[Job],
    policies: list[CompiledPolicy],
    personas: list[Persona],
    on_result: RecordCallback | None,
    controls: RunControls,
    agent: AgentFactory = langchain_agent,
) -> LightRecords:
    done = _prepare_out(config, policies, personas, len(jobs))
    finished = set(done.keys)
    pending = [job for job in jobs if job.key not in finished]
    cache = DiskCache(config.cache_path) if config.cache_path else None
    # conversations of another agent under test (a double, a harness) are never kept or reused: its code is not hashed
    earlier = FinishedConversations.for_run(config, policies) if agent is langchain_agent else None
    records = done  # compressed: a 20,000-conversation run is not held as objects
    try:
        with (config.out / RESULTS).open("a", encoding="utf-8") as sink:

            def keep(record: ConversationRecord) -> None:
                sink.write(record.model_dump_json() + "\n")
                sink.flush()
                os.fsync(sink.fileno())
                records.append(record)

            def keep_played(record: ConversationRecord) -> None:
                keep(record)
                if earlier is not None:
                    earlier.put(record)

            def notify(record: ConversationRecord) -> None:
                if on_result:
                    on_result(record, len(records), len(jobs))

            pending = _reuse_unchanged(pending, earlier, keep, notify)
            if not pending:  # finished earlier or reused: no agent, agent model or run helpers are built
                return records
            check_model(config.model)  # a model that cannot be built is refused before Ray starts
            # Ray starts while the agent stack is imported and the model built; when the driver may play (PoolLease:
            # no --ray-address, no --rpm/--tpm, no kept pool), it plays the first conversations too
            lease = _lease_ray_pool(config, driver_may_play=agent is langchain_agent)
            clean = False  # nothing left in flight, so a Ray pool may serve the next run
            try:
                from agent.agent_graph import AgentGraphs  # the agent stack: imported only when a conversation plays
                from evals.running import play

                traffic = TrafficLimits(config.rpm, config.tpm)
                helpers = build_helpers(config, cache, traffic, agent)
                agents = AgentGraphs(traffic.apply(play.build_model(config.model, cache)))
                limits = DriverLimits(
                    concurrency=config.concurrency,
                    # with Ray, each conversation is held to its limit and judged where it plays (aplay_within_limit)
                    conversation_timeout_s=None if lease else config.conversation_timeout_s,
                    max_cost_usd=config.max_cost_usd,
                    spent_usd=sum(r.economics.cost_usd or 0 for r in done),
                )

                def play_one(job: Job, holder: Holder) -> Awaitable[ConversationRecord]:
                    if lease is None:
                        return play.aplay(job, config, fixtures, agents, cache, helpers, holder)
                    if lease.ready is not None:
                        return lease.ready.play(job.key)
                    return play.aplay_within_limit(job, config, fixtures, agents, cache, helpers, holder)

                driver: Driver[Job, ConversationRecord] = Driver(
                    play=play_one,
                    over_time=lambda job, holder, limit: play.over_time(job, config, fixtures, holder, limit),
                    failed=lambda job, holder, exc: play.failed(job, config, fixtures, holder, exc),
                    finish=(lambda record: play.judged(record, helpers)) if lease is None else _as_is,
                    cost=lambda record: record.economics.cost_usd or 0.0,
                    seconds=lambda record: record.latency_ms / 1000,
                    sink=keep_played,
                    notify=notify,
                    limits=limits,
                    should_stop=controls.should_stop,
                    on_tick=lambda spent: (
                        controls.on_tick(len(records), len(jobs), spent) if controls.on_tick else None
                    ),
                )
                with long_lived_objects_frozen():
                    controls.stop_reason = asyncio.run(driver.run(LongestFirst(pending, group=_persona_of)))
                clean = True
            finally:
                if lease is not None:
                    lease.give_back(clean)
    finally:
        if cache is not None:
            cache.close()
        if earlier is not None:
            earlier.close()
    return records


def _reuse_unchanged(
    pending: list[Job],
    earlier: FinishedConversations | None,
    keep: Callable[[ConversationRecord], None],
    notify: Callable[[ConversationRecord], None],
) -> list[Job]:
    """Keep the conversations an earlier run with the same fingerprint finished (see `evals.running.result_cache`);
    returns the jobs left to play."""
    if earlier is None:
        return pending
    left = []
    for job in pending:
        record = earlier.get(job.key, job.seed)
        if record is None:
            left.append(job)
        else:
            keep(record)
            notify(record)
    earlier.mark_reused()
    return left
