"""The order in which a run starts its conversations: longest expected first, learned from the run itself.

Conversations of one persona tend to be alike in length, and a run that starts its longest conversations last ends
with a few slots working alone. So a run first starts one conversation of each persona (in plan order), then always
starts a pending conversation of the persona whose finished conversations took longest so far; personas with none
finished yet come first. Nothing is known before the run, and every job is started exactly once.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from typing import Generic, TypeVar

J = TypeVar("J")


class LongestFirst(Generic[J]):
    def __init__(self, jobs: Iterable[J], group: Callable[[J], Hashable]) -> None:
        self.group = group
        self._pending: list[J] = list(jobs)
        self._started: set[Hashable] = set()
        self._seconds: dict[Hashable, list[float]] = {}

    def __len__(self) -> int:
        return len(self._pending)

    def pop(self) -> J | None:
        """The next conversation to start, or None when every one has been started."""
        if not self._pending:
            return None
        index = min(range(len(self._pending)), key=lambda i: (self._rank(self._pending[i]), i))
        job = self._pending.pop(index)
        self._started.add(self.group(job))
        return job

    def finished(self, job: J, seconds: float) -> None:
        """A conversation of `job`'s group took `seconds`: pending ones of its group move by that."""
        self._seconds.setdefault(self.group(job), []).append(seconds)

    def _rank(self, job: J) -> tuple[int, float]:
        key = self.group(job)
        if key not in self._started:
            return (0, 0.0)  # one of each group first
        times = self._seconds.get(key)
        if not times:
            return (1, 0.0)  # started, none finished: maybe long
        return (2, -sum(times) / len(times))  # then the longest so far
