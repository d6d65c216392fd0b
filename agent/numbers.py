"""The one percent parser: every reader of percentages (policies, customers, agent replies) goes through it."""

from __future__ import annotations

import re

PERCENT = re.compile(r"(\d+(?:\.\d+)?)\s*%")


def find_percents(text: str) -> list[float]:
    """Every percentage written in `text`, in order: '10%' and '12.5 %' give [10.0, 12.5]."""
    return [float(p) for p in PERCENT.findall(text)]
