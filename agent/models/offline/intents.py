"""Transparent intent rules for the offline reference model (`fixtures/reference_model/intents.yaml`).

A message is read clause by clause: each offer it names gets that clause's stance (asked about, declined, accepted or
only mentioned), and whole-message intents (cancel, insist, a person, a concern, goodbye, ...) are matched on the
whole text. The reading lists every rule that matched, so the chat lab can show why the model did what it did.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Literal

from agent.datafiles import DEFAULT_FIXTURES, read_yaml
from agent.errors import InputFileError, NotFound
from agent.models.offline.wording import default_vocabulary
from agent.numbers import find_percents
from agent.store.ids import normalize_order_id

INTENT_RULES = DEFAULT_FIXTURES / "reference_model" / "intents.yaml"
ORDINAL_ENDINGS = "please|pls|then|bitte|por favor"
ORDINAL_NOUNS = "one|option|offer|order|opci[oó]n|oferta|pedido|angebot|bestellung|offre|commande"
Stance = Literal["accept", "decline", "ask", "mention"]


@dataclass(frozen=True)
class OfferStance:
    kind: str
    stance: Stance
    percents: tuple[float, ...] = ()


@dataclass(frozen=True)
class Reading:
    """What the rules read in one customer message."""

    text: str
    intents: tuple[str, ...]
    order_ids: tuple[str, ...] = ()
    percents: tuple[float, ...] = ()
    stances: tuple[OfferStance, ...] = ()
    ordinal: int | None = None
    matched: tuple[str, ...] = field(default=(), compare=False)  # the rules that matched, for the "why" view
    plain: str = ""  # the text with shorthand spelled out and misspelled keywords corrected, as the rules read it

    def __post_init__(self) -> None:
        if not self.plain:
            object.__setattr__(self, "plain", self.text)

    def has(self, intent: str) -> bool:
        return intent in self.intents

    def kinds(self, stance: Stance) -> list[str]:
        return [s.kind for s in self.stances if s.stance == stance]

    @property
    def offers(self) -> tuple[str, ...]:
        """Every offer kind the message names, whatever its stance."""
        return tuple(s.kind for s in self.stances)

    @property
    def question(self) -> bool:
        return "?" in self.text

    @property
    def primary(self) -> str:
        return self.intents[0] if self.intents else "off_topic"

    @property
    def requested_percent(self) -> float | None:
        return max(self.percents) if self.percents else None

    def describe(self) -> str:
        stances = ", ".join(f"{s.stance} {s.kind}" for s in self.stances)
        parts = [", ".join(self.intents) or "no intent", stances]
        if self.order_ids:
            parts.append("order " + ", ".join(self.order_ids))
        if self.ordinal is not None:
            parts.append(f"position {self.ordinal}")
        return "; ".join(p for p in parts if p)


def _compile(patterns: list[str]) -> list[re.Pattern[str]]:
    return [re.compile(p, re.IGNORECASE) for p in patterns]


@dataclass
class IntentRules:
    clause_split: re.Pattern[str]
    echo_question: re.Pattern[str]
    conditional: re.Pattern[str]
    offers: dict[str, list[re.Pattern[str]]]
    question: re.Pattern[str]
    negative: list[re.Pattern[str]]
    positive: list[re.Pattern[str]]
    request: list[re.Pattern[str]]
    intents: dict[str, list[re.Pattern[str]]]
    ordinals: dict[str, int]
    order_number: re.Pattern[str]
    product_stopwords: frozenset[str] = frozenset()
    source: Path = field(default=INTENT_RULES)

    @classmethod
    def load(cls, path: Path = INTENT_RULES) -> IntentRules:
        data = read_yaml(path)
        try:
            return cls(
                re.compile(data["clause_split"], re.IGNORECASE),
                re.compile(data["echo_question"], re.IGNORECASE),
                re.compile(data["conditional"], re.IGNORECASE),
                {name: _compile(patterns) for name, patterns in data["offers"].items()},
                re.compile(data["question"], re.IGNORECASE),
                _compile(data["negative"]),
                _compile(data["positive"]),
                _compile(data["request"]),
                {name: _compile(patterns) for name, patterns in data["intents"].items()},
                {str(k).lower(): int(v) for k, v in data["ordinals"].items()},
                re.compile(data["order_number"], re.IGNORECASE),
                frozenset(str(w).lower() for w in data.get("product_stopwords", [])),
                path,
            )
        except (KeyError, TypeError, AttributeError, ValueError, re.error) as exc:
            raise InputFileError(
                path,
                "intent rules",
                f"cannot be read ({exc})",
                "restore fixtures/reference_model/intents.yaml from git",
            ) from exc

    def clause_stance(self, clause: str) -> tuple[Stance, str]:
        """The stance of one clause towards the offers it names, and the rule that decided it."""
        if self.conditional.search(clause):
            return "ask", "a condition, not a decision"
        if negative := next((p for p in self.negative if p.search(clause)), None):
            return (
                ("ask", "a question") if self.question.search(clause) else ("decline", f"negation /{negative.pattern}/")
            )
        if request := next((p for p in self.request if p.search(clause)), None):
            return "accept", f"request /{request.pattern}/"
        if self.question.search(clause):
            return "ask", "a question"
        if positive := next((p for p in self.positive if p.search(clause)), None):
            return "accept", f"positive /{positive.pattern}/"
        return "mention", "named without a stance"

    def read_stances(self, text: str) -> tuple[list[OfferStance], list[str]]:
        """Each named offer with the stance of its clause. A bare yes or no gives its stance to the clause next to
        it that names an offer without one ("Yes, the shipping upgrade", "The swap though, yes please")."""
        clauses = [c.strip() for c in self.clause_split.split(text) if c and c.strip()]
        read: list[tuple[list[str], Stance, str, str]] = []
        for clause in clauses:
            kinds = [k for k, patterns in self.offers.items() if any(p.search(clause) for p in patterns)]
            stance, rule = self.clause_stance(clause)
            if stance == "ask" and kinds and self.echo_question.search(clause):
                stance, rule = "mention", "an echo question"
            read.append((kinds, stance, rule, clause))
        for index, (kinds, stance, _, _) in enumerate(read):
            if kinds and stance in ("mention", "ask"):
                for other in (index + 1, index - 1) if stance == "ask" else (index - 1, index + 1):
                    decision = read[other] if 0 <= other < len(read) else None
                    if (
                        decision
                        and not decision[0]
                        and decision[1] in ("accept", "decline")
                        and self._decides(decision[3])
                    ):
                        read[index] = (kinds, decision[1], "the decision next to it", read[index][3])
                        break
        stances: dict[str, OfferStance] = {}
        matched = []
        for kinds, stance, rule, clause in read:
            if not kinds:
                continue
            matched.append(f'"{clause}": {stance} {", ".join(kinds)} ({rule})')
            for kind in kinds:
                if kind not in stances or stances[kind].stance in ("mention", "ask"):  # a later decision wins
                    stances[kind] = OfferStance(kind, stance, tuple(find_percents(clause)))
        return list(stances.values()), matched

    def cancels_last(self, text: str) -> bool:
        """Whether the message's last decision is to cancel: a clause asking to cancel comes after every clause that
        accepts an offer ("Okay, the discount... ach nein, doch lieber stornieren")."""
        clauses = [c.strip() for c in self.clause_split.split(text) if c and c.strip()]
        cancel = self.intents.get("cancel", []) + self.intents.get("insist", [])
        last_cancel = max((i for i, c in enumerate(clauses) if any(p.search(c) for p in cancel)), default=-1)
        accepts = [i for i, c in enumerate(clauses) if self.clause_stance(c)[0] == "accept"]
        return last_cancel >= 0 and all(i < last_cancel for i in accepts)

    @staticmethod
    def _decides(clause: str) -> bool:
        """A clause that names no offer but decides about the one next to it: short, or pointing at it."""
        return len(clause.split()) <= 3 or bool(re.search(r"\b(it|that|this|one)\b", clause, re.IGNORECASE))

    def order_ids(self, text: str) -> tuple[str, ...]:
        found = []
        for a, b in self.order_number.findall(text):
            try:
                found.append(normalize_order_id(a or b))
            except NotFound:
                continue
        return tuple(dict.fromkeys(found))

    def ordinal(self, text: str) -> int | None:
        """A position in the list just shown, only where it is written as one ("the second one", "option 2")."""
        lowered = text.lower()
        for key, value in self.ordinals.items():
            word = re.escape(key)
            if re.search(rf"(?<!\w){word}(?!\w)", lowered) and (
                key.startswith(("option", "number", "#"))
                or re.search(rf"(?<!\w){word}\s+({ORDINAL_NOUNS})\b", lowered)
                or re.search(rf"\b(the|el|la|die|der|das|le)\s+{word}\s*([.!,]|$|{ORDINAL_ENDINGS})", lowered)
                or lowered.strip(" .!") == key
            ):
                return value
        return None

    def says(self, text: str, intent: str) -> bool:
        """Whether `text` has `intent`: `read(text).has(intent)` without reading the rest ("keep" only drops
        "cancel" and "insist")."""
        if intent in ("cancel", "insist"):
            return self.read(text).has(intent)
        plain = default_vocabulary().plain(text)
        return any(p.search(plain) for p in self.intents.get(intent, ()))

    def read(self, text: str) -> Reading:
        """What the rules read in `text`, after shorthand and misspelled keywords are made plain ("cancle my oder")."""
        plain = default_vocabulary().plain(text)
        intents = []
        matched = []
        if plain != text:
            matched.append(f'read as "{plain}"')
        for name, patterns in self.intents.items():
            if hit := next((p for p in patterns if p.search(plain)), None):
                intents.append(name)
                matched.append(f"{name} /{hit.pattern}/")
        several = len(set(re.findall(r"(?<![\d.])\d{3,9}(?![\d.%])", plain))) > 1
        if "keep" in intents and not several:  # "I don't want to cancel any more": not a cancellation
            intents = [i for i in intents if i not in ("cancel", "insist")]
        stances, clause_rules = self.read_stances(plain)
        if "sarcasm" in intents:  # "yeah right, like faster shipping fixes anything": never a yes
            intents = [i for i in intents if i != "accept"]
            stances = [replace(x, stance="mention") if x.stance == "accept" else x for x in stances]
        if "cancel" in intents and self.cancels_last(plain):  # "the discount... no, just cancel it": the last word
            intents.append("cancel_last")
        if self.conditional.search(plain):  # "if it gets here by Friday I'll keep it": a question, not a decision
            intents.append("conditional")
            matched.append(f"conditional /{self.conditional.pattern[:40]}.../")
        return Reading(
            text,
            tuple(intents),
            self.order_ids(plain),
            tuple(find_percents(plain)),
            tuple(stances),
            self.ordinal(plain),
            tuple(matched + clause_rules),
            plain,
        )


@cache
def default_rules() -> IntentRules:
    return IntentRules.load()
