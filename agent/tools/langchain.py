"""The Toolkit as LangChain tools: schemas built once per tool (from signature and docstring), calls traced.

Every call lands in `world.trace`. A broken store rule comes back to the model as a `ToolError` observation rather
than an exception, so the model can explain it or choose something else.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Awaitable, Callable
from functools import cache
from typing import Any

from langchain_core.tools import BaseTool, StructuredTool
from langchain_core.tools.base import create_schema_from_function
from langgraph.runtime import get_runtime
from pydantic import BaseModel, ValidationError
from pydantic.v1 import ValidationError as ValidationErrorV1

from agent.errors import BackendError
from agent.store.trace import ToolCallRecord
from agent.store.world import World
from agent.tools.context import ConversationContext
from agent.tools.results import ToolError, observation
from agent.tools.toolkit import Toolkit, ToolSpec, tool_specs


@cache
def tool_schema(name: str) -> tuple[str, type[BaseModel]]:
    """(description, argument schema) of one tool, from its method's docstring and signature, built once."""
    method = getattr(Toolkit, name)
    schema = create_schema_from_function(
        name, method, filter_args=["self"], parse_docstring=True, error_on_invalid_docstring=True
    )
    # a model's arguments are checked strictly, as a direct call's are: true is not 1%, "10" is not 10 (the JSON schema
    # the model sees does not change)
    if issubclass(schema, BaseModel):  # pydantic 2 (create_schema_from_function may also give a pydantic.v1 model)
        schema.model_config["strict"] = True
        schema.model_rebuild(force=True)
    description = inspect.getdoc(method) or name
    return description.split("\n\nArgs:", 1)[0].strip(), schema  # type: ignore[return-value]


class _Attempts:
    def __init__(self) -> None:
        self.count = 1

    def retried(self) -> None:
        self.count += 1


def _traced_call(world: World, spec: ToolSpec, kwargs: dict[str, Any]) -> str:
    """Run one tool method on `world` (retrying transient backend errors), record it in the trace, and turn
    backend errors into observations."""
    method = getattr(Toolkit(world), spec.name)
    start, attempts = time.perf_counter(), _Attempts()
    try:
        outcome = world.backend_retry.call(lambda: method(**kwargs), attempts.retried)
    except BackendError as exc:
        outcome = exc
    return _recorded(world, spec, kwargs, outcome, attempts.count, start)


async def _atraced_call(world: World, spec: ToolSpec, kwargs: dict[str, Any]) -> str:
    """`_traced_call` on the event loop: the store's methods are quick, so an agent graph called with `ainvoke` runs
    them without a worker thread (a thread per call costs more CPU than the call), and waits between retries."""
    method = getattr(Toolkit(world), spec.name)
    start, attempts = time.perf_counter(), _Attempts()
    try:
        outcome = await world.backend_retry.acall(lambda: method(**kwargs), attempts.retried)
    except BackendError as exc:
        outcome = exc
    return _recorded(world, spec, kwargs, outcome, attempts.count, start)


def _recorded(world: World, spec: ToolSpec, kwargs: dict[str, Any], outcome: Any, attempts: int, start: float) -> str:
    """The call in the trace, and its observation for the model (a backend error is an observation too)."""
    error_kind = outcome.kind if isinstance(outcome, BackendError) else None
    result = observation(ToolError(kind=outcome.kind, message=str(outcome)) if error_kind else outcome)
    world.trace.append(
        ToolCallRecord(
            tool=spec.name,
            kind=spec.kind,
            args=dict(kwargs),
            ok=error_kind is None,
            result=result,
            error_kind=error_kind,
            attempts=attempts,
            started_at=start - world.created,
            duration_ms=(time.perf_counter() - start) * 1000,
            turn=world.turn,
        )
    )
    return result


def _context_world() -> World:
    context = get_runtime().context  # LangGraph's runtime of the call this tool body runs in
    if not isinstance(context, ConversationContext):
        raise TypeError("the agent graph must be called with context=ConversationContext(world, system_prompt)")
    return context.world


def _on_context_world(spec: ToolSpec) -> Callable[..., str]:
    """The tool body of a shared agent graph: the world comes with each call, as the runtime context."""

    def call(**kwargs: Any) -> str:
        return _traced_call(_context_world(), spec, kwargs)

    return call


def _on_context_world_async(spec: ToolSpec) -> Callable[..., Awaitable[str]]:
    async def call(**kwargs: Any) -> str:
        return await _atraced_call(_context_world(), spec, kwargs)

    return call


def _on_world(world: World, spec: ToolSpec) -> Callable[..., str]:
    """The tool body bound to one world (direct calls, outside an agent graph)."""

    def call(**kwargs: Any) -> str:
        return _traced_call(world, spec, kwargs)

    return call


def _invalid_arguments(error: ValidationError | ValidationErrorV1) -> str:
    """Arguments that do not fit the schema ("percent": "lots") come back to the model as an observation."""
    problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors())  # type: ignore[union-attr]
    return observation(ToolError(kind="invalid", message=f"invalid arguments: {problems}"))


def build_tools(world: World | None = None) -> list[BaseTool]:
    """The LangChain tools, traced into the world's trace. Without `world` they serve every conversation of a shared
    agent graph, which passes each conversation's world as the runtime context (`ConversationContext`); with one
    they are bound to it, for direct calls."""
    tools: list[BaseTool] = []
    for spec in tool_specs():
        description, schema = tool_schema(spec.name)
        tools.append(
            StructuredTool(
                name=spec.name,
                description=description,
                args_schema=schema,
                func=_on_context_world(spec) if world is None else _on_world(world, spec),
                coroutine=_on_context_world_async(spec) if world is None else None,
                metadata={"kind": spec.kind, "offer": spec.offer.value if spec.offer else None},
                tags=[spec.kind],
                handle_validation_error=_invalid_arguments,
            )
        )
    return tools
