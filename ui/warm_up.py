"""Prepare the app's heavy work before anyone waits for it.

Python caches imports per process, so what is imported or computed here is free for every later session.
- Before the server takes its first request (`warm_up_imports`, an `st.App` lifespan): the chat page's modules,
  what its first run computes (the fixtures, the policy the lab opens on, compiled and linted) and the agent stack
  behind the first reply. Done in the background instead, it competed for the interpreter with the server sending
  the browser Streamlit's frontend and with the first run itself (`docs/performance.md`).
- After the chat page has rendered once, in the background: the evals stack behind the other pages.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

LOG = logging.getLogger(__name__)

PAGE_MODULES = ("ui.chat_lab", "streamlit.emojis")  # emojis: the page icon is one
AGENT_MODULES = ("agent.conversation", "agent.models.offline.model")
LATER_MODULES = ("ui.widgets",)
AFTER_RENDER_DELAY_S = 2.0

_started: set[tuple[str, ...]] = set()
_lock = threading.Lock()


def import_all(modules: tuple[str, ...]) -> None:
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception:  # a broken import shows up, with its traceback, when a page imports it itself
            LOG.debug("warm-up import of %s failed", name, exc_info=True)


def prepare_first_page() -> None:
    """Import the chat page and compute what its first run shares with every session."""
    import_all(PAGE_MODULES)
    try:
        from ui.lab import prepare_first_session

        prepare_first_session()
    except Exception:  # a broken policy or fixture is reported by the page itself, with the file to fix
        LOG.debug("preparing the first session failed", exc_info=True)


def map_modules_to_files() -> None:
    """Streamlit asks once per process, on the first element it sends, whether it runs in a REPL, by walking the call
    stack with `inspect`, which first maps each loaded module to its file: 50-170 ms for the ~2,000 modules loaded
    by now, on the first visit, while the server is also sending the browser its frontend. `inspect` keeps that map,
    so making it here moves the cost before serving."""
    try:
        inspect.stack()
    except Exception:  # only a head start: the server must start whatever happens here
        LOG.debug("mapping modules to files failed", exc_info=True)


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
    """The evals stack, once the chat page has rendered and the browser has drawn it."""
    warm_up_in_background(LATER_MODULES, delay_s=AFTER_RENDER_DELAY_S)


@asynccontextmanager
async def warm_up_imports(app: Any) -> AsyncIterator[None]:
    """An `st.App` lifespan: prepare the first page and import the agent stack before serving."""
    await asyncio.to_thread(prepare_before_serving)
    yield


def prepare_before_serving() -> None:
    prepare_first_page()
    import_all(AGENT_MODULES)
    map_modules_to_files()  # last: after every import above
