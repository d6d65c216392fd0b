"""The order in which a run starts its conversations: longest expected first, learned from the run itself.

Conversations of one persona under one policy tend to be alike in length, and a run that starts its longest
conversations last ends with a few slots working alone. So a run first starts one conversation of each group (a
persona under a policy, in plan order), then always starts a pending conversation of the group whose finished
conversations took longest so far; groups with none finished yet come first. Nothing is known before the run, and
every job is started exactly once.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Hashable, Iterable
from typing import Generic, TypeVar

J = TypeVar("J")


class LongestFirst(Generic[J]):
    def __init__(self, jobs: Iterable[J], group: Callable[[J], Hashable]) -> None:
        self.group = group
        self._pending: dict[Hashable, deque[J]] = {}  # groups in the plan order of their first job
        for job in jobs:
            self._pending.setdefault(group(job), deque()).append(job)
        self._started: set[Hashable] = set()
        self._seconds: dict[Hashable, tuple[float, int]] = {}  # group -> (total seconds, conversations)

    def __len__(self) -> int:
        return sum(len(jobs) for jobs in self._pending.values())

    def pop(self) -> J | None:
        """The next conversation to start, or None when every one has been started."""
        waiting = [(self._rank(key), order, key) for order, (key, jobs) in enumerate(self._pending.items()) if jobs]
        if not waiting:
            return None
        key = min(waiting)[2]
        self._started.add(key)
        return self._pending[key].popleft()

    def finished(self, job: J, seconds: float) -> None:
        """A conversation of `job`'s group took `seconds`: pending ones of its group move by that."""
        total, count = self._seconds.get(self.group(job), (0.0, 0))
        self._seconds[self.group(job)] = (total + seconds, count + 1)

    def _rank(self, key: Hashable) -> tuple[int, float]:
        if key not in self._started:
            return (0, 0.0)  # one of each group first
        if key not in self._seconds:
            return (1, 0.0)  # started, none finished: maybe long
        total, count = self._seconds[key]
        return (2, -total / count)  # then the longest so far
