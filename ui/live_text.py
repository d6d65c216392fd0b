"""Lint as you type: a small Streamlit component (components v2, no build step) that sends what is typed in a text
area to Python while the user types, debounced. Streamlit's text area sends its value only on blur or Ctrl+Enter.
UI only."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import streamlit as st

SCRIPT = Path(__file__).parent / "assets" / "live_text.js"
DELAY_MS = 350  # a pause in typing this long sends the text


@cache
def _component() -> Any:
    return st.components.v2.component("retention_lab_live_text", js=SCRIPT.read_text(encoding="utf-8"))


def live_text(widget_key: str) -> str | None:
    """The text being typed in the text area with `widget_key`, or None when nothing uncommitted is being typed
    (then the text area's own value is current)."""
    result = _component()(
        key=f"{widget_key}-live",
        data={"key": widget_key, "delay": DELAY_MS},
        default={"text": None},
        on_text_change=lambda: None,
        height=0,
    )
    text = getattr(result, "text", None)
    return text if isinstance(text, str) else None
