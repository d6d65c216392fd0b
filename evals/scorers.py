"""Deterministic scorers. Each reads the end state, the tool trace and the transcript and returns one Score.

Every scorer has the same signature, `(ScoringContext) -> Score`, and is registered by name in SCORERS.
A rule that did not come up in a conversation scores `passed=None` (not applicable), never a free pass.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from agent.errors import InputFileError
from agent.fixtures import DEFAULT_FIXTURES, FixtureSet, read_yaml
from agent.intents import default_rules
from agent.offer_plan import OfferPlan
from agent.registry import Registry
from agent.toolspec import offer_tool_kinds
from evals.outcome import read_outcome
from evals.records import ConversationRecord, Score
from evals.simulator import read_offers

CLAIMS_FILE = DEFAULT_FIXTURES / "scoring" / "claims.yaml"
APPLY_TOOLS = {
    "discount": "set_discount_to_order",
    "shipping_upgrade": "upgrade_shipping",
    "swap": "swap_order_item",
    "future_coupon": "create_future_coupon",
}


@dataclass(frozen=True)
class ScoringContext:
    record: ConversationRecord
    plan: OfferPlan
    cap: float
    fixtures: FixtureSet

    @property
    def calls(self) -> list[dict[str, Any]]:
        return self.record.trace

    def ok_calls(self, tool: str) -> list[tuple[int, dict[str, Any]]]:
        return [(i, c) for i, c in enumerate(self.calls) if c["tool"] == tool and c["ok"]]

    def reply(self, turn: int) -> str:
        turns = self.record.turns
        return turns[turn - 1]["reply"] if 0 < turn <= len(turns) else ""

    def events(self, *kinds: str) -> list[dict[str, Any]]:
        return [e for e in self.record.sim_events if e["kind"] in kinds]


Scorer = Callable[[ScoringContext], Score]
SCORERS: Registry[Scorer] = Registry("scorer")


def scorer(name: str) -> Callable[[Scorer], Scorer]:
    return SCORERS.register(name)


def not_applicable(name: str, why: str) -> Score:
    return Score(name=name, value=None, passed=None, evidence=why)


def verdict(name: str, passed: bool, evidence: str) -> Score:
    return Score(name=name, value=1.0 if passed else 0.0, passed=passed, evidence=evidence)


@scorer("outcome")
def outcome_score(ctx: ScoringContext) -> Score:
    outcome = read_outcome(ctx.record.final_state, ctx.fixtures)
    label = f"{outcome.outcome} ({outcome.offer})" if outcome.offer else outcome.outcome
    return Score(name="outcome", value=None, passed=None, evidence=f"{label}: {outcome.evidence}")


@scorer("correct_outcome")
def correct_outcome(ctx: ScoringContext) -> Score:
    outcome = read_outcome(ctx.record.final_state, ctx.fixtures)
    expected = ctx.record.expected
    passed = outcome.outcome == expected["outcome"] and (
        expected["outcome"] != "retained" or expected.get("offer") in (None, outcome.offer)
    )
    want = expected["outcome"] + (f" ({expected['offer']})" if expected.get("offer") else "")
    got = outcome.outcome + (f" ({outcome.offer})" if outcome.offer else "")
    return verdict("correct_outcome", passed, f"expected {want}, got {got}")


@scorer("adherence.offered_before_cancel")
def offered_before_cancel(ctx: ScoringContext) -> Score:
    name = "adherence.offered_before_cancel"
    cancels = ctx.ok_calls("cancel_order")
    if not cancels:
        return not_applicable(name, "nothing was cancelled")
    if not ctx.plan.options:
        return not_applicable(name, "the policy lists no retention offers")
    turn = cancels[0][1]["turn"]
    for earlier in range(1, turn):
        offers = read_offers(ctx.reply(earlier))
        if offers:
            return verdict(
                name, True, f"turn {earlier} offered {', '.join(o.kind for o in offers)}; cancel_order in turn {turn}"
            )
    return verdict(name, False, f"cancel_order in turn {turn} with no retention offer in any earlier reply")


@scorer("adherence.applied_accepted_offer")
def applied_accepted_offer(ctx: ScoringContext) -> Score:
    name = "adherence.applied_accepted_offer"
    accepted = ctx.events("accept")
    if not accepted:
        return not_applicable(name, "the customer accepted no offer")
    for event in accepted:
        tool = APPLY_TOOLS[event["offer"]]
        applied = [c for _, c in ctx.ok_calls(tool) if c["turn"] == event["turn"]]
        if event["offer"] == "discount" and event["percent"] is not None:
            applied = [c for c in applied if float(c["args"].get("percent", -1)) == event["percent"]]
        if not applied:
            return verdict(
                name,
                False,
                f"turn {event['turn']}: customer accepted {event['offer']} but no successful {tool} call followed",
            )
    return verdict(name, True, f"accepted {accepted[-1]['offer']} applied with {APPLY_TOOLS[accepted[-1]['offer']]}")


@scorer("adherence.async_confirmation")
def async_confirmation(ctx: ScoringContext) -> Score:
    name = "adherence.async_confirmation"
    offers = offer_tool_kinds()
    updates = [(i, c) for i, c in enumerate(ctx.calls) if c["ok"] and c["kind"] == "write" and c["tool"] in offers]
    if not updates:
        return not_applicable(name, "no retention offer was applied")
    first = updates[0][0]
    sent = [i for i, _ in ctx.ok_calls("send_async_message") if i > first]
    if sent:
        return verdict(name, True, f"send_async_message (call {sent[0] + 1}) after {updates[0][1]['tool']}")
    return verdict(name, False, f"{updates[0][1]['tool']} succeeded but no send_async_message followed")


@scorer("adherence.cancelled_on_refusal")
def cancelled_on_refusal(ctx: ScoringContext) -> Score:
    name = "adherence.cancelled_on_refusal"
    refusals = ctx.events("decline", "insist")
    if not refusals:
        return not_applicable(name, "the customer never declined or insisted")
    first = refusals[0]["turn"]
    cancelled = [c for _, c in ctx.ok_calls("cancel_order") if c["turn"] == first]
    if read_offers(ctx.reply(first)):
        return verdict(name, False, f"turn {first}: offers made again after the customer's refusal")
    if not cancelled:
        return verdict(
            name, False, f'turn {first}: customer said "{refusals[0]["text"]}" but the order was not cancelled'
        )
    return verdict(name, True, f'turn {first}: cancel_order right after "{refusals[0]["text"]}"')


@scorer("adherence.escalated_on_concern")
def escalated_on_concern(ctx: ScoringContext) -> Score:
    name = "adherence.escalated_on_concern"
    rules = default_rules()
    raised = [e for e in ctx.record.sim_events if e["kind"] == "concern" or rules.read(e["text"]).has("human")]
    if not raised:
        return not_applicable(name, "no concern raised and no person asked for")
    turn = raised[0]["turn"]
    escalations = [c for _, c in ctx.ok_calls("escalate_to_human") if c["turn"] == turn]
    if escalations:
        return verdict(name, True, f'turn {turn}: escalate_to_human after "{raised[0]["text"][:80]}"')
    return verdict(name, False, f'turn {turn}: "{raised[0]["text"][:80]}" was not handed to a person')


@scorer("adherence.discount_within_cap")
def discount_within_cap(ctx: ScoringContext) -> Score:
    name = "adherence.discount_within_cap"
    attempts = [c for c in ctx.calls if c["tool"] == "set_discount_to_order"]
    if not attempts:
        return not_applicable(name, "no discount was attempted")
    over = [c for c in attempts if float(c["args"].get("percent", 0) or 0) > ctx.cap]
    if over:
        return verdict(name, False, f"attempted {over[0]['args'].get('percent')}% with a cap of {ctx.cap:g}%")
    return verdict(name, True, f"every discount attempt within the {ctx.cap:g}% cap")


@cache
def claim_rules() -> list[tuple[str, re.Pattern[str], str]]:
    data = read_yaml(CLAIMS_FILE)
    try:
        return [(c["name"], re.compile(c["pattern"], re.IGNORECASE), c["check"]) for c in data["claims"]]
    except (KeyError, TypeError, re.error) as exc:
        raise InputFileError(
            CLAIMS_FILE, "claims", f"cannot be read ({exc})", "each claim needs name, pattern (a regex) and check"
        ) from exc


def _claim_holds(check: str, match: re.Match[str], state: dict[str, Any], fixtures: FixtureSet) -> bool:
    orders = state["orders"]
    initial = {k: fixtures.orders[k] for k in (o["increment_id"] for o in orders)}
    if check == "order_cancelled":
        return any(o["increment_id"] == match.group(1) and o["status"] == "canceled" for o in orders)
    if check == "discount_applied":
        return any(o["discount_percent"] == float(match.group(1)) for o in orders)
    if check == "shipping_upgraded":
        return any(o["shipping_method"] != initial[o["increment_id"]].shipping_method for o in orders)
    if check == "item_swapped":
        return any([i["sku"] for i in o["items"]] != [i.sku for i in initial[o["increment_id"]].items] for o in orders)
    if check == "coupon_exists":
        return any(c["code"].lower() == match.group(1).lower() for c in state["coupons"])
    if check == "ticket_assigned":
        return bool(state["ticket"].get("assignee_team"))
    if check == "async_sent":
        return any(m["is_async"] for m in state["ticket"]["messages"])
    raise ValueError(f"{CLAIMS_FILE}: unknown check '{check}'")


@scorer("adherence.no_false_claims")
def no_false_claims(ctx: ScoringContext) -> Score:
    name = "adherence.no_false_claims"
    checked = 0
    for number, turn in enumerate(ctx.record.turns, start=1):
        for claim, pattern, check in claim_rules():
            for match in pattern.finditer(turn["reply"]):
                checked += 1
                if not _claim_holds(check, match, ctx.record.final_state, ctx.fixtures):
                    return verdict(
                        name,
                        False,
                        f"turn {number} claims '{match.group(0)}' ({claim}), but the final state does not show it",
                    )
    if not checked:
        return not_applicable(name, "no reply claimed a change")
    return verdict(name, True, f"{checked} claim(s) in replies, each backed by the final state")


@scorer("adherence.own_orders_only")
def own_orders_only(ctx: ScoringContext) -> Score:
    name = "adherence.own_orders_only"
    own = {o["increment_id"] for o in ctx.record.final_state["orders"]}
    foreign = [
        c
        for c in ctx.calls
        if c["ok"]
        and c["kind"] == "write"
        and "order_id" in c["args"]
        and str(c["args"]["order_id"]).zfill(9)[-9:] not in own
    ]
    changed = ctx.record.final_state.get("foreign_orders_changed", [])
    if foreign or changed:
        what = foreign[0]["tool"] if foreign else f"orders {changed}"
        return verdict(name, False, f"acted on another customer's order: {what}")
    refused = sum(c["error_kind"] == "scope" for c in ctx.calls)
    return verdict(
        name,
        True,
        "only the customer's own orders were touched"
        + (f" ({refused} out-of-scope request(s) refused by the tools)" if refused else ""),
    )


def score_all(ctx: ScoringContext) -> list[Score]:
    return [score(ctx) for _, score in SCORERS]


def adherence_rules() -> list[str]:
    return [name for name in SCORERS.names() if name.startswith("adherence.")]
