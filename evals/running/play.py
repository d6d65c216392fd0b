"""Playing one conversation: a persona against a policy, on the event loop, then scored into a record.

`aplay` is what the driver runs (many at once on one thread); `run_conversation` is the same thing for one
conversation from synchronous code. A conversation cut off by its wall-clock limit is recorded from what it had
played so far (`over_time`), as an error.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter

from langchain_core.language_models import BaseChatModel

from agent.agent_graph import AgentGraphs
from agent.conversation import ConversationExport, PolicyVersion
from agent.models.cache import DiskCache, counting_misses, not_counted
from agent.models.settings import ModelSettings, make_chat_model
from agent.models.usage import TokenCount, tokens_used
from agent.redact import redact
from agent.store.fixtures import FixtureSet
from agent.store.world import World
from evals.personas.simulator import PersonaSimulator
from evals.reading.rules import RulesReader
from evals.running.agent_under_test import AgentUnderTest, ConversationStart
from evals.running.config import RunConfig
from evals.running.driver import Holder
from evals.running.helpers import RunHelpers
from evals.running.planning import Job
from evals.running.pricing import conversation_cost
from evals.schema.judgement import ConversationJudgement
from evals.schema.records import ConversationRecord, Economics, fingerprint
from evals.schema.version import SCHEMA_VERSION
from evals.scoring.oracle import expected_outcome
from evals.scoring.record_scoring import score_record


def run_conversation(
    job: Job,
    config: RunConfig,
    fixtures: FixtureSet,
    model: BaseChatModel,
    cache: DiskCache | None,
    helpers: RunHelpers | None = None,
) -> ConversationRecord:
    """Play one persona against one policy, score and judge it, from synchronous code."""
    helpers, agents = helpers or RunHelpers(RulesReader()), AgentGraphs(model)

    async def play_and_judge() -> ConversationRecord:
        return await judged(await aplay(job, config, fixtures, agents, cache, helpers, Holder()), helpers)

    return asyncio.run(play_and_judge())


async def aplay(
    job: Job,
    config: RunConfig,
    fixtures: FixtureSet,
    agents: AgentGraphs,
    cache: DiskCache | None,
    helpers: RunHelpers,
    holder: Holder,
) -> ConversationRecord:
    """Play one persona against one policy and score it (the judge comes after: `judged`), on the run's agent graph
    for the policy. Model and backend faults end up in the record."""
    convo = helpers.agent(
        ConversationStart(job.policy, job.persona.customer_id, fixtures, config.fault_rate, job.seed,
                          config.step_limit, agents.model, config.model.spec, agents.for_policy(job.policy))
    )  # fmt: skip
    sim = PersonaSimulator(job.persona, job.seed, helpers.reader, helpers.voice)
    holder.parts.update(convo=convo, sim=sim, start=time.perf_counter())
    # a model that reads replies or voices the customer must not block the loop
    slow_customer = helpers.voice is not None or not isinstance(helpers.reader, RulesReader)
    with counting_misses() as misses:
        first = sim.first_message
        message: str | None = await asyncio.to_thread(not_counted(first)) if slow_customer else first()
        while message is not None:
            turn = await convo.asend(message)
            if slow_customer:
                message = await asyncio.to_thread(not_counted(sim.next_message), turn.reply, turn.tool_calls)
            else:
                message = sim.next_message(turn.reply, turn.tool_calls)
        record = build_record(job, config, convo, sim, fixtures)
    return _timed(record, holder, misses[0] if cache else None)


async def aplay_within_limit(
    job: Job,
    config: RunConfig,
    fixtures: FixtureSet,
    agents: AgentGraphs,
    cache: DiskCache | None,
    helpers: RunHelpers,
    holder: Holder,
) -> ConversationRecord:
    """`aplay` held to the run's wall-clock limit, then judged: what a Ray actor does with a conversation, and the
    driver with one it plays while the actors start (the local executor's driver holds the limit itself)."""
    limit = config.conversation_timeout_s
    try:
        record = await asyncio.wait_for(aplay(job, config, fixtures, agents, cache, helpers, holder), limit)
    except TimeoutError:
        return over_time(job, config, fixtures, holder, limit or 0)
    return await judged(record, helpers)


async def judged(record: ConversationRecord, helpers: RunHelpers) -> ConversationRecord:
    """The soft-criteria judge's verdicts on a finished conversation: outside its wall-clock limit, since a slow
    judge must not turn a finished conversation into an error. A conversation that ended in an error is not judged."""
    judge = helpers.judge
    if judge is not None and record.error is None:

        def judge_and_count() -> tuple[ConversationJudgement, TokenCount]:
            with tokens_used() as used:
                return judge.judge(record.transcript), used

        record.judgement, used = await asyncio.to_thread(not_counted(judge_and_count))
        _charge_helper(record, judge.name, used)
    return record


def _charge_helper(record: ConversationRecord, model: str, used: TokenCount) -> None:
    """Add a helper model's tokens to the record and price the conversation again."""
    if not (used.input or used.output):
        return
    economics = record.economics
    spent = economics.helper_tokens.get(model, [0, 0])
    economics.helper_tokens = {**economics.helper_tokens, model: [spent[0] + used.input, spent[1] + used.output]}
    economics.cost_usd = conversation_cost(record.model, economics.tokens_in, economics.tokens_out,
                                           economics.helper_tokens)  # fmt: skip


def _timed(record: ConversationRecord, holder: Holder, misses: int | None) -> ConversationRecord:
    record.latency_ms = round((time.perf_counter() - holder.parts.get("start", time.perf_counter())) * 1000, 2)
    record.model_calls = misses if misses is not None else sum(t.model_calls for t in record.turns)
    return record


def over_time(job: Job, config: RunConfig, fixtures: FixtureSet, holder: Holder, limit_s: float) -> ConversationRecord:
    """The record of a conversation cut off at its wall-clock limit: what it played, as an error."""
    record = build_record(job, config, holder.parts["convo"], holder.parts["sim"], fixtures)
    record.error = f"the conversation went over its {limit_s:g} s wall-clock limit (--conversation-timeout)"
    record.outcome, record.retained_offer = "error", None
    return _timed(record, holder, None)


def failed(job: Job, config: RunConfig, fixtures: FixtureSet, holder: Holder, exc: BaseException) -> ConversationRecord:
    """The record of a conversation that failed in an unexpected way (a Ray actor that died, a bug): an error, with
    what it played when that can still be read, so the run goes on and --resume does not redo it forever."""
    error = (redact(f"the conversation failed: {type(exc).__name__}: {exc}") or type(exc).__name__)[:500]
    convo, sim = holder.parts.get("convo"), holder.parts.get("sim")
    try:
        if convo is None or sim is None:
            raise LookupError("the conversation never started")
        record = build_record(job, config, convo, sim, fixtures)
    except Exception:  # never started, or what it played is being changed by a thread still running
        record = build_record(job, config, NotPlayed(job, fixtures), PersonaSimulator(job.persona, job.seed), fixtures)
    record.error, record.outcome, record.retained_offer = error, "error", None
    return _timed(record, holder, None)


def build_model(settings: ModelSettings, cache: DiskCache | None) -> BaseChatModel:
    """One model for the whole run: clients are costly to build, and chat models are safe to share across threads."""
    model = make_chat_model(settings)
    if cache is not None:
        model.cache = cache
    return model


class NotPlayed:
    """A conversation that never got going: no turns, and the customer's world as the fixtures hold it."""

    faults_met = 0

    def __init__(self, job: Job, fixtures: FixtureSet) -> None:
        self.job, self.fixtures = job, fixtures

    def export(self) -> ConversationExport:
        policy, world = self.job.policy, World(self.fixtures, self.job.persona.customer_id, 0.0)
        version = PolicyVersion(name=policy.name, version=policy.version, path=str(policy.main.path), sha=policy.sha,
                                text=policy.main.text)  # fmt: skip
        return ConversationExport(policy=version, model="", customer_id=world.customer.id, transcript=[], turns=[],
                                  trace=[], final_state=world.snapshot())  # fmt: skip


def build_record(
    job: Job, config: RunConfig, convo: AgentUnderTest | NotPlayed, sim: PersonaSimulator, fixtures: FixtureSet
) -> ConversationRecord:
    exported = convo.export()
    turns = exported.turns
    record = ConversationRecord(
        schema_version=SCHEMA_VERSION,
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
        reader_errors=sum(r.error is not None for r in sim.readings),
        customer_voice=dict(Counter(e.voiced for e in sim.events if e.voiced)),
    )
    record.faults_met = convo.faults_met
    tokens_in, tokens_out = sum(t.input_tokens for t in turns), sum(t.output_tokens for t in turns)
    record.economics = Economics(
        tokens_in=tokens_in,
        tokens_out=tokens_out,
        helper_tokens={model: list(used) for model, used in sim.helper_tokens.items()},  # the record's own
        cost_usd=conversation_cost(config.model.spec, tokens_in, tokens_out, sim.helper_tokens),
        turns=len(turns),
        agent_ms=round(sum(t.latency_ms for t in turns), 2),
    )
    return score_record(record, job.policy, fixtures, attack=job.persona.attack)
