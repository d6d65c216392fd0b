"""LangChain tools bound to one world and scoped to its customer.

The tool bodies live in `agent.toolkit`; here each gets its schema (from its signature and docstring) and a trace.
Every call lands in `world.trace`. A broken store rule comes back to the model as an `ERROR (...)`
observation rather than an exception, so the model can explain it or choose something else.
"""

from __future__ import annotations

import functools
import json
import threading
import time
from collections.abc import Callable
from typing import Any

from langchain_core.tools import BaseTool, StructuredTool, tool

from agent.errors import BackendError
from agent.toolkit import ToolKind, tool_bodies
from agent.world import ToolCallRecord, World


def as_observation(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def _traced(world: World, kind: ToolKind, func: Callable[..., Any]) -> Callable[..., str]:
    """Run a tool body, record it in the trace, and turn backend errors into observations."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> str:
        start = time.perf_counter()
        try:
            result, ok, error_kind = as_observation(func(*args, **kwargs)), True, None
        except BackendError as exc:
            result, ok, error_kind = f"ERROR ({exc.kind}): {exc}", False, exc.kind
        world.trace.append(
            ToolCallRecord(
                tool=func.__name__,
                kind=kind,
                args=dict(kwargs),
                ok=ok,
                result=result,
                error_kind=error_kind,
                started_at=start - world.created,
                duration_ms=(time.perf_counter() - start) * 1000,
                turn=world.turn,
            )
        )
        return result

    return wrapper


_SCHEMAS: dict[str, tuple[str, Any]] = {}
_SCHEMA_LOCK = threading.Lock()


def _bind(func: Callable[..., Any], body: Callable[..., str], kind: ToolKind, offer: str | None) -> BaseTool:
    """A tool for one world. The schema comes from the signature and docstring once, then is reused (it is costly)."""
    with _SCHEMA_LOCK:
        if func.__name__ not in _SCHEMAS:
            template = tool(func.__name__, parse_docstring=True)(func)
            _SCHEMAS[func.__name__] = (template.description, template.args_schema)
    description, schema = _SCHEMAS[func.__name__]
    return StructuredTool(
        name=func.__name__,
        description=description,
        args_schema=schema,
        func=body,
        metadata={"kind": kind, "offer": offer},
        tags=[kind],
    )


def build_tools(world: World) -> list[BaseTool]:
    """The LangChain toolkit for one conversation, traced into `world.trace`."""
    return [_bind(b.func, _traced(world, b.kind, b.func), b.kind, b.offer) for b in tool_bodies(world)]


def offer_tools(tools: list[BaseTool]) -> dict[str, str]:
    """Map each retention tool's name to the offer it applies (read from the tool's metadata)."""
    return {t.name: t.metadata["offer"] for t in tools if t.metadata and t.metadata.get("offer")}
