"""Retries of transient backend errors, as a real Magento or Gorgias client would do them: exponential backoff with
full jitter, a bounded number of attempts, and only for errors that are safe to retry (every write is idempotent).

The delays default to the simulated backends' scale (milliseconds); a client of a real store would pass seconds.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_random_exponential

from agent.errors import TransientBackendError

T = TypeVar("T")


@dataclass(frozen=True)
class BackendRetry:
    attempts: int = 3
    first_delay_s: float = 0.005
    max_delay_s: float = 0.05
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False, repr=False)

    def call(self, operation: Callable[[], T], on_retry: Callable[[], None] | None = None) -> T:
        """Run `operation`, retrying transient backend errors; the last error is raised when every attempt failed."""
        retrying = Retrying(
            retry=retry_if_exception_type(TransientBackendError),
            stop=stop_after_attempt(self.attempts),
            wait=wait_random_exponential(multiplier=self.first_delay_s, max=self.max_delay_s),
            before_sleep=(lambda _state: on_retry()) if on_retry else None,
            reraise=True,
            sleep=self.sleep,
        )
        return retrying(operation)


NO_RETRY = BackendRetry(attempts=1)
SIMULATED_BACKEND_RETRY = BackendRetry()
