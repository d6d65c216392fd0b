"""Tokens spent by the chat-model calls made inside a block, for pricing the models around the agent (the model
reader, the judge, the customer's voice).

The counter is a LangChain callback handler that LangChain attaches to every chat-model call made while it is set,
through a context variable (as `get_usage_metadata_callback` does, but counting answers whatever model name the server
reports, or none). Concurrent conversations and worker threads each count only their own calls.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import AIMessage
from langchain_core.outputs import ChatGeneration, LLMResult
from langchain_core.tracers.context import register_configure_hook


@dataclass
class TokenCount:
    input: int = 0
    output: int = 0


class _TokenCounter(BaseCallbackHandler):
    def __init__(self) -> None:
        super().__init__()
        self.count = TokenCount()
        self._lock = threading.Lock()

    def on_llm_end(self, response: LLMResult, **kwargs: Any) -> None:
        for generations in response.generations:
            for generation in generations:
                message = generation.message if isinstance(generation, ChatGeneration) else None
                usage = message.usage_metadata if isinstance(message, AIMessage) else None
                if usage:
                    with self._lock:
                        self.count.input += usage.get("input_tokens", 0)
                        self.count.output += usage.get("output_tokens", 0)


_COUNTER: ContextVar[_TokenCounter | None] = ContextVar("retention_lab_token_counter", default=None)
register_configure_hook(_COUNTER, inheritable=True)


@contextmanager
def tokens_used() -> Iterator[TokenCount]:
    """`with tokens_used() as used: ...`; `used` holds the block's input and output tokens once it ends."""
    counter = _TokenCounter()
    token = _COUNTER.set(counter)
    try:
        yield counter.count
    finally:
        _COUNTER.reset(token)
