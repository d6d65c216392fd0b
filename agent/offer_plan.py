"""Read a policy's retention offers from its structure, not its wording.

An offer is a markdown list item that names the tool(s) of exactly one kind of offer (`@set_discount_to_order`,
`@upgrade_shipping`, `@swap_order_item`/`@list_swap_options`, `@create_future_coupon`). Offers keep the order in
which the policy lists them; the percentages written in an item are its numbers. Items that name tools of several
offers at once (such as "apply it with @set_discount_to_order or @upgrade_shipping") are instructions, not offers.
Rephrasing the prose around these items changes nothing here; that is the point.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from agent.policy import TOOL_MENTION

LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
PERCENT = re.compile(r"(\d+(?:\.\d+)?)\s*%")


@dataclass(frozen=True)
class OfferOption:
    kind: str
    tools: tuple[str, ...]
    percents: tuple[float, ...]
    line: int
    text: str

    @property
    def first_percent(self) -> float | None:
        return min(self.percents) if self.percents else None

    @property
    def top_percent(self) -> float | None:
        return max(self.percents) if self.percents else None


@dataclass(frozen=True)
class OfferPlan:
    options: tuple[OfferOption, ...]

    def get(self, kind: str) -> OfferOption | None:
        return next((o for o in self.options if o.kind == kind), None)

    def describe(self) -> list[str]:
        """One line per offer, as the offline model understood it."""
        lines = []
        for number, option in enumerate(self.options, start=1):
            numbers = ", ".join(f"{p:g}%" for p in option.percents) or "no percentage"
            lines.append(f"{number}. {option.kind} via @{' / @'.join(option.tools)} ({numbers}; line {option.line})")
        return lines


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


def read_offer_plan(text: str, offer_tools: dict[str, str], first_line: int = 1) -> OfferPlan:
    """The retention offers listed in `text`, in order. `offer_tools` maps tool name -> offer kind."""
    return _read_offer_plan(text, tuple(sorted(offer_tools.items())), first_line)


@lru_cache(maxsize=256)  # the model reads the same system prompt at every step of a conversation
def _read_offer_plan(text: str, offer_tool_items: tuple[tuple[str, str], ...], first_line: int) -> OfferPlan:
    offer_tools = dict(offer_tool_items)
    options: dict[str, OfferOption] = {}
    for line, item in _list_items(text, first_line):
        named = [m.group(1) for m in TOOL_MENTION.finditer(item) if m.group(1) in offer_tools]
        kinds = {offer_tools[name] for name in named}
        if len(kinds) != 1:
            continue
        kind = kinds.pop()
        if kind not in options:
            percents = tuple(float(p) for p in PERCENT.findall(item))
            options[kind] = OfferOption(kind, tuple(dict.fromkeys(named)), percents, line, item.strip())
    return OfferPlan(tuple(options.values()))
