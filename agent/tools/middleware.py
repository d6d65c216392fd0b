"""Agent middleware that completes the world's trace with calls that never reached a tool body.

Kept apart from agent/tools/langchain.py because langchain.agents is a heavy import that the tools do not need.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from langchain.agents.middleware import AgentMiddleware

from agent.store.trace import ToolCallRecord
from agent.store.world import World
from agent.tools.results import ToolError, observation


class TraceEveryCall(AgentMiddleware):
    """Record calls that never reach a tool body (unknown tool, bad arguments) and tag records with the call id."""

    def __init__(self, world: World) -> None:
        super().__init__()
        self.world = world

    def wrap_tool_call(self, request: Any, handler: Callable[[Any], Any]) -> Any:
        before, start = len(self.world.trace), time.perf_counter()
        return self._complete(request, handler(request), before, start)

    async def awrap_tool_call(self, request: Any, handler: Callable[[Any], Awaitable[Any]]) -> Any:
        before, start = len(self.world.trace), time.perf_counter()
        return self._complete(request, await handler(request), before, start)

    def _complete(self, request: Any, result: Any, before: int, start: float) -> Any:
        call = request.tool_call
        if len(self.world.trace) == before:
            content = getattr(result, "content", str(result))
            self.world.trace.append(
                ToolCallRecord(
                    tool=call["name"],
                    kind="write" if request.tool is None else request.tool.metadata.get("kind", "read"),
                    args=dict(call.get("args") or {}),
                    ok=False,
                    result=observation(ToolError(kind="invalid", message=str(content))),
                    error_kind="invalid",
                    started_at=start - self.world.created,
                    duration_ms=(time.perf_counter() - start) * 1000,
                    turn=self.world.turn,
                )
            )
        self.world.trace[-1].call_id = call.get("id") or ""
        return result
