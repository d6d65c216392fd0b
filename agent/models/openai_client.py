"""ChatOpenAI with less client work per call, found with a profiler on evals against a 200 ms stub
(benchmarks/bench_evals.py): per model call, the openai SDK walked the whole request (every message and tool schema)
to apply field aliases that chat messages and tool schemas do not have (about 10 ms), and the agent converted every
tool to OpenAI's format again (about 5 ms).

- Tools are converted once per (name, description, argument schema) and reused by every conversation of the process.
- Messages and tools go to the server through `extra_body`, which the SDK merges into the JSON body as it is, so the
  bytes on the wire are the same (tests/test_openai_path.py replays cassettes that match on the body).
Nothing else changes: structured output, streaming and the Responses API take ChatOpenAI's own paths.

One safety check is added on the streaming path: LangChain completes a tool call's streamed arguments with a
partial-JSON parser, so arguments cut off mid-way (`{"percent": 15`) would become a valid call. The raw arguments of
each streamed call are kept, and those that are not complete JSON are named in the message's
`response_metadata["unparsed_tool_calls"]`; the agent answers them as invalid (agent/tools/middleware.py).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator, Sequence
from functools import lru_cache
from typing import Any

from langchain_core.messages import AIMessageChunk
from langchain_core.outputs import ChatGenerationChunk
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from langchain_openai import ChatOpenAI

from agent.tools.results import UNPARSED_TOOL_CALLS as UNPARSED

PASSED_AS_IS = ("messages", "tools")


@lru_cache(maxsize=512)
def _openai_tool(name: str, description: str, schema: Any, strict: bool | None) -> dict[str, Any]:
    return convert_to_openai_tool({"name": name, "description": description, "parameters": schema}, strict=strict)


def _formatted(tool: Any, strict: bool | None) -> Any:
    """A BaseTool as OpenAI's tool dict, from the cache when its name, description and schema were seen before.
    Strict schemas and tools with extras take LangChain's own conversion (it may change them)."""
    if isinstance(tool, BaseTool) and isinstance(tool.args_schema, type) and not strict and not tool.extras:
        key = tool.args_schema
        return _openai_tool(tool.name, tool.description, _schema_json(key), strict)
    return tool


@lru_cache(maxsize=512)
def _schema_json(schema: type) -> Any:
    from langchain_core.utils.function_calling import convert_to_openai_function

    return _FrozenSchema(convert_to_openai_function(schema)["parameters"])


class _FrozenSchema(dict):  # type: ignore[type-arg]
    """A JSON schema that can be a cache key (schemas are built once per tool and never changed)."""

    def __hash__(self) -> int:  # type: ignore[override]
        return id(self)


class LeanChatOpenAI(ChatOpenAI):
    def bind_tools(self, tools: Sequence[Any], *, strict: bool | None = None, **kwargs: Any) -> Any:  # type: ignore[override]
        if kwargs.get("response_format") is not None:
            return super().bind_tools(tools, strict=strict, **kwargs)  # strict tools, converted by LangChain
        return super().bind_tools([_formatted(t, strict) for t in tools], strict=strict, **kwargs)

    def _get_request_payload(self, input_: Any, *, stop: list[str] | None = None, **kwargs: Any) -> dict:  # type: ignore[type-arg]
        payload = super()._get_request_payload(input_, stop=stop, **kwargs)
        if "response_format" in payload or self._use_responses_api(payload):
            return payload  # ChatOpenAI's own parse paths read these fields
        extra = dict(payload.get("extra_body") or {})
        for key in PASSED_AS_IS:
            if key in payload:
                extra[key] = payload[key]
                payload[key] = []  # the key keeps its place in the body; extra_body gives it its value
        payload["extra_body"] = extra
        return payload

    def _stream(self, *args: Any, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        return _checked(super()._stream(*args, **kwargs))

    def _astream(self, *args: Any, **kwargs: Any) -> AsyncIterator[ChatGenerationChunk]:
        return _achecked(super()._astream(*args, **kwargs))


class _RawArguments:
    """The raw argument text of each streamed tool call, by index, to tell complete JSON from a completed guess."""

    def __init__(self) -> None:
        self.calls: dict[int, dict[str, str]] = {}

    def see(self, chunk: ChatGenerationChunk) -> None:
        message = chunk.message
        for piece in getattr(message, "tool_call_chunks", None) or []:
            call = self.calls.setdefault(piece.get("index") or 0, {"id": "", "name": "", "args": ""})
            call["id"] = call["id"] or (piece.get("id") or "")
            call["name"] = call["name"] or (piece.get("name") or "")
            call["args"] += piece.get("args") or ""

    def verdict(self) -> ChatGenerationChunk | None:
        """A last, empty chunk naming the calls whose arguments are not complete JSON (None when all are)."""
        unparsed = []
        for call in self.calls.values():
            try:
                json.loads(call["args"] or "{}")
            except ValueError as exc:
                unparsed.append({**call, "error": str(exc)})
        if not unparsed:
            return None
        return ChatGenerationChunk(message=AIMessageChunk(content="", response_metadata={UNPARSED: unparsed}))


def _checked(chunks: Iterator[ChatGenerationChunk]) -> Iterator[ChatGenerationChunk]:
    raw = _RawArguments()
    for chunk in chunks:
        raw.see(chunk)
        yield chunk
    if (last := raw.verdict()) is not None:
        yield last


async def _achecked(chunks: AsyncIterator[ChatGenerationChunk]) -> AsyncIterator[ChatGenerationChunk]:
    raw = _RawArguments()
    async for chunk in chunks:
        raw.see(chunk)
        yield chunk
    if (last := raw.verdict()) is not None:
        yield last
