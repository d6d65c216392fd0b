"""What the misbehaving agent double says when it makes a mistake, and the words its reply styles use:
`fixtures/misbehaving_agent/wording.yaml`, read once."""

from __future__ import annotations

from functools import cache
from typing import Any

from agent.datafiles import DEFAULT_FIXTURES, read_yaml

WORDING_FILE = DEFAULT_FIXTURES / "misbehaving_agent" / "wording.yaml"


@cache
def wording() -> dict[str, Any]:
    return read_yaml(WORDING_FILE)


def said(key: str, **facts: Any) -> str:
    return str(wording()["said"][key]).format(**facts)
