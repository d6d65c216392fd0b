"""Import the app's heavy modules in the background, before anyone needs them.

Python caches imports per process, so a module imported here is free for every later session.
- When the server starts (`warm_up_imports`, an `st.App` lifespan): the chat page's own modules,
  which decide how soon the first render comes.
- After the chat page has rendered once (`warm_up_after_first_render`): the agent stack behind the first
  reply and the evals stack behind the other pages. Importing them earlier would compete with the first
  render for the interpreter.
"""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

LOG = logging.getLogger(__name__)

PAGE_MODULES = ("ui.chat_lab", "pandas.io.formats.style")
LATER_MODULES = ("agent.conversation", "agent.models.offline.model", "ui.widgets")
AFTER_RENDER_DELAY_S = 2.0

_started: set[tuple[str, ...]] = set()
_lock = threading.Lock()


def import_all(modules: tuple[str, ...]) -> None:
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception:  # a broken import shows up, with its traceback, when a page imports it itself
            LOG.debug("warm-up import of %s failed", name, exc_info=True)


def warm_up_in_background(modules: tuple[str, ...], delay_s: float = 0.0) -> None:
    """Import `modules` in a daemon thread after `delay_s`, once per process."""
    with _lock:
        if modules in _started:
            return
        _started.add(modules)
    timer = threading.Timer(delay_s, import_all, args=(modules,))
    timer.name, timer.daemon = "warm-up-imports", True
    timer.start()


def warm_up_after_first_render() -> None:
    """After a delay: the browser goes on loading and drawing the page for about a second after the script run
    ends, and starting these imports at once made the first render slower: median 2.51 s against 2.06 s with
    this delay, over 5 fresh-server visits each (new browser profiles, timed as benchmarks/bench_chat.py does)."""
    warm_up_in_background(LATER_MODULES, delay_s=AFTER_RENDER_DELAY_S)


@asynccontextmanager
async def warm_up_imports(app: Any) -> AsyncIterator[None]:
    """An `st.App` lifespan: start importing the page at once; the server does not wait for it."""
    warm_up_in_background(PAGE_MODULES)
    yield
