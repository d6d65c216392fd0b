"""The rules reader: reads an agent reply with the cues in `fixtures/reading/rules.yaml`, no model involved.

Markdown lists and table rows become lines, lines become sentences, sentences become clauses. A clause presents an
offer when it names one and is not negated; a sentence about the store in general offers nothing. A claim is a
done-clause that names a change and is not about the future; an offer of a kind the same reply says is done is a
recap, not an offer. Figures a claim needs (the new total, a coupon code) may sit elsewhere in the sentence or reply.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from agent.datafiles import DEFAULT_FIXTURES, read_yaml
from agent.errors import InputFileError
from agent.numbers import find_percents
from agent.tools.kinds import OfferKind
from evals.reading.layout import sentences_of
from evals.schema.reading import Claim, OfferMention, Reading

RULES_FILE = DEFAULT_FIXTURES / "reading" / "rules.yaml"
CLAIMED_KIND = {
    "discount_applied": OfferKind.DISCOUNT,
    "shipping_upgraded": OfferKind.SHIPPING_UPGRADE,
    "item_swapped": OfferKind.SWAP,
    "coupon_created": OfferKind.FUTURE_COUPON,
}
# a status line's label ("Cancelled: order 101", "Confirmation: sent to you@…", "Statut : annulée"): up to three words
LABEL = re.compile(r"^\s*([^\W\d_][\w'’-]*(?:\s+[\w'’-]+){0,3})\s*:\s+(?=\S)")
LISTING_JOIN = re.compile(r"^[\s,;]*(?:or|nor|and|o|ou|y|et|e|/)[\s,]*$", re.IGNORECASE)
ORDER_CLAIMS = {"order_cancelled", "discount_applied", "shipping_upgraded", "item_swapped"}


class Cues(list[re.Pattern[str]]):
    """A list of cue patterns that can also be searched as one alternation: `_any` runs one search per text instead of
    one per pattern (the reader runs on every reply of every conversation)."""

    def __init__(self, patterns: list[re.Pattern[str]]) -> None:
        super().__init__(patterns)
        self.combined = _alternation(patterns)


SEARCHED_ALONE = re.compile(r"\\[1-9]|\(\?P=|\(\?[aiLmsux-]+[):]|^\(\?[aiLmsux]+\)")


def _alternation(patterns: list[re.Pattern[str]]) -> re.Pattern[str] | None:
    """The patterns as one regex, or None when joining them could change what they match: different flags, named
    groups, backreferences or inline flags (an edited rules file may hold any of these)."""
    flags = {p.flags for p in patterns}
    if len(flags) != 1 or any(p.groupindex or SEARCHED_ALONE.search(p.pattern) for p in patterns):
        return None
    try:
        return re.compile("|".join(f"(?:{p.pattern})" for p in patterns), flags.pop())
    except re.error:
        return None


def _compile(patterns: list[str]) -> Cues:
    return Cues([re.compile(p, re.IGNORECASE) for p in patterns])


@dataclass(frozen=True)
class ReadingRules:
    clause_split: re.Pattern[str]
    offer_cues: dict[OfferKind, list[re.Pattern[str]]]
    yields_to: dict[OfferKind, set[OfferKind]]
    claim_yields_to: dict[str, set[str]]
    percent_kinds: set[OfferKind]
    money: re.Pattern[str]
    not_amount_before: re.Pattern[str]
    not_amount_after: re.Pattern[str]
    money_off_after: re.Pattern[str]
    not_offered: list[re.Pattern[str]]
    general: list[re.Pattern[str]]
    offering_now: list[re.Pattern[str]]
    done: list[re.Pattern[str]]
    not_yet: list[re.Pattern[str]]
    claims: dict[str, list[re.Pattern[str]]]
    new_total: list[re.Pattern[str]]
    code: list[re.Pattern[str]]
    order_number: re.Pattern[str]
    asks_which_order: list[re.Pattern[str]]
    which_one: list[re.Pattern[str]]
    request: re.Pattern[str]
    cannot_proceed: list[tuple[str, list[re.Pattern[str]]]]
    can_proceed: list[re.Pattern[str]]

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> ReadingRules:
        reasons = data["cannot_proceed"]
        return cls(
            clause_split=re.compile(f"({data['clause_split']})", re.IGNORECASE),
            offer_cues={OfferKind(k): _compile(v) for k, v in data["offer_cues"].items()},
            yields_to={OfferKind(k): {OfferKind(x) for x in v} for k, v in data.get("yields_to", {}).items()},
            claim_yields_to={k: set(v) for k, v in data.get("claim_yields_to", {}).items()},
            percent_kinds={OfferKind(k) for k in data["percent_kinds"]},
            money=re.compile(data["money"], re.IGNORECASE),
            not_amount_before=re.compile(data["not_amount"]["before"], re.IGNORECASE),
            not_amount_after=re.compile(data["not_amount"]["after"], re.IGNORECASE),
            money_off_after=re.compile(data["not_amount"]["stated_off"], re.IGNORECASE),
            not_offered=_compile(data["not_offered"]),
            general=_compile(data["general"]),
            offering_now=_compile(data.get("offering_now", [])),
            done=_compile(data["done"]),
            not_yet=_compile(data["not_yet"]),
            claims={k: _compile(v) for k, v in data["claims"].items()},
            new_total=_compile(data["new_total"]),
            code=[re.compile(p) for p in data["code"]],  # case matters: codes are written in capitals
            order_number=re.compile(data["order_number"]),
            asks_which_order=_compile(data["asks_which_order"]),
            which_one=_compile(data["which_one"]),
            request=re.compile(data["request"], re.IGNORECASE),
            cannot_proceed=[(r, _compile(reasons[r])) for r in data["cannot_proceed_order"]],
            can_proceed=_compile(data.get("not_a_refusal", [])),
        )


@cache
def reading_rules(path: Path = RULES_FILE) -> ReadingRules:
    try:
        return ReadingRules.from_data(read_yaml(path))
    except (KeyError, TypeError, ValueError, re.error) as exc:
        raise InputFileError(
            path, "reading rules", f"cannot be read ({exc})", "compare it with the shipped fixtures/reading/rules.yaml"
        ) from exc


def _any(patterns: list[re.Pattern[str]], text: str) -> bool:
    combined = getattr(patterns, "combined", None)
    if combined is not None:
        return combined.search(text) is not None
    return any(p.search(text) for p in patterns)


def _number(text: str) -> float:
    return float(text.replace(",", "."))


class RulesReader:
    name = "rules"

    def __init__(self, rules: ReadingRules | None = None) -> None:
        self.rules = rules or reading_rules()

    def read(self, reply: str) -> Reading:
        sentences = sentences_of(reply, lambda cell: bool(self._kinds(cell)))
        offers = self._offers(sentences)
        refusal = self._cannot_proceed(sentences)
        claims = self._claims(sentences, reply, refusal.get("cannot_proceed_reason"))
        offers = self._without_recaps(offers, claims)
        questions = [s for s in sentences if s.rstrip().endswith("?")]
        return Reading(
            offers=offers,
            asks_which_order=self._asks_which_order(sentences, questions, bool(offers)),
            **refusal,
            questions=questions,
            claims=claims,
            reader=self.name,
        )

    # -- offers ------------------------------------------------------------------------------------------
    def clauses_of(self, sentence: str) -> list[str]:
        return [clause for _, clause in self._clauses_with_joins(sentence)]

    def _clauses_with_joins(self, sentence: str) -> list[tuple[str, str]]:
        """(the words that joined it to the previous clause, clause) for each clause of `sentence`."""
        parts = self.rules.clause_split.split(sentence)
        pairs, join = [], ""
        for i, part in enumerate(parts):
            if i % 2:
                join = part
            elif part and part.strip():
                pairs.append((join, part))
        return pairs

    def _negated(self, sentence: str) -> tuple[list[bool], set[OfferKind]]:
        """Which clauses of `sentence` are negated, and the kinds they name. A negation carries over "or" and
        "and" ("I can't offer discounts or coupons"), never over "but"."""
        flags: list[bool] = []
        for join, clause in self._clauses_with_joins(sentence):
            carried = bool(flags and flags[-1] and LISTING_JOIN.match(join))
            flags.append(carried or _any(self.rules.not_offered, clause))
        clauses = self.clauses_of(sentence)
        return flags, {k for c, neg in zip(clauses, flags, strict=True) if neg for k in self._kinds(c)}

    def _offers(self, sentences: list[str]) -> list[OfferMention]:
        found: dict[OfferKind, OfferMention] = {}
        last: OfferMention | None = None
        for sentence in sentences:
            general = _any(self.rules.general, sentence)
            if general and not _any(self.rules.offering_now, sentence):
                last = None
                continue
            flags, negated = self._negated(sentence)
            pending: OfferMention | None = None
            for clause, is_negated in zip(self.clauses_of(sentence), flags, strict=True):
                if is_negated or (general and not _any(self.rules.offering_now, clause)):
                    last = pending = None  # "our policy allows up to 15%, and I can offer you 10% now": the 10%
                    continue
                offers = [o for o in self._clause_offers(clause) if o.kind not in negated]
                if not offers:
                    if last is not None:  # "10% off, which comes to $14.30" / "Would 10% off help? That's $18 back"
                        self._fill(last, self._clause_figures(last.kind, clause))
                    pending = self._clause_figures(OfferKind.DISCOUNT, clause)  # "fifteen per cent is the most..."
                    continue
                for offer in offers:
                    if pending is not None and offer.kind in self.rules.percent_kinds:
                        self._fill(offer, OfferMention(kind=offer.kind, percent=pending.percent))
                    last = found.setdefault(offer.kind, offer)
                    self._fill(last, offer)  # "Discount: 10% off": a later mention fills in missing figures
                pending = None
        return list(found.values())

    def _kinds(self, clause: str) -> list[OfferKind]:
        """The offer kinds a clause names, in the order it names them."""
        rules = self.rules
        positions = {
            kind: min(m.start() for p in patterns if (m := p.search(clause)))
            for kind, patterns in rules.offer_cues.items()
            if _any(patterns, clause)
        }
        ordered = sorted(positions, key=positions.__getitem__)
        return [k for k in ordered if not rules.yields_to.get(k, set()) & set(positions)]

    def _clause_offers(self, clause: str) -> list[OfferMention]:
        return [self._clause_figures(kind, clause) for kind in self._kinds(clause)]

    def _clause_figures(self, kind: OfferKind, clause: str) -> OfferMention:
        """An offer of `kind` with the percent and money off that `clause` states for it."""
        percents = find_percents(clause)
        percent = percents[0] if kind in self.rules.percent_kinds and percents else None
        amount = None
        if kind == OfferKind.DISCOUNT or (kind == OfferKind.FUTURE_COUPON and percent is None):
            amount = self._money_off(clause)
        return OfferMention(kind=kind, percent=percent, amount=amount)

    @staticmethod
    def _fill(offer: OfferMention, other: OfferMention) -> None:
        offer.percent = offer.percent if offer.percent is not None else other.percent
        offer.amount = offer.amount if offer.amount is not None else other.amount

    def _money_off(self, text: str) -> float | None:
        """The first sum in `text` that is money off, not a total or a price."""
        for match in self.rules.money.finditer(text):
            before, after = text[: match.start()], text[match.end() :]
            stated_off = self.rules.money_off_after.search(after)
            if not stated_off and (
                self.rules.not_amount_before.search(before) or self.rules.not_amount_after.search(after)
            ):
                continue
            return _number(match.group(1) or match.group(2))
        return None

    @staticmethod
    def _without_recaps(offers: list[OfferMention], claims: list[Claim]) -> list[OfferMention]:
        """An offer of a kind the same reply says is done is a recap of the change, not an offer."""
        claimed = {CLAIMED_KIND[c.kind]: c for c in claims if c.kind in CLAIMED_KIND}
        kept = []
        for offer in offers:
            claim = claimed.get(offer.kind)
            if claim is None:
                kept.append(offer)
            elif claim.percent is None:
                claim.percent = offer.percent
            elif offer.percent is not None and offer.percent != claim.percent:
                kept.append(offer)  # "the 10% is on your order; I can raise it to 15%" is a new offer
        return kept

    # -- questions and refusals --------------------------------------------------------------------------
    def _asks_which_order(self, sentences: list[str], questions: list[str], has_offers: bool) -> bool:
        asking = [s for s in sentences if s in questions or self.rules.request.search(s)]
        if any(_any(self.rules.asks_which_order, s) for s in asking):
            return True
        return not has_offers and any(_any(self.rules.which_one, q) for q in questions)

    def _cannot_proceed(self, sentences: list[str]) -> dict[str, Any]:
        """Whether the reply says the order cannot be cancelled, and why; a sentence about orders in general, about
        what can still be done, or about waiting to know which order is meant does not say so."""
        said = [s for s in sentences if not _any(self.rules.can_proceed, s)]
        text = " ".join(said)
        for reason, patterns in self.rules.cannot_proceed:
            if _any(patterns, text):
                return {"cannot_proceed": True, "cannot_proceed_reason": reason}
        return {"cannot_proceed": False, "cannot_proceed_reason": None}

    # -- claims ------------------------------------------------------------------------------------------
    def _claims(self, sentences: list[str], reply: str, refusal: str | None) -> list[Claim]:
        claims: dict[str, Claim] = {}
        for sentence in sentences:
            for clause in self._claim_clauses(sentence):
                if not _any(self.rules.done, clause) or _any(self.rules.not_yet, clause):
                    continue
                named = [kind for kind, patterns in self.rules.claims.items() if _any(patterns, clause)]
                for kind in named:
                    if kind not in claims and not self.rules.claim_yields_to.get(kind, set()) & set(named):
                        claims[kind] = self._claim(kind, clause, sentence)
        if refusal == "already_cancelled":
            claims.pop("order_cancelled", None)  # "it was already cancelled" is why nothing can be done
        self._attach_figures(claims, sentences, reply)
        return list(claims.values())

    def _claim_clauses(self, sentence: str) -> list[str]:
        """The sentence's clauses as claims are read from them. A status line's label goes with its value
        ("Confirmation: sent" says a confirmation was sent), and a clause that only says it is done ("Done ✔",
        "Erledigt –", "C'est fait :") makes the rest of its line a report of what was done."""
        label = LABEL.match(sentence)
        clauses = self.clauses_of(sentence[label.end() :] if label else sentence)
        if label:
            clauses = [f"{label.group(1)} {clause}" for clause in clauses]
        done_header = ""
        read: list[str] = []
        for clause in clauses:
            text = f"{done_header} {clause}".strip()
            read.append(text)
            is_done = _any(self.rules.done, clause) and not _any(self.rules.not_yet, clause)
            if is_done and not any(_any(patterns, clause) for patterns in self.rules.claims.values()):
                done_header = "done"  # the header names no change: the clauses after it say what was done
        return read

    def _claim(self, kind: str, clause: str, sentence: str) -> Claim:
        percents = find_percents(clause) or find_percents(sentence)
        # the order named in the claim's own clause ("your other order #103 is unaffected, and I've cancelled #102")
        in_clause = self.rules.order_number.search(clause)
        order = (in_clause or self.rules.order_number.search(sentence)) if kind in ORDER_CLAIMS else None
        return Claim(
            kind=kind,  # type: ignore[arg-type]
            percent=percents[0] if percents and kind in ("discount_applied", "coupon_created") else None,
            order=order.group(1) if order else None,
            sentence=sentence,
        )

    def _attach_figures(self, claims: dict[str, Claim], sentences: list[str], reply: str) -> None:
        """The new total goes to the claim in its sentence (else the discount); the code to the coupon."""
        if coupon := claims.get("coupon_created"):
            coupon.code = self._first(self.rules.code, coupon.sentence) or self._first(self.rules.code, reply)
        for sentence in sentences:
            total = self._first(self.rules.new_total, sentence)
            if total is None or not claims or _any(self.rules.not_yet, sentence):
                continue  # "10% off would take it to $133.70" is an offer's figure, not a claim's
            in_sentence = [c for c in claims.values() if c.sentence == sentence and c.kind in ORDER_CLAIMS]
            target = in_sentence[0] if in_sentence else claims.get("discount_applied")
            if target is None:
                target = next((c for c in claims.values() if c.kind in ORDER_CLAIMS), None)
            if target is not None and target.new_total is None:
                target.new_total = _number(total)

    @staticmethod
    def _first(patterns: list[re.Pattern[str]], text: str) -> str | None:
        for pattern in patterns:
            if match := pattern.search(text):
                return match.group(1).rstrip(".,").rstrip("-")
        return None


@lru_cache(maxsize=4096)
def read_with_rules(reply: str) -> Reading:
    """The rules reader's reading of `reply`, memoised (scorers ask for the same reply more than once)."""
    return RulesReader().read(reply)
