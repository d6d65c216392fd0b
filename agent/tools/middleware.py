"""Agent middleware: the system prompt of each conversation, and a trace that also holds calls that never reached a
tool body. Both read the conversation from the runtime context (`ConversationContext`), so one agent graph serves
every conversation of a policy and model.

Kept apart from agent/tools/langchain.py because langchain.agents is a heavy import that the tools do not need.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from langchain.agents.middleware import AgentMiddleware, ModelRequest
from langchain_core.messages import SystemMessage

from agent.store.trace import ToolCallRecord
from agent.store.world import World
from agent.tools.context import ConversationContext
from agent.tools.results import ToolError, observation


def _context(request: Any) -> ConversationContext:
    context = request.runtime.context if request.runtime is not None else None
    if not isinstance(context, ConversationContext):
        raise TypeError("the agent graph must be called with context=ConversationContext(world, system_prompt)")
    return context


class SystemPromptFromContext(AgentMiddleware):
    """Put the conversation's system prompt (policy, customer, ticket) in front of every model call."""

    def wrap_model_call(self, request: ModelRequest, handler: Callable[[ModelRequest], Any]) -> Any:
        return handler(self._with_prompt(request))

    async def awrap_model_call(self, request: ModelRequest, handler: Callable[[ModelRequest], Awaitable[Any]]) -> Any:
        return await handler(self._with_prompt(request))

    @staticmethod
    def _with_prompt(request: ModelRequest) -> ModelRequest:
        return request.override(system_message=SystemMessage(content=_context(request).system_prompt))


class TraceEveryCall(AgentMiddleware):
    """Record calls that never reach a tool body (unknown tool, bad arguments) and tag records with the call id."""

    def wrap_tool_call(self, request: Any, handler: Callable[[Any], Any]) -> Any:
        world = _context(request).world
        before, start = len(world.trace), time.perf_counter()
        return self._complete(world, request, handler(request), before, start)

    async def awrap_tool_call(self, request: Any, handler: Callable[[Any], Awaitable[Any]]) -> Any:
        world = _context(request).world
        before, start = len(world.trace), time.perf_counter()
        return self._complete(world, request, await handler(request), before, start)

    @staticmethod
    def _complete(world: World, request: Any, result: Any, before: int, start: float) -> Any:
        call = request.tool_call
        if len(world.trace) == before:
            content = getattr(result, "content", str(result))
            world.trace.append(
                ToolCallRecord(
                    tool=call["name"],
                    kind="write" if request.tool is None else request.tool.metadata.get("kind", "read"),
                    args=dict(call.get("args") or {}),
                    ok=False,
                    result=observation(ToolError(kind="invalid", message=str(content))),
                    error_kind="invalid",
                    started_at=start - world.created,
                    duration_ms=(time.perf_counter() - start) * 1000,
                    turn=world.turn,
                )
            )
        world.trace[-1].call_id = call.get("id") or ""
        return result
