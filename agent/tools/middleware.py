"""Agent middleware: the system prompt of each conversation, and a trace that also holds calls that never reached a
tool body. Both read the conversation from the runtime context (`ConversationContext`), so one agent graph serves
every conversation of a policy and model.

Kept apart from agent/tools/langchain.py because langchain.agents is a heavy import that the tools do not need.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from langchain.agents.middleware import AgentMiddleware, ModelRequest, hook_config
from langchain_core.messages import AIMessage, SystemMessage, ToolMessage
from langchain_core.messages.tool import invalid_tool_call

from agent.store.trace import ToolCallRecord
from agent.store.world import World
from agent.tools.context import ConversationContext
from agent.tools.results import UNPARSED_TOOL_CALLS as UNPARSED
from agent.tools.results import ToolError, observation
from agent.tools.toolkit import spec_of


def _context(request: Any) -> ConversationContext:
    runtime = getattr(request, "runtime", request)  # a tool or model request, or the runtime itself
    context = runtime.context if runtime is not None else None
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


def _without_guessed_calls(message: AIMessage) -> AIMessage | None:
    """`message` with the streamed calls whose arguments were not complete JSON (LangChain completed them with a
    partial-JSON parser) moved from its tool calls to its invalid ones; None when there are none."""
    unparsed = {c.get("id"): c for c in message.response_metadata.get(UNPARSED) or []}
    guessed = [c for c in message.tool_calls if c.get("id") in unparsed]
    if not guessed:
        return None
    invalid = [
        invalid_tool_call(name=c["name"], args=unparsed[c["id"]]["args"], id=c["id"], error=unparsed[c["id"]]["error"])
        for c in guessed
    ]
    kept = [c for c in message.tool_calls if c.get("id") not in unparsed]
    return message.model_copy(
        update={"tool_calls": kept, "invalid_tool_calls": [*message.invalid_tool_calls, *invalid]}
    )


class AnswerInvalidToolCalls(AgentMiddleware):
    """A tool call whose arguments do not parse as JSON never reaches a tool. Without this, the agent loop sees no
    tool call and ends the turn with an empty reply, the call in no trace. Here it is traced as a failed call, the
    model gets an error observation naming the problem, and the model is called again so it can retry."""

    @hook_config(can_jump_to=["model"])
    def after_model(self, state: Any, runtime: Any) -> dict[str, Any] | None:
        return self._answer(state, runtime)

    @hook_config(can_jump_to=["model"])
    async def aafter_model(self, state: Any, runtime: Any) -> dict[str, Any] | None:
        return self._answer(state, runtime)

    @staticmethod
    def _answer(state: Any, runtime: Any) -> dict[str, Any] | None:
        last = state["messages"][-1] if state.get("messages") else None
        if not isinstance(last, AIMessage):
            return None
        replaced = _without_guessed_calls(last)
        last = replaced or last
        if not last.invalid_tool_calls:
            return None
        world = _context(runtime).world
        answers: list[Any] = [replaced] if replaced is not None else []
        for n, call in enumerate(last.invalid_tool_calls):
            name = call.get("name") or "unknown"
            call_id = call.get("id") or f"invalid_{len(world.trace)}_{n}"
            reason = (call.get("error") or "they could not be parsed").strip()
            message = (
                f"the arguments of this {name} call are not valid JSON ({reason[:200]}): nothing was done; "
                "call the tool again with its arguments as a JSON object"
            )
            result = observation(ToolError(kind="invalid", message=message))
            spec = spec_of(name)
            world.trace.append(
                ToolCallRecord(
                    call_id=call_id,
                    tool=name,
                    kind=spec.kind if spec else "write",
                    args={"unparsed_arguments": str(call.get("args") or "")[:500]},
                    ok=False,
                    result=result,
                    error_kind="invalid",
                    started_at=time.perf_counter() - world.created,
                    duration_ms=0.0,
                    turn=world.turn,
                )
            )
            answers.append(ToolMessage(content=result, tool_call_id=call_id, name=name, status="error"))
        update: dict[str, Any] = {"messages": answers}
        if not last.tool_calls:
            update["jump_to"] = "model"
        return update
