"""Read a policy's retention offers from what it says, whatever its layout: the offer plan.

The policy is split into parts (list items, table rows, sentences; `agent.policy.parts`). A part is an offer when it
names the tool of exactly one offer kind (`@set_discount_to_order`, ...), or, with no tool named, uses the words of
exactly one kind in an offering context. A negation in the part excludes the offer ("Never swap an item"), unless it
only limits the amount ("never more than 15%"). Percentages are read as digits or words. "One at a time" sets the
pacing; "offers may be combined" allows stacking. Every offer, exclusion and setting keeps the line that says it.
The rules are in `fixtures/policy_reader/rules.yaml`.

The plan is computed once per compiled policy (`CompiledPolicy.offer_plan`); everything else reads that object.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import cache

from agent.datafiles import DEFAULT_FIXTURES, read_yaml
from agent.errors import InputFileError
from agent.numbers import find_percents
from agent.policy.document import TOOL_MENTION
from agent.policy.parts import Part, split_parts
from agent.policy.plan import Exclusion, Limit, OfferOption, OfferPlan, PolicyLine, UnreadMention
from agent.tools.kinds import OfferKind

RULES_FILE = DEFAULT_FIXTURES / "policy_reader" / "rules.yaml"
HANDOVER_TOOL = "@escalate_to_human"
LIST_SEPARATOR = re.compile(r",\s*(?:or|and)?\s*|\s+(?:or|and)\s+|;\s*")


@dataclass(frozen=True)
class ReaderRules:
    kinds: dict[OfferKind, list[re.Pattern[str]]]
    offering: re.Pattern[str]
    offer_intro: re.Pattern[str]
    not_offer_section: re.Pattern[str]
    negation: re.Pattern[str]
    negated_next: re.Pattern[str]
    no_before_kind: re.Pattern[str]
    limit: re.Pattern[str]
    excluded_cell: re.Pattern[str]
    no_offers: list[re.Pattern[str]]
    one_at_a_time: list[re.Pattern[str]]
    together: list[re.Pattern[str]]
    stacking: list[re.Pattern[str]]
    concern: re.Pattern[str]


@cache
def reader_rules() -> ReaderRules:
    data = read_yaml(RULES_FILE)
    try:

        def one(key: str) -> re.Pattern[str]:
            return re.compile(data[key], re.IGNORECASE)

        def many(key: str) -> list[re.Pattern[str]]:
            return [re.compile(p, re.IGNORECASE) for p in data[key]]

        return ReaderRules(
            kinds={OfferKind(k): [re.compile(p, re.IGNORECASE) for p in v] for k, v in data["kinds"].items()},
            offering=one("offering"),
            offer_intro=one("offer_intro"),
            not_offer_section=one("not_offer_section"),
            negation=one("negation"),
            negated_next=one("negated_next"),
            no_before_kind=one("no_before_kind"),
            limit=one("limit"),
            excluded_cell=one("excluded_cell"),
            no_offers=many("no_offers"),
            one_at_a_time=many("one_at_a_time"),
            together=many("together"),
            stacking=many("stacking"),
            concern=one("handover_concern"),
        )
    except (KeyError, TypeError, ValueError, re.error) as exc:
        raise InputFileError(
            RULES_FILE, "policy reader rules", f"cannot be read ({exc})", "restore it from git"
        ) from exc


def _any(patterns: list[re.Pattern[str]], text: str) -> re.Match[str] | None:
    return next((m for p in patterns if (m := p.search(text))), None)


def _kinds_in(text: str, offer_tools: dict[str, OfferKind], rules: ReaderRules) -> tuple[list[str], list[OfferKind]]:
    """(offer tools named, offer kinds meant) in one piece of text, kinds in order of first appearance."""
    tools = [m.group(1) for m in TOOL_MENTION.finditer(text) if m.group(1) in offer_tools]
    positions: dict[OfferKind, int] = {}
    for name in tools:
        positions.setdefault(offer_tools[name], text.find("@" + name))
    for kind, patterns in rules.kinds.items():
        if kind not in positions and (m := _any(patterns, TOOL_MENTION.sub(" ", text))):
            positions[kind] = m.start()
    return tools, sorted(positions, key=lambda k: positions[k])


def _in_offer_context(part: Part, rules: ReaderRules) -> bool:
    """Words of an offer kind count without a tool only where offers are being made."""
    if rules.offering.search(part.text) or part.kind == "row":
        return True
    if part.kind == "item":
        intro = part.intro or ("" if rules.not_offer_section.search(part.heading) else part.heading)
        return bool(rules.offer_intro.search(intro))
    return False


def _kind_at(text: str, position: int, rules: ReaderRules) -> bool:
    return any(p.match(text, position) for patterns in rules.kinds.values() for p in patterns)


def _negated(part: Part, rules: ReaderRules) -> bool:
    """Whether the part negates an offer (not merely some other word, as in 'at no extra cost')."""
    text = part.text
    if part.kind == "row" and any(rules.excluded_cell.match(cell) for cell in part.cells):
        return True
    for match in rules.negation.finditer(text):
        if rules.negated_next.match(match.group("next")) or _kind_at(text, match.start("next"), rules):
            return True
    return any(
        _kind_at(text, m.end(), rules) or _kind_at(text, m.start() + 3, rules)
        for m in rules.no_before_kind.finditer(text)
    )


class _Reading:
    """The plan being read from one document's parts."""

    def __init__(self, offer_tools: dict[str, OfferKind], source: str) -> None:
        self.rules, self.offer_tools, self.source = reader_rules(), offer_tools, source
        self.options: dict[OfferKind, OfferOption] = {}
        self.exclusions: list[Exclusion] = []
        self.limits: list[Limit] = []
        self.unread: list[UnreadMention] = []
        self.settings: dict[str, tuple[object, PolicyLine]] = {}

    def said(self, part: Part) -> PolicyLine:
        return PolicyLine(self.source, part.line, part.text)

    def read(self, part: Part) -> None:
        self.read_settings(part)
        tools, kinds = _kinds_in(part.text, self.offer_tools, self.rules)
        if not kinds:
            return
        if _negated(part, self.rules):
            self.read_negated(part, kinds)
        elif len(kinds) == 1 and (tools or _in_offer_context(part, self.rules)):
            self.add_offer(part, kinds[0], tools, part.text)
        elif len(kinds) > 1 and self.rules.offering.search(part.text):
            self.read_offer_list(part)
        else:
            self.unread.extend(UnreadMention(t, self.said(part)) for t in tools)

    def read_settings(self, part: Part) -> None:
        text = part.text
        if _any(self.rules.no_offers, text):
            self.exclusions.append(Exclusion(None, self.said(part)))
        if _any(self.rules.one_at_a_time, text):
            self.settings.setdefault("pacing", ("one_at_a_time", self.said(part)))
        elif _any(self.rules.together, text):
            self.settings.setdefault("pacing", ("together", self.said(part)))
        if _any(self.rules.stacking, text):
            self.settings.setdefault("stacking", (not self.rules.negation.search(text), self.said(part)))
        if HANDOVER_TOOL in text and not self.rules.negation.search(text):
            said = self.said(part)  # the section's heading says when ("5. When they have concerns")
            context = f"{part.heading}: {part.text}" if part.heading else part.text
            triggers = ("concern", "request") if self.rules.concern.search(context) else ("request",)
            self.settings.setdefault("handover", (triggers, replace(said, text=context)))

    def read_negated(self, part: Part, kinds: list[OfferKind]) -> None:
        limited = self.rules.limit.search(part.text)
        percents = find_percents(part.text[limited.start() :]) if limited else []
        if percents:
            self.limits.extend(Limit(kind, max(percents), self.said(part)) for kind in kinds)
            tools, _ = _kinds_in(part.text, self.offer_tools, self.rules)
            if len(kinds) == 1 and (tools or _in_offer_context(part, self.rules)):
                self.add_offer(part, kinds[0], tools, part.text)
        else:
            self.exclusions.extend(Exclusion(kind, self.said(part)) for kind in kinds)

    def read_offer_list(self, part: Part) -> None:
        """'offer a 10% discount, free express shipping or a 20% coupon': one offer per piece, in order."""
        for piece in LIST_SEPARATOR.split(part.text):
            tools, kinds = _kinds_in(piece, self.offer_tools, self.rules)
            if len(kinds) == 1:
                self.add_offer(part, kinds[0], tools, piece)

    def add_offer(self, part: Part, kind: OfferKind, tools: list[str], text: str) -> None:
        if kind in self.options:
            return
        percents = tuple(dict.fromkeys(find_percents(text)))
        named = tuple(dict.fromkeys(t for t in tools if self.offer_tools[t] == kind))
        self.options[kind] = OfferOption(kind, named, percents, self.source, part.line, part.text)

    def add_section_percents(self, parts: list[Part]) -> None:
        """Under a heading that names one offer kind, every percentage in its section belongs to that offer."""
        for kind, option in list(self.options.items()):
            heading = next((p.heading for p in parts if p.line == option.line), "")
            _, heading_kinds = _kinds_in(heading, self.offer_tools, self.rules)
            if heading and heading_kinds == [kind]:
                extra = [x for p in parts if p.heading == heading for x in find_percents(p.text)]
                merged = tuple(dict.fromkeys((*find_percents(heading), *option.percents, *extra)))
                self.options[kind] = replace(option, percents=merged)

    def plan(self) -> OfferPlan:
        pacing = self.settings.get("pacing")
        stacking = self.settings.get("stacking")
        handover = self.settings.get("handover")
        return OfferPlan(
            options=tuple(self.options.values()),
            exclusions=tuple(self.exclusions),
            limits=tuple(self.limits),
            pacing="one_at_a_time" if pacing and pacing[0] == "one_at_a_time" else "together",
            pacing_said=pacing[1] if pacing else None,
            stacking=bool(stacking and stacking[0]),
            stacking_said=stacking[1] if stacking else None,
            handover_said=handover[1] if handover else None,
            handover_on=tuple(handover[0]) if handover else (),  # type: ignore[arg-type]
            unread=tuple(u for u in self.unread if self.offer_tools[u.tool] not in self.options),
        )


def read_offer_plan(text: str, offer_tools: dict[str, OfferKind], source: str = "", first_line: int = 1) -> OfferPlan:
    """The retention offers `text` makes, in order, with exclusions, limits, pacing and stacking."""
    reading = _Reading(offer_tools, source)
    parts = split_parts(text, first_line)
    for part in parts:
        reading.read(part)
    reading.add_section_percents(parts)
    return reading.plan()
