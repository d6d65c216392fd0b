"""Read a policy's retention offers from its structure, not its wording: the offer plan.

An offer is a markdown list item that names the tool(s) of exactly one kind of offer (`@set_discount_to_order`,
`@upgrade_shipping`, `@swap_order_item`/`@list_swap_options`, `@create_future_coupon`). Offers keep the order in
which the policy lists them; the percentages written in an item are its numbers. Items that name tools of several
offers at once (such as "apply it with @set_discount_to_order or @upgrade_shipping") are instructions, not offers.
Rephrasing the prose around these items changes nothing here; that is the point.

The plan is computed once per compiled policy (`CompiledPolicy.offer_plan`); everything else reads that object.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from agent.numbers import find_percents
from agent.policy.document import TOOL_MENTION
from agent.tools.kinds import OfferKind

LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")


@dataclass(frozen=True)
class OfferOption:
    kind: OfferKind
    tools: tuple[str, ...]
    percents: tuple[float, ...]
    source: str  # the policy file the offer is written in
    line: int
    text: str

    @property
    def first_percent(self) -> float | None:
        return min(self.percents) if self.percents else None

    @property
    def top_percent(self) -> float | None:
        return max(self.percents) if self.percents else None

    @property
    def where(self) -> str:
        return f"{self.source}:{self.line}"


@dataclass(frozen=True)
class OfferPlan:
    options: tuple[OfferOption, ...] = ()

    def get(self, kind: OfferKind | str) -> OfferOption | None:
        return next((o for o in self.options if o.kind == kind), None)

    @property
    def kinds(self) -> tuple[OfferKind, ...]:
        return tuple(o.kind for o in self.options)

    def describe(self) -> list[str]:
        """One line per offer, as the offline model understood it."""
        lines = []
        for number, option in enumerate(self.options, start=1):
            numbers = ", ".join(f"{p:g}%" for p in option.percents) or "no percentage"
            tools = " / @".join(option.tools)
            lines.append(f"{number}. {option.kind.value} via @{tools} ({numbers}; {option.where})")
        return lines

    def merged(self, other: OfferPlan) -> OfferPlan:
        """This plan, then the offers of `other` whose kind it does not have yet."""
        return OfferPlan(self.options + tuple(o for o in other.options if o.kind not in self.kinds))


def _list_items(text: str, first_line: int) -> list[tuple[int, str]]:
    """Markdown list items with their continuation lines, as (line number, text)."""
    items: list[tuple[int, str]] = []
    for number, line in enumerate(text.splitlines(), start=first_line):
        if LIST_ITEM.match(line):
            items.append((number, line))
        elif items and line.strip() and line.startswith((" ", "\t")):
            items[-1] = (items[-1][0], items[-1][1] + " " + line.strip())
        elif not line.strip() and items:
            items.append((number, ""))  # a blank line ends the item
    return [item for item in items if item[1]]


def read_offer_plan(text: str, offer_tools: dict[str, OfferKind], source: str = "", first_line: int = 1) -> OfferPlan:
    """The retention offers listed in `text`, in order. `offer_tools` maps tool name -> offer kind."""
    options: dict[OfferKind, OfferOption] = {}
    for line, item in _list_items(text, first_line):
        named = [m.group(1) for m in TOOL_MENTION.finditer(item) if m.group(1) in offer_tools]
        kinds = {offer_tools[name] for name in named}
        if len(kinds) != 1:
            continue
        kind = kinds.pop()
        if kind not in options:
            percents = tuple(find_percents(item))
            options[kind] = OfferOption(kind, tuple(dict.fromkeys(named)), percents, source, line, item.strip())
    return OfferPlan(tuple(options.values()))
