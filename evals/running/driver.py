"""Drives a run's conversations on one event loop: at most `concurrency` in flight, each under a wall-clock limit,
and a stop (budget spent, Stop pressed, Ctrl+C) that never loses a finished record.

Records reach `sink` one at a time, on the loop's thread, so the caller alone writes results.jsonl; every record of a
batch is written before any `notify` callback runs (a callback that raises, as Streamlit's Stop does, loses nothing).
A conversation that goes over its limit is cancelled and becomes an error record built from what it had played so
far; one that fails in an unexpected way becomes an error record too, never the end of the run.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar, runtime_checkable

J = TypeVar("J")
R = TypeVar("R")

BUDGET = "budget"
STOPPED = "stopped"


@dataclass
class Holder:
    """What a conversation has played so far, kept outside its coroutine so a cancelled one can still be recorded."""

    parts: dict[str, Any] = field(default_factory=dict)


@dataclass
class DriverLimits:
    concurrency: int
    conversation_timeout_s: float | None = None
    max_cost_usd: float | None = None
    spent_usd: float = 0.0  # spend of the records finished before (a resumed run)
    heartbeat_s: float = 2.0
    # The first `concurrency` conversations start this far apart. Started all at once against a server whose latency
    # is even, their replies keep arriving together, and the last of each burst waits for the client to handle all the
    # others (about 10 ms of CPU each); spread out, each is handled as it arrives. A later conversation starts when
    # another ends, which is spread out already.
    ramp_s: float = 0.010


async def _as_is(record: Any) -> Any:
    return record


@runtime_checkable
class JobQueue(Protocol[J]):
    """Picks the next job to start (`pop`, None when none is left) and hears how long each finished one took."""

    def pop(self) -> J | None: ...

    def finished(self, job: J, seconds: float) -> None: ...


class _InOrder(Generic[J]):
    def __init__(self, jobs: Iterable[J]) -> None:
        self._jobs = iter(jobs)

    def pop(self) -> J | None:
        return next(self._jobs, None)

    def finished(self, job: J, seconds: float) -> None:
        return None


@dataclass
class Driver(Generic[J, R]):
    play: Callable[[J, Holder], Awaitable[R]]  # the part held to the wall-clock limit
    over_time: Callable[[J, Holder, float], R]
    failed: Callable[[J, Holder, BaseException], R]
    cost: Callable[[R], float]
    sink: Callable[[R], None]
    limits: DriverLimits
    finish: Callable[[R], Awaitable[R]] = _as_is  # after the limit: the judge, which must not cost a finished record
    notify: Callable[[R], None] = lambda record: None
    should_stop: Callable[[], bool] = lambda: False
    on_tick: Callable[[float], None] = lambda spent: None
    seconds: Callable[[R], float] = lambda record: 0.0  # how long a finished conversation took, for a JobQueue
    stop_reason: str | None = None
    _started: int = field(default=0, init=False)  # conversations started so far, for the ramp

    async def run(self, jobs: Iterable[J] | JobQueue[J]) -> str | None:
        """Play every job (or until a stop), in the order of `jobs` or as a `JobQueue` picks them; returns why it
        stopped early (BUDGET, STOPPED) or None."""
        # the run's own threads for the sync parts (tools, the cache, helper models): the loop's default pool has
        # only a few, and a slow judge must not starve the agent's tool calls
        loop = asyncio.get_running_loop()
        loop.set_default_executor(ThreadPoolExecutor(max_workers=max(8, self.limits.concurrency * 3)))
        queue = jobs if isinstance(jobs, JobQueue) else _InOrder(jobs)
        running: dict[asyncio.Task[R], tuple[J, Holder]] = {}
        self._started = 0
        spent = self.limits.spent_usd
        try:
            while True:
                self._top_up(queue, running, spent)
                if not running:
                    return self.stop_reason
                done, _ = await asyncio.wait(running, timeout=self.limits.heartbeat_s, return_when="FIRST_COMPLETED")
                finished = []
                for task in done:
                    job, holder = running.pop(task)
                    finished.append((job, self._result(task, job, holder)))
                for _job, record in finished:
                    spent += self.cost(record)
                    self.sink(record)
                for job, record in finished:
                    queue.finished(job, self.seconds(record))
                for _job, record in finished:
                    self.notify(record)
                if self.should_stop():
                    self.stop_reason = STOPPED
                self.on_tick(spent)
        finally:  # Ctrl+C, Stop or an error: abandon what is in flight; it is redone on --resume
            for task in running:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)

    def _top_up(self, queue: JobQueue[J], running: dict[asyncio.Task[R], tuple[J, Holder]], spent: float) -> None:
        budget = self.limits.max_cost_usd
        if budget is not None and spent >= budget and self.stop_reason is None:
            if queue.pop() is None:
                return  # every conversation has started: the budget stopped nothing
            self.stop_reason = BUDGET  # the job just taken is left for --resume, with the others not started
        while self.stop_reason is None and len(running) < self.limits.concurrency:
            job = queue.pop()
            if job is None:
                return
            holder = Holder()
            wait = self._started * self.limits.ramp_s if self._started < self.limits.concurrency else 0.0
            self._started += 1
            running[asyncio.ensure_future(self._one(job, holder, wait))] = (job, holder)

    async def _one(self, job: J, holder: Holder, wait: float = 0.0) -> R:
        if wait:
            await asyncio.sleep(wait)  # the ramp: not part of the conversation's time or its wall-clock limit
        try:
            record = await asyncio.wait_for(self.play(job, holder), self.limits.conversation_timeout_s)
        except TimeoutError:
            return self.over_time(job, holder, self.limits.conversation_timeout_s or 0)
        return await self.finish(record)

    def _result(self, task: asyncio.Task[R], job: J, holder: Holder) -> R:
        try:
            return task.result()
        except Exception as exc:  # an actor that died, a bug in one conversation: that conversation is an error
            return self.failed(job, holder, exc)
