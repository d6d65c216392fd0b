"""Transparent intent rules for the offline reference model (and the persona simulator's view of offers).

The rules live in `fixtures/reference_model/intents.yaml`; this module only applies them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from agent.datafiles import DEFAULT_FIXTURES, read_yaml
from agent.errors import InputFileError
from agent.numbers import find_percents
from agent.store.ids import normalize_order_id

INTENT_RULES = DEFAULT_FIXTURES / "reference_model" / "intents.yaml"


@dataclass(frozen=True)
class Reading:
    """What the rules read in one customer message."""

    text: str
    intents: tuple[str, ...]
    order_ids: tuple[str, ...] = ()
    percents: tuple[float, ...] = ()
    offers: tuple[str, ...] = ()
    ordinal: int | None = None

    def has(self, intent: str) -> bool:
        return intent in self.intents

    @property
    def primary(self) -> str:
        return self.intents[0] if self.intents else "off_topic"

    @property
    def requested_percent(self) -> float | None:
        return max(self.percents) if self.percents else None


@dataclass
class IntentRules:
    intents: dict[str, list[re.Pattern[str]]]
    offers: dict[str, list[re.Pattern[str]]]
    ordinals: dict[str, int]
    order_number: re.Pattern[str]
    source: Path = field(default=INTENT_RULES)

    @classmethod
    def load(cls, path: Path = INTENT_RULES) -> IntentRules:
        data = read_yaml(path)
        try:

            def compile_all(group: dict[str, list[str]]) -> dict[str, list[re.Pattern[str]]]:
                return {name: [re.compile(p, re.IGNORECASE) for p in patterns] for name, patterns in group.items()}

            return cls(
                compile_all(data["intents"]),
                compile_all(data["offers"]),
                {k.lower(): int(v) for k, v in data["ordinals"].items()},
                re.compile(data["order_number"], re.IGNORECASE),
                path,
            )
        except (KeyError, TypeError, AttributeError, re.error) as exc:
            raise InputFileError(
                path,
                "intent rules",
                f"cannot be read ({exc})",
                "restore fixtures/reference_model/intents.yaml from git",
            ) from exc

    def read(self, text: str) -> Reading:
        intents = tuple(name for name, patterns in self.intents.items() if any(p.search(text) for p in patterns))
        offers = tuple(name for name, patterns in self.offers.items() if any(p.search(text) for p in patterns))
        order_ids = tuple(dict.fromkeys(normalize_order_id(a or b) for a, b in self.order_number.findall(text)))
        lowered = text.lower()
        ordinal = next((v for k, v in self.ordinals.items() if re.search(rf"\b{re.escape(k)}\b", lowered)), None)
        percents = tuple(find_percents(text))
        return Reading(text, intents, order_ids, percents, offers, ordinal)


@cache
def default_rules() -> IntentRules:
    return IntentRules.load()
