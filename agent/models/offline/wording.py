"""The offline reference model's knowledge of words (`fixtures/reference_model/vocabulary.yaml`): chat shorthand and
misspelled keywords made plain before the intent rules read a message, and which words of a message point at which
of the customer's products. Fuzzy matching is rapidfuzz's Damerau-Levenshtein distance."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from rapidfuzz import process
from rapidfuzz.distance import DamerauLevenshtein

from agent.datafiles import DEFAULT_FIXTURES, read_yaml
from agent.errors import InputFileError

VOCABULARY_FILE = DEFAULT_FIXTURES / "reference_model" / "vocabulary.yaml"
WORD_LISTS = ("determiners", "order_nouns", "linking_words", "cancel_verbs", "name_stopwords")
BRACKETS = re.compile(r"\([^)]*\)")
WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")


def edits_allowed(word: str) -> int:
    """How many edits a word may be from a known one and still be read as it."""
    return 0 if len(word) < 4 else 1 if len(word) < 8 else 2


def words(text: str) -> list[str]:
    return [w.lower() for w in WORD.findall(text)]


@dataclass(frozen=True)
class Vocabulary:
    shorthand: dict[str, str]
    keywords: tuple[str, ...]
    protected: frozenset[str]
    product_words: dict[str, tuple[str, ...]]
    generic: frozenset[str]
    pickers: dict[str, tuple[str, str]]
    other_order: re.Pattern[str]
    determiners: frozenset[str]
    order_nouns: frozenset[str]
    linking_words: frozenset[str]
    cancel_verbs: frozenset[str]
    name_stopwords: frozenset[str]

    @classmethod
    def load(cls, path: Path = VOCABULARY_FILE) -> Vocabulary:
        data = read_yaml(path)
        try:
            return cls(
                {str(k).lower(): str(v).lower() for k, v in data["shorthand"].items()},
                tuple(str(w).lower() for w in data["keywords"]),
                frozenset(str(w).lower() for w in data["protected"]),
                {str(k).lower(): tuple(str(w).lower() for w in v) for k, v in data["product_words"].items()},
                frozenset(str(w).lower() for w in data["generic"]),
                {str(k).lower(): (str(v[0]), str(v[1])) for k, v in data["pickers"].items()},
                re.compile(data["other_order"], re.IGNORECASE),
                *(frozenset(str(w).lower() for w in data[key]) for key in WORD_LISTS),
            )
        except (KeyError, TypeError, AttributeError, IndexError, re.error) as exc:
            fix = "restore fixtures/reference_model/vocabulary.yaml from git"
            raise InputFileError(path, "vocabulary", f"cannot be read ({exc})", fix) from exc

    def plain(self, text: str) -> str:
        """`text` with shorthand spelled out and misspelled keywords corrected; everything else as written."""
        return WORD.sub(lambda m: self._plain_word(m.group(0)), text)

    def _plain_word(self, word: str) -> str:
        low = word.lower()
        if low in self.shorthand:
            return self.shorthand[low]
        if low in self.protected or low in self.keywords or low in self.generic or low in self.product_words:
            return word
        limit = edits_allowed(low)
        if limit == 0:
            return word
        found = process.extractOne(low, self.keywords, scorer=DamerauLevenshtein.distance, score_cutoff=limit)
        return found[0] if found else word

    def name_words(self, product_names: tuple[str, ...] | list[str]) -> set[str]:
        """The words of product names that can point at them."""
        return set(words(BRACKETS.sub(" ", " ".join(product_names)))) - self.name_stopwords

    def product_match(self, said: str, name_words: set[str]) -> bool:
        """Whether one word the customer said points at a product whose name has `name_words`."""
        if said in self.generic:
            return False
        targets = set(self.product_words.get(said, ())) | {said}
        if targets & name_words:
            return True
        limit = edits_allowed(said) if len(said) >= 5 else 0
        stem = said[:-1] if said.endswith("s") and len(said) > 3 else said
        return any(
            stem == w or (limit and DamerauLevenshtein.distance(said, w, score_cutoff=limit) <= limit)
            for w in name_words
        )

    def describing_words(self, text: str) -> list[str]:
        """The words in the places where a message describes an order, minus the generic ones."""
        said = words(text)
        found: list[str] = []
        for i, word in enumerate(said):
            if word in self.determiners:
                after = said[i + 1 : i + 4]
                noun = next((n for n, w in enumerate(after) if w in self.order_nouns), None)
                if noun is not None:
                    found += after[:noun]
                elif i > 0 and said[i - 1] in self.cancel_verbs:
                    found += after
            elif word in self.order_nouns and i + 1 < len(said) and said[i + 1] in self.linking_words:
                found += [w for w in said[i + 2 : i + 5] if w not in self.determiners][:2]
        return [w for w in dict.fromkeys(found) if w not in self.generic and w not in self.linking_words]


@cache
def default_vocabulary() -> Vocabulary:
    return Vocabulary.load()
