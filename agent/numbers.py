"""The one percent parser: every reader of percentages (policies, customers, agent replies) goes through it.

It reads digits and number words, with `%`, `percent`, `per cent`, `pct` or `por ciento`: "10%", "12.5 %",
"ten percent", "twenty-five per cent", "ten-percent", "15 pct", "diez por ciento", "10 Prozent", "dix pour cent".
"""

from __future__ import annotations

import re

UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16,
    "seventeen": 17, "eighteen": 18, "nineteen": 19,
    "cinco": 5, "diez": 10, "quince": 15, "veinte": 20, "treinta": 30, "cuarenta": 40, "cincuenta": 50,
    "fünf": 5, "zehn": 10, "fünfzehn": 15, "zwanzig": 20, "dreißig": 30, "fünfzig": 50,
    "cinq": 5, "dix": 10, "quinze": 15, "vingt": 20, "trente": 30, "cinquante": 50,
}  # fmt: skip
TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}
NUMBER_WORD = "|".join(sorted([*UNITS, *TENS, "hundred", "a hundred", "one hundred"], key=len, reverse=True))
UNIT_WORD = r"(?:%|\s*(?:per\s*cent|percent|pct\b|por\s*ciento|porciento|prozent|pour\s*cent|por\s*cento))"
PERCENT = re.compile(
    rf"(?<![\w.])(?:(?P<digits>\d+(?:[.,]\d+)?)|(?P<words>(?:{NUMBER_WORD})(?:[\s-](?:{NUMBER_WORD}))?))"
    rf"(?:\s*|-){UNIT_WORD}",
    re.IGNORECASE,
)


def word_number(words: str) -> float | None:
    """'twenty-five' -> 25, 'a hundred' -> 100, 'fifteen' -> 15; None for anything else."""
    parts = re.split(r"[\s-]+", words.lower().strip())
    if parts[-1] == "hundred":
        return 100.0
    total = 0
    for part in parts:
        value = UNITS.get(part, TENS.get(part))
        if value is None:
            return None
        total += value
    return float(total)


BARE = re.compile(
    rf"(?<![\w.#$])(?:(?P<digits>\d{{1,3}})|(?P<words>(?:{NUMBER_WORD})(?:[\s-](?:{NUMBER_WORD}))?))(?![\w.%$])",
    re.IGNORECASE,
)


def find_bare_numbers(text: str) -> list[float]:
    """Numbers from 5 to 100 written without a unit, in digits or words ('can you do 15?', 'fifteen works'), in
    order. Smaller ones are left out: without a unit they are positions and pronouns ("that one", "option 2")."""
    found = []
    for match in BARE.finditer(text):
        value = float(match.group("digits")) if match.group("digits") else word_number(match.group("words"))
        if value is not None and 5 <= value <= 100:
            found.append(value)
    return found


def find_percents(text: str) -> list[float]:
    """Every percentage written in `text`, in order: '10% or fifteen percent' gives [10.0, 15.0]."""
    found = []
    for match in PERCENT.finditer(text):
        if match.group("digits"):
            found.append(float(match.group("digits").replace(",", ".")))
        elif (value := word_number(match.group("words"))) is not None:
            found.append(value)
    return found
