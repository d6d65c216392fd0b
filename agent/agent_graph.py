"""The agent graph: `create_agent` with the policy's model, the tools and the middleware, built once per policy and
model and shared by every conversation that uses them.

Nothing in the graph belongs to one conversation: each call passes the conversation's world and system prompt as
LangGraph's runtime context (`ConversationContext`), and the conversation keeps its own message history, so the graph
needs no checkpointer. An eval builds one graph per policy for thousands of conversations (`AgentGraphs`).
"""

from __future__ import annotations

import contextvars
import functools
import threading
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, runtime_checkable

import langsmith
from langchain.agents import create_agent
from langchain_core.language_models import BaseChatModel
from langsmith.utils import tracing_is_enabled

from agent.policy.compiled import CompiledPolicy
from agent.policy.plan import OfferPlan
from agent.tools.context import ConversationContext
from agent.tools.langchain import build_tools
from agent.tools.middleware import AnswerInvalidToolCalls, SystemPromptFromContext, TraceEveryCall

TRACE_STEPS = "langsmith.run_helpers"  # the module of `traceable`'s steps (`_setup_run`, `_handle_container_end`)
AgentGraph = Any  # langgraph's CompiledStateGraph, whose generic parameters say nothing useful here


@runtime_checkable
class FollowsOfferPlan(Protocol):
    """A model that is told the policy's offer plan by the agent factory (the offline reference model)."""

    def for_policy(self, plan: OfferPlan, max_discount_percent: float) -> BaseChatModel: ...


def policy_model(policy: CompiledPolicy, model: BaseChatModel) -> BaseChatModel:
    """The model as it serves `policy`: the offline reference model is given the offer plan; others as they are."""
    if isinstance(model, FollowsOfferPlan):
        return model.for_policy(policy.offer_plan, policy.max_discount_percent)
    return model


async def _inline_unless_tracing(
    default: Callable[..., Awaitable[Any]], ctx: contextvars.Context, func: Callable[..., Any], /, *args: Any, **kw: Any
) -> Any:
    """LangSmith's step around each middleware hook, on the event loop when nothing is traced.

    `create_agent` wraps every middleware hook in LangSmith's `traceable`, which hands its set-up and its end to a
    worker thread on each call (in case they send a trace). With tracing off there is nothing to send, and two thread
    hand-offs per model and tool call cost the runner more CPU than the hooks; with tracing on, LangSmith's own way.
    The override is process-wide: anything else LangSmith hands to a thread (its client's HTTP calls) keeps the
    thread."""
    step = func.func if isinstance(func, functools.partial) else func
    if getattr(step, "__module__", None) != TRACE_STEPS or ctx.run(tracing_is_enabled):
        return await default(ctx, func, *args, **kw)  # LangSmith's other work (its client's calls) keeps its thread
    return ctx.run(func, *args, **kw)


def _hooks_inline_unless_tracing() -> None:
    try:
        from langsmith._runtime_overrides import get_runtime_overrides
    except ImportError:  # a LangSmith without runtime overrides keeps its own way
        return
    if get_runtime_overrides().aio_to_thread is None:  # an override the user installed is kept
        langsmith.set_runtime_overrides(aio_to_thread=_inline_unless_tracing)


def build_agent_graph(policy: CompiledPolicy, model: BaseChatModel) -> AgentGraph:
    """The agent for `policy` on `model`, to be called with `context=ConversationContext(...)`."""
    _hooks_inline_unless_tracing()
    return create_agent(
        policy_model(policy, model),
        build_tools(),
        middleware=[SystemPromptFromContext(), TraceEveryCall(), AnswerInvalidToolCalls()],
        context_schema=ConversationContext,
    )


class AgentGraphs:
    """One agent graph per policy for a run's model, built on first use (thread-safe)."""

    def __init__(self, model: BaseChatModel) -> None:
        self.model = model
        self._graphs: dict[str, AgentGraph] = {}
        self._lock = threading.Lock()

    def for_policy(self, policy: CompiledPolicy) -> AgentGraph:
        with self._lock:
            if policy.cache_key not in self._graphs:
                self._graphs[policy.cache_key] = build_agent_graph(policy, self.model)
            return self._graphs[policy.cache_key]
