"""The collector and a run's long-lived objects.

A run keeps every imported module, the fixtures, the compiled policies and the agent graphs for its whole length, and
allocates many short-lived objects per model call. Python's collector would walk the long-lived ones again at every
full collection; frozen for the run's length, it walks only what the run itself makes (see `gc.freeze`).
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_active = 0  # runs in this process inside the block (the app can run evals on several sessions' threads at once)


@contextmanager
def long_lived_objects_frozen() -> Iterator[None]:
    """Freeze what exists now out of the collector's walks while any run is active, and give it back when the last one
    ends (a process that runs evals one after another, like the app, collects the earlier runs' garbage as usual).
    Garbage that exists when the first run starts is frozen too and collected afterwards: a full collection first
    would hold the run for about 0.1 s, longer in a process that has run evals before."""
    global _active
    with _lock:
        if _active == 0:
            gc.freeze()
        _active += 1
    try:
        yield
    finally:
        with _lock:
            _active -= 1
            if _active == 0:
                gc.unfreeze()
