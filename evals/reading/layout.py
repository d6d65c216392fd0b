"""How a reply is cut into what the reader reads: lines without list markers or emphasis, tables read by row (or by
column when the header names the offers), quoted lines left out, sentences wrapped onto the next line joined, then
sentences."""

from __future__ import annotations

import re
from collections.abc import Callable

TABLE_SEPARATOR = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")
LIST_MARKER = re.compile(r"^\s*(?:[-*•+]|\d+[.)]|\d\ufe0f?\u20e3|[a-z][.)]|#+)\s+")
EMPHASIS = re.compile(r"(\*\*|__|\*|`|~~)")
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[^a-z])")
QUOTED = re.compile(r"^\s*>")
CONTINUATION = re.compile(r"^\s*[a-zà-ÿ$€(]")  # not a digit: "1️⃣ …" or "2 options:" starts a line of its own


def _cells(row: str) -> list[str]:
    return [cell.strip() for cell in row.strip().strip("|").split("|")]


def _table_lines(rows: list[str], names_offer: Callable[[str], bool]) -> list[str]:
    """A markdown table as lines: one per row, or one per column when the header names the offers."""
    header = _cells(rows[0]) if len(rows) > 1 and TABLE_SEPARATOR.match(rows[1]) else None
    body = [_cells(r) for r in rows[2 if header else 0 :] if not TABLE_SEPARATOR.match(r)]
    if header and sum(map(names_offer, header)) >= 2:
        return [" ".join(filter(None, [name, *(r[j] for r in body if j < len(r))])) for j, name in enumerate(header)]
    return [" ".join(c for c in row if c) for row in body]


def lines_of(reply: str, names_offer: Callable[[str], bool] = lambda _: False) -> list[str]:
    """The reply's lines, without list markers or emphasis; a table's header is dropped (or read as columns)."""
    raw = _unwrapped(reply.replace("\r\n", "\n").split("\n"))
    lines: list[str] = []
    i = 0
    while i < len(raw):
        if QUOTED.match(raw[i]):  # a quoted line (the customer's words, the policy's) says nothing of the agent's
            i += 1
            continue
        if raw[i].count("|") >= 2:
            j = i
            while j < len(raw) and raw[j].count("|") >= 2:
                j += 1
            found, i = _table_lines(raw[i:j], names_offer), j
        else:
            found, i = [raw[i]], i + 1
        for line in found:
            if line := EMPHASIS.sub("", LIST_MARKER.sub("", line)).strip():
                lines.append(line)
    return lines


def _unwrapped(raw: list[str]) -> list[str]:
    """Lines joined where a sentence was wrapped onto the next line (the line before ends mid-sentence and the next
    starts in lower case), so a sentence is read whole; list items, tables and quotes keep their own lines."""
    joined: list[str] = []
    for line in raw:
        previous = joined[-1] if joined else ""
        wrapped = (
            previous.strip()
            and not previous.rstrip().endswith((".", "!", "?", ":", ";", "|"))
            and CONTINUATION.match(line)
            and not LIST_MARKER.match(line)
            and not QUOTED.match(previous)
        )
        if wrapped:
            joined[-1] = f"{previous.rstrip()} {line.strip()}"
        else:
            joined.append(line)
    return joined


def sentences_of(reply: str, names_offer: Callable[[str], bool] = lambda _: False) -> list[str]:
    return [s.strip() for line in lines_of(reply, names_offer) for s in SENTENCE_END.split(line) if s and s.strip()]
