"""Retries of transient backend errors, as a real Magento or Gorgias client would do them: exponential backoff with
full jitter, a bounded number of attempts, and only for errors that are safe to retry (every write is idempotent).

The delays default to the simulated backends' scale (milliseconds); a client of a real store would pass seconds.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from tenacity import AsyncRetrying, Retrying, retry_if_exception_type, stop_after_attempt, wait_random_exponential

from agent.errors import TransientBackendError

T = TypeVar("T")


@dataclass(frozen=True)
class BackendRetry:
    attempts: int = 3
    first_delay_s: float = 0.005
    max_delay_s: float = 0.05
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False, repr=False)
    async_sleep: Callable[[float], Awaitable[None]] = field(default=asyncio.sleep, compare=False, repr=False)

    def call(self, operation: Callable[[], T], on_retry: Callable[[], None] | None = None) -> T:
        """Run `operation`, retrying transient backend errors; the last error is raised when every attempt failed."""
        return Retrying(sleep=self.sleep, **self._policy(on_retry))(operation)

    async def acall(self, operation: Callable[[], T], on_retry: Callable[[], None] | None = None) -> T:
        """`call` on an event loop: `operation` runs on the loop, and the waits between attempts do not block it."""
        async for attempt in AsyncRetrying(sleep=self.async_sleep, **self._policy(on_retry)):
            with attempt:
                return operation()
        raise AssertionError("unreachable: the last failed attempt re-raises its error")

    def _policy(self, on_retry: Callable[[], None] | None) -> dict[str, Any]:
        return {
            "retry": retry_if_exception_type(TransientBackendError),
            "stop": stop_after_attempt(self.attempts),
            "wait": wait_random_exponential(multiplier=self.first_delay_s, max=self.max_delay_s),
            "before_sleep": (lambda _state: on_retry()) if on_retry else None,
            "reraise": True,
        }


NO_RETRY = BackendRetry(attempts=1)
SIMULATED_BACKEND_RETRY = BackendRetry()
