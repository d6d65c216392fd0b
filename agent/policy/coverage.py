"""Lint's coverage check: every line of a policy that says something about offers must be held by its plan.

A line is *explained* when the plan holds what it says: each offer kind it names is offered or excluded, each percent
it writes is one of the plan's numbers, a hand-over it mentions is in the plan, a condition, pacing or stacking it
states beside an offer is in the plan, and a priority column is only honoured by an explicit plan. Whatever a line
says beyond the plan is reported with the line, so a misread plan is never silent. The cues are data
(`mentions` in `fixtures/policy_reader/rules.yaml`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from agent.datafiles import read_yaml
from agent.numbers import find_percents
from agent.policy.document import Policy
from agent.policy.offers import RULES_FILE
from agent.policy.plan import OfferPlan
from agent.tools.kinds import OfferKind
from agent.tools.toolkit import apply_tool

ALL_KINDS = frozenset(OfferKind)
BLOCK_LINES = 12  # a list under a condition line rarely runs longer; beyond it the condition is far from the offers


@dataclass(frozen=True)
class Unexplained:
    """One line that says more than the plan holds, and what."""

    line: int
    text: str
    what: tuple[str, ...]
    numbers_differ: bool = False  # a percent the plan does not hold (an error under an explicit plan)


@cache
def mention_cues() -> dict[str, list[re.Pattern[str]]]:
    cues = read_yaml(RULES_FILE)["mentions"]
    return {name: [re.compile(p, re.IGNORECASE) for p in patterns] for name, patterns in cues.items()}


def _says(line: str, cue: str) -> bool:
    return any(p.search(line) for p in mention_cues()[cue])


def kinds_named(line: str) -> list[OfferKind]:
    return [kind for kind, tool in _apply_tools().items() if _says(line, kind.value) or f"@{tool}" in line]


@cache
def _apply_tools() -> dict[OfferKind, str]:
    """Each offer kind and the tool that applies it."""
    return {kind: apply_tool(kind) for kind in OfferKind}


def _numbers(plan: OfferPlan, kinds: list[OfferKind]) -> set[float]:
    """The percents the plan holds for these kinds (every kind when the line names none or several)."""
    options = [o for o in plan.options if not kinds or len(kinds) > 1 or o.kind in kinds]
    numbers = {p for o in options for p in (*o.percents, *(t.percent for t in o.tiers))}
    numbers |= {o.ceiling for o in options if o.ceiling is not None}
    return numbers | {x.max_percent for x in plan.limits}


def _unexplained(
    line: str, plan: OfferPlan, covered: frozenset[OfferKind], block_offers: bool
) -> tuple[list[str], bool]:
    """What `line` says beyond `plan`; `block_offers`: a later line of the same block (a list under this line, say)
    names an offer, so a condition here applies to it ("If the order has shipped:" above a list of offers)."""
    kinds = kinds_named(line)
    what = [f"{kind.value} (not in the plan)" for kind in kinds if kind not in covered]
    stray = [p for p in find_percents(line) if p not in _numbers(plan, kinds)]
    what += [f"{p:g}% (not among the plan's numbers)" for p in dict.fromkeys(stray)]
    if _says(line, "handover") and plan.handover_said is None:
        what.append("a hand-over (the plan has none)")
    beside_offer = bool(kinds or find_percents(line))
    if not beside_offer and block_offers and _says(line, "condition") and not any(o.conditional for o in plan.options):
        what.append("a condition on the offers below it (the plan's offers have none)")
    conditional = any(o.conditional for o in plan.options if not kinds or o.kind in kinds)
    if beside_offer and _says(line, "condition") and not conditional:
        what.append("a condition on the order (the plan's offers have none)")
    for_customer = any(o.asks_about_customer for o in plan.options if not kinds or o.kind in kinds)
    if (beside_offer or block_offers) and _says(line, "customer_condition") and not for_customer:
        what.append("a condition on the customer (the plan's offers have none)")
    after_concern = any("concern" in o.after for o in plan.options if o.kind in kinds)
    if kinds and _says(line, "concern_condition") and not _says(line, "handover") and not after_concern:
        what.append("an offer made only after a concern (the plan does not hold it back)")
    if plan.options and _says(line, "status_restriction") and not any(o.statuses for o in plan.options):
        what.append("a restriction to orders in some state (the plan's offers have none)")
    if beside_offer and _says(line, "stacking") and plan.stacking_said is None:
        what.append("combining offers (the plan does not say)")
    held = any("refusal" in o.after for o in plan.options if o.kind in kinds)  # "only if they decline: a coupon"
    if (
        (kinds or block_offers)
        and _says(line, "pacing")
        and plan.pacing_said is None
        and len(plan.options) > 1
        and not held
    ):
        what.append("an order or pacing of offers (the plan does not say)")
    if _says(line, "priority") and not plan.explicit:
        what.append("a priority (a drafted plan keeps the order of the text)")
    return what, bool(stray)


def _offers_later_in_block(lines: list[str], index: int) -> bool:
    """Whether a line after `index` and before the next blank line or heading names an offer or a percent (looking
    at most BLOCK_LINES ahead, so a policy without blank lines stays linear)."""
    for line in lines[index + 1 : index + 1 + BLOCK_LINES]:
        if not line.strip() or line.lstrip().startswith("#"):
            return False
        if kinds_named(line) or find_percents(line):
            return True
    return False


def unexplained_lines(policy: Policy, plan: OfferPlan) -> list[Unexplained]:
    """The lines of `policy` that say more about offers than `plan` holds, in order."""
    everything = any(x.kind is None for x in plan.exclusions)
    covered = ALL_KINDS if everything else frozenset({*plan.kinds, *(x.kind for x in plan.exclusions if x.kind)})
    found = []
    lines = policy.body.splitlines()
    for index, line in enumerate(lines):
        number = policy.body_first_line + index
        what, numbers_differ = _unexplained(line, plan, covered, _offers_later_in_block(lines, index))
        if what:
            found.append(Unexplained(number, line.strip(), tuple(what), numbers_differ))
    return found


def unmentioned_offers(policy: Policy, plan: OfferPlan) -> list[OfferKind]:
    """Offers an explicit plan makes that the policy's text never mentions: a real model would never hear of them."""
    named = {kind for line in policy.body.splitlines() for kind in kinds_named(line)}
    return [kind for kind in plan.kinds if kind not in named]
