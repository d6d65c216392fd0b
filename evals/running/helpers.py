"""The models around the agent under test, built once per run: the reader of its replies, and when asked for, the
soft-criteria judge and the customer's voice. Planning builds them once to refuse an unusable --reader, --judge-model
or --customer-model before anything is written; none of this imports the agent stack.
"""

from __future__ import annotations

from dataclasses import dataclass

from agent.models.cache import DiskCache
from evals.judging.judge import Judge
from evals.personas.voice import CustomerVoice
from evals.reading.model import ModelReader
from evals.reading.readers import judging_model, make_reader
from evals.running.agent_under_test import AgentFactory, langchain_agent
from evals.running.config import RunConfig
from evals.running.limits import TrafficLimits
from evals.schema.reading import ReplyReader


@dataclass(frozen=True)
class RunHelpers:
    """The models around the agent, built once per run: the reader of its replies, and when asked for, the
    soft-criteria judge and the customer's voice."""

    reader: ReplyReader
    judge: Judge | None = None
    voice: CustomerVoice | None = None
    agent: AgentFactory = langchain_agent


def build_helpers(
    config: RunConfig,
    cache: DiskCache | None,
    traffic: TrafficLimits | None = None,
    agent: AgentFactory = langchain_agent,
) -> RunHelpers:
    """The run's reader and judge, their models under the run's traffic limits, and the agent under test."""
    traffic = traffic or TrafficLimits(None, None)
    judge = None
    if config.judge_model:
        settings = config.model.model_copy(update={"spec": config.judge_model})
        judge = Judge(traffic.apply(judging_model(settings, cache)), config.judge_model, config.judge_samples)
    reader = make_reader(config.model.model_copy(update={"spec": config.reader}), cache)
    if isinstance(reader, ModelReader):
        traffic.apply(reader.model)
    voice = None
    if config.customer_model:
        settings = config.model.model_copy(update={"spec": config.customer_model})
        voice = CustomerVoice(traffic.apply(judging_model(settings, cache)), config.customer_model)
    return RunHelpers(reader, judge, voice, agent)
