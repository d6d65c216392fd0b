"""Limits on a run's model traffic: requests per minute (LangChain's rate limiter) and tokens per minute (a
sliding window that holds a new model call until the last minute's tokens are under the limit)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from typing import Any

from langchain_core.callbacks import AsyncCallbackHandler
from langchain_core.language_models import BaseChatModel
from langchain_core.outputs import LLMResult
from langchain_core.rate_limiters import InMemoryRateLimiter

WINDOW_S = 60.0


class TokensPerMinute(AsyncCallbackHandler):
    """Waits before a model call while the tokens used in the last minute reach `tpm`."""

    raise_error = True

    def __init__(self, tpm: float) -> None:
        self.tpm = tpm
        self.used: deque[tuple[float, int]] = deque()
        self.waited_s = 0.0
        self._lock = threading.Lock()  # helper models report their tokens from worker threads

    def in_window(self) -> int:
        cutoff = time.monotonic() - WINDOW_S
        with self._lock:
            while self.used and self.used[0][0] < cutoff:
                self.used.popleft()
            return sum(tokens for _, tokens in self.used)

    async def on_chat_model_start(self, serialized: dict[str, Any], messages: Any, **kwargs: Any) -> None:
        start = time.monotonic()
        while self.in_window() >= self.tpm:
            await asyncio.sleep(0.2)
        self.waited_s += time.monotonic() - start

    async def on_llm_end(self, response: LLMResult, **kwargs: Any) -> None:
        tokens = 0
        for generations in response.generations:
            for generation in generations:
                usage = getattr(getattr(generation, "message", None), "usage_metadata", None) or {}
                tokens += int(usage.get("total_tokens", 0))
        with self._lock:
            self.used.append((time.monotonic(), tokens))


class TrafficLimits:
    """A run's --rpm and --tpm: one budget shared by every model of the run (agent, reader, judge)."""

    def __init__(self, rpm: float | None, tpm: float | None) -> None:
        self.requests = InMemoryRateLimiter(requests_per_second=rpm / 60, check_every_n_seconds=0.05) if rpm else None
        self.tokens = TokensPerMinute(tpm) if tpm else None

    def apply(self, model: BaseChatModel) -> BaseChatModel:
        if self.requests is not None:
            model.rate_limiter = self.requests
        if self.tokens is not None:
            model.callbacks = [*(model.callbacks or []), self.tokens]  # type: ignore[list-item, misc]
        return model
