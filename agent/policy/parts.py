"""Split a policy's markdown into the parts the offer reader classifies: list items, table rows and sentences.

Each part keeps its line, the heading of its section, and how it was introduced (the line before a list or table), so
the same offers written as a list, a table, one heading per offer or prose become the same parts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
HEADING = re.compile(r"^\s*#{1,6}\s+(.*)$")
TABLE_ROW = re.compile(r"^\s*\|(.*)\|\s*$")
TABLE_SEPARATOR = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")
SENTENCE_END = re.compile(r"(?<=[.!?;])\s+|\s+(?=then\b)", re.IGNORECASE)
PartKind = Literal["item", "row", "sentence"]


@dataclass(frozen=True)
class Part:
    kind: PartKind
    line: int
    text: str
    heading: str  # the heading of the section the part is in ("" before any heading)
    intro: str  # the paragraph line that introduced this list or table ("" when none)
    cells: tuple[str, ...] = ()  # a table row's cells


def _cells(line: str) -> tuple[str, ...]:
    match = TABLE_ROW.match(line)
    return tuple(cell.strip() for cell in match.group(1).split("|")) if match else ()


def _sentences(paragraph: list[tuple[int, str]], heading: str) -> list[Part]:
    """A paragraph's sentences (and 'then' clauses), each with the line it starts on."""
    text, starts = "", []
    for number, line in paragraph:
        starts.append((len(text), number))
        text += line + " "
    first_line: int
    parts, position = [], 0
    for sentence in SENTENCE_END.split(text):
        offset = text.index(sentence, position) if sentence else position
        position = offset + len(sentence)
        if sentence.strip():
            first_line = max(n for start, n in starts if start <= offset)
            parts.append(Part("sentence", first_line, sentence.strip(), heading, ""))
    return parts


class _Splitter:
    """Walks the lines once, keeping the section heading and the last paragraph line (a list's or table's intro)."""

    def __init__(self, first_line: int) -> None:
        self.first_line = first_line
        self.parts: list[Part] = []
        self.heading = ""
        self.intro = ""
        self.paragraph: list[tuple[int, str]] = []
        self.item: tuple[int, str] | None = None

    def flush_paragraph(self) -> None:
        if self.paragraph:
            self.parts.extend(_sentences(self.paragraph, self.heading))
            self.intro = self.paragraph[-1][1]
            self.paragraph = []

    def flush_item(self) -> None:
        if self.item:
            self.parts.append(Part("item", self.item[0], self.item[1], self.heading, self.intro))
            self.item = None

    def feed(self, number: int, line: str, lines: list[str], index: int) -> None:
        if heading := HEADING.match(line):
            self.flush_item()
            self.flush_paragraph()
            self.heading, self.intro = heading.group(1).strip(), ""
        elif TABLE_ROW.match(line):
            self.flush_item()
            self.flush_paragraph()
            next_line = lines[index + 1] if index + 1 < len(lines) else ""
            if not TABLE_SEPARATOR.match(line) and not TABLE_SEPARATOR.match(next_line):  # skip header rows
                cells = _cells(line)
                self.parts.append(Part("row", number, " ".join(cells), self.heading, self.intro, cells))
        elif LIST_ITEM.match(line):
            self.flush_item()
            self.flush_paragraph()
            self.item = (number, LIST_ITEM.sub("", line).strip())
        elif not line.strip():
            self.flush_item()
            self.flush_paragraph()
        elif self.item and line.startswith((" ", "\t")):
            self.item = (self.item[0], f"{self.item[1]} {line.strip()}")
        else:
            self.flush_item()
            self.paragraph.append((number, line.strip()))


def split_parts(text: str, first_line: int = 1) -> list[Part]:
    """The parts of a policy body, in reading order, with their line numbers (`first_line` is the body's first)."""
    splitter = _Splitter(first_line)
    lines = text.splitlines()
    for index, line in enumerate(lines):
        splitter.feed(first_line + index, line, lines, index)
    splitter.flush_item()
    splitter.flush_paragraph()
    return splitter.parts
