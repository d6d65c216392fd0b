"""Which of the customer's orders a message points at: by number, by position in the list just shown, by product
words (the customer's own, "the shoes", "el pedido de la chaqueta"), by date or price ("the older one", "the cheaper
one"), or "the other one". When the words that describe an order fit none of the customer's orders, or fit several,
the reference says so, and the model asks rather than guess."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from agent.models.offline.intents import Reading
from agent.models.offline.situation import OrderNote
from agent.models.offline.wording import Vocabulary, default_vocabulary, words

BARE_NUMBER = re.compile(r"(?<![\d.%$])\b(\d{3,9})\b(?!\d|[.,]\d|\s*%)")
SENTENCE_END = re.compile(r"(?<=[.!?;])\s+|\n+")
# two order numbers joined as one request: "101 and 103", "#101, #103", "la 103 et la 102"
CONJOINED = re.compile(
    r"\d{3,9}\)?\s*(?:,|&|\+|\band\b|\bplus\b|\by\b|\bet\b|\bund\b|\bas well as\b)\s*"
    r"(?:(?:the|la|le|el|die|order|orden|commande|pedido|bestellung)\s+)*\(?#?\s*\d{3,9}",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class OrderReference:
    """The orders a message points at (`order_ids`), how it points at them, and what it said that the model could
    not place: `unsure` holds the describing words when they fit no order or several (then `order_ids` are those)."""

    order_ids: tuple[str, ...] = ()
    how: str = ""  # number | both | position | product | picker | other | unknown | several | named
    unsure: str = ""

    @property
    def asks(self) -> bool:
        """The model must ask which order is meant before doing anything."""
        return bool(self.unsure) or self.how == "named"


def refer(
    reading: Reading,
    known: tuple[OrderNote, ...],
    shown: tuple[OrderNote, ...],
    current: str = "",
    vocabulary: Vocabulary | None = None,
) -> OrderReference:
    """The orders `reading` points at, among the customer's `known` orders (`shown` is the list last put to them)."""
    v = vocabulary or default_vocabulary()
    named = _numbers_named(reading, known)
    if len(named) > 1:
        return _several_named(reading, named)
    if named:
        return OrderReference(named, "number")
    if reading.has("both") and shown:
        return OrderReference(tuple(o.order_id for o in shown), "both")
    if reading.ordinal is not None and shown:
        index = reading.ordinal - 1 if reading.ordinal > 0 else len(shown) + reading.ordinal
        if 0 <= index < len(shown):
            return OrderReference((shown[index].order_id,), "position")
    if (by_product := _by_product(reading.plain, known, v)).how:
        return by_product
    if (picked := _picked(reading.plain, shown, v)) is not None:
        return OrderReference((picked.order_id,), "picker")
    if v.other_order.search(reading.plain):
        others = [o for o in shown if o.order_id != current]
        if current and len(others) == 1:
            return OrderReference((others[0].order_id,), "other")
    return OrderReference()


def _numbers_named(reading: Reading, known: tuple[OrderNote, ...]) -> tuple[str, ...]:
    """Order numbers the message names, in the order it names them: written as order numbers, or bare numbers that
    are the customer's orders ("the 103 one", "(110)")."""
    ours = {o.order_id for o in known}
    bare = [n.zfill(9) for n in BARE_NUMBER.findall(reading.plain)]
    return tuple(dict.fromkeys([*reading.order_ids, *(n for n in bare if n in ours)]))


def _several_named(reading: Reading, named: tuple[str, ...]) -> OrderReference:
    """Several orders named: a correction keeps the last ("cancel 110, sorry, I meant 111"); "both" or numbers
    joined as one request ("101 and 103") take them all; otherwise the model asks which one the cancel is for."""
    if reading.has("correction"):
        return OrderReference((named[-1],), "number")
    if reading.has("both") or CONJOINED.search(reading.plain):
        return OrderReference(named, "number")
    return OrderReference(named, "named", "")


def _by_product(text: str, known: tuple[OrderNote, ...], v: Vocabulary) -> OrderReference:
    said = [w for w in dict.fromkeys(words(text)) if w not in v.generic and len(w) >= 3]
    scores = {o.order_id: sum(1 for w in said if v.product_match(w, v.name_words(o.items))) for o in known}
    best = max(scores.values(), default=0)
    describing = v.describing_words(text)
    if best == 0:
        unplaced = [w for w in describing if not any(v.product_match(w, v.name_words(o.items)) for o in known)]
        return OrderReference((), "unknown", " ".join(unplaced)) if unplaced else OrderReference()
    top = tuple(order_id for order_id, score in scores.items() if score == best)
    if len(top) == 1:
        return OrderReference(top, "product")
    matched = [w for w in said if any(v.product_match(w, v.name_words(o.items)) for o in known)]
    return OrderReference(top, "several", " ".join(matched))


def _picked(text: str, shown: tuple[OrderNote, ...], v: Vocabulary) -> OrderNote | None:
    if len(shown) < 2:
        return None
    lowered = text.lower()
    for phrase, (field, direction) in v.pickers.items():
        if re.search(rf"(?<!\w){re.escape(phrase)}(?!\w)", lowered):
            key = (lambda o: o.created_at) if field == "created_at" else (lambda o: o.total)
            chosen = max(shown, key=key) if direction == "max" else min(shown, key=key)
            ties = [o for o in shown if key(o) == key(chosen)]
            return chosen if len(ties) == 1 else None
    return None


def undescribed(reading: Reading, order: OrderNote, v: Vocabulary) -> list[str]:
    """When a sentence of the message names `order` by number and describes an order in words, none of which fits
    this one: those words. A sentence that also names another order may describe that one, so only the words in the
    sentence with the number count, and one word that fits is enough to agree."""
    own = v.name_words(order.items)
    for sentence in SENTENCE_END.split(reading.plain):
        if order.order_id not in _numbers_named(replace(reading, plain=sentence, order_ids=()), (order,)):
            continue
        described = v.describing_words(sentence)
        if not any(v.product_match(w, own) for w in described):
            return described  # none of the words fits this order (one that fits means they agree)
    return []


def described_otherwise(reading: Reading, order: OrderNote, known: tuple[OrderNote, ...], v: Vocabulary) -> str:
    """The words the message uses to describe the order it names by number, when they fit another of the customer's
    orders or a product the vocabulary knows, but not this one ("cancel the shoes order 112" when 112 is a jacket).
    Empty when the description fits, or there is none: the number and the words then agree."""
    others = [v.name_words(o.items) for o in known if o.order_id != order.order_id]
    odd = [
        w
        for w in undescribed(reading, order, v)
        if w in v.product_words or any(v.product_match(w, name_words) for name_words in others)
    ]
    return " ".join(odd)
