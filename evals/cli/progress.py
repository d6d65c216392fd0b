"""Progress on the command line: a bar per arm on a terminal, and a status line every few seconds otherwise."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


def progress_bar(console: Console) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[last]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    )


class StatusLine:
    """Progress for output that is not a terminal (CI, a log file, nohup): one line every few seconds, even while no
    conversation finishes, with done, errors, rate, ETA and spend. On a terminal the bar does this instead."""

    def __init__(self, out: Console, label: str, every_s: float = 5.0) -> None:
        self.out, self.label, self.every_s = out, label, every_s
        self.began = self.start = self.last = time.monotonic()  # began: the command's start; start: the rate's
        self.started_at_done: int | None = None
        self.done = self.total = self.errors = 0
        self.spent = 0.0

    def wrap(self, inner: Callable[[Any], None]) -> Callable[[Any], None]:
        def update(event: Any) -> None:
            inner(event)
            if self.started_at_done is None or event.done <= self.started_at_done:  # the first record, or a new arm
                # the rate counts from here: the records after this one, over the time since it came
                self.started_at_done, self.start = event.done, time.monotonic()
            self.done, self.total = event.done, event.total
            self.errors += event.record.error is not None
            self.spent += event.record.economics.cost_usd or 0.0
            self.maybe_print()

        return update

    def tick(self, done: int, total: int, spent: float) -> None:
        """From the runner every few seconds: its spend counts the records of a resumed run too."""
        if self.started_at_done is None:
            self.started_at_done = done
        self.done, self.total, self.spent = done, total, spent
        self.maybe_print()

    def maybe_print(self, force: bool = False) -> None:
        if self.out.is_terminal or (not force and time.monotonic() - self.last < self.every_s):
            return
        self.last = time.monotonic()
        elapsed = self.last - self.start
        counted = self.done - (self.started_at_done or 0)
        if counted > 0 and elapsed >= 1.0:
            rate = counted / elapsed
            pace = f"{rate * 60:.1f}/min, ETA {(self.total - self.done) / rate:,.0f} s"
        else:  # one record in no time is not a rate
            pace = "rate not known yet, ETA unknown"
        self.out.print(
            f"{self.label}: {self.done}/{self.total} done, {self.errors} errors, {pace}, "
            f"spent ${self.spent:.4f}, {self.last - self.began:,.0f} s elapsed",
            highlight=False,
        )


def show_progress(progress: Progress, task_ids: dict[str, TaskID]) -> Callable[[Any], None]:
    """A progress callback that draws one bar per label (one per A/B arm)."""

    def update(event: Any) -> None:
        if event.label not in task_ids:
            task_ids[event.label] = progress.add_task(event.label, total=event.total, last="")
        mark = "ok" if event.record.correct and event.record.adherence_ok else "CHECK"
        last = f"{event.record.key}: {event.record.outcome} [{mark}]"
        progress.update(task_ids[event.label], completed=event.done, total=event.total, last=last)

    return update
