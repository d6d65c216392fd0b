"""ChatOpenAI with less client work per call, found with a profiler on evals against a 200 ms stub
(benchmarks/bench_evals.py): per model call, the openai SDK walked the whole request (every message and tool schema)
to apply field aliases that chat messages and tool schemas do not have (about 10 ms), and the agent converted every
tool to OpenAI's format again (about 5 ms).

- Tools are converted once per (name, description, argument schema) and reused by every conversation of the process.
- Messages and tools go to the server through `extra_body`, which the SDK merges into the JSON body as it is, so the
  bytes on the wire are the same (tests/test_openai_path.py replays cassettes that match on the body).
Nothing else changes: structured output, streaming and the Responses API take ChatOpenAI's own paths.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from langchain_openai import ChatOpenAI

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
