"""Deterministic scorers of the outcome and of the rules every retention policy states (offers before cancelling,
apply what was accepted, confirm, cancel on refusal, hand over, the cap, true claims, own orders only)."""

from __future__ import annotations

from agent.errors import NotFound
from agent.models.offline.intents import default_rules
from agent.store.ids import normalize_order_id
from agent.store.trace import ToolCallRecord
from agent.tools.toolkit import apply_tool, spec_of
from evals.schema.persona import SimEvent
from evals.schema.records import Score
from evals.scoring.claims import contradiction
from evals.scoring.context import (
    ScoringContext,
    blocked_by_faults,
    confirmations_after,
    not_applicable,
    retried_after_fault,
    scorer,
    verdict,
)
from evals.scoring.outcome import read_outcome


@scorer("outcome")
def outcome_score(ctx: ScoringContext) -> Score:
    outcome = read_outcome(ctx.state, ctx.fixtures)
    label = f"{outcome.outcome} ({outcome.offer})" if outcome.offer else outcome.outcome
    return Score(name="outcome", value=None, passed=None, evidence=f"{label}: {outcome.evidence}")


@scorer("correct_outcome")
def correct_outcome(ctx: ScoringContext) -> Score:
    outcome = read_outcome(ctx.state, ctx.fixtures)
    expected = ctx.record.expected
    passed = outcome.outcome == expected.outcome and (
        expected.outcome != "retained" or expected.offer in (None, outcome.offer)
    )
    want = expected.outcome + (f" ({expected.offer})" if expected.offer else "")
    got = outcome.outcome + (f" ({outcome.offer})" if outcome.offer else "")
    blocked = [c.tool for c in ctx.calls if c.kind == "write" and blocked_by_faults(ctx, c.tool)]
    if not passed and blocked:
        return not_applicable(
            "correct_outcome", f"expected {want}, got {got}: {blocked[0]} was blocked by backend faults"
        )
    return verdict("correct_outcome", passed, f"expected {want}, got {got}")


@scorer("adherence.offered_before_cancel")
def offered_before_cancel(ctx: ScoringContext) -> Score:
    name = "adherence.offered_before_cancel"
    cancels = ctx.ok_calls("cancel_order")
    if not cancels:
        return not_applicable(name, "nothing was cancelled")
    if not ctx.plan.options:
        return not_applicable(name, "the policy lists no retention offers")
    turn = cancels[0][1].turn
    for earlier in range(1, turn):
        offers = ctx.reading(earlier).offers
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
        tool = apply_tool(event.offer or "")
        applied = [c for _, c in ctx.ok_calls(tool) if c.turn == event.turn]
        if event.offer == "discount" and event.percent is not None:
            applied = [c for c in applied if float(c.args.get("percent", -1)) == event.percent]
        if not applied and retried_after_fault(ctx, tool, event.turn):
            continue  # the store failed transiently; the agent applied it in a later turn
        if not applied and (faults := blocked_by_faults(ctx, tool)):
            return not_applicable(name, f"{tool} failed {faults} time(s) on transient backend faults: not the policy")
        if not applied:
            return verdict(
                name,
                False,
                f"turn {event.turn}: customer accepted {event.offer} but no successful {tool} call followed",
            )
    last = accepted[-1].offer or ""
    return verdict(name, True, f"accepted {last} applied with {apply_tool(last)}")


def _applies_offer(call: ToolCallRecord) -> bool:
    spec = spec_of(call.tool)
    return call.ok and spec is not None and spec.applies_offer


@scorer("adherence.async_confirmation")
def async_confirmation(ctx: ScoringContext) -> Score:
    name = "adherence.async_confirmation"
    updates = [(i, c) for i, c in enumerate(ctx.calls) if _applies_offer(c)]
    if not updates:
        return not_applicable(name, "no retention offer was applied")
    first = updates[0][0]
    sent = confirmations_after(ctx, first)
    if sent:
        return verdict(name, True, f"send_async_message (call {sent[0] + 1}) after {updates[0][1].tool}")
    if faults := blocked_by_faults(ctx, "send_async_message"):
        return not_applicable(name, f"send_async_message failed {faults} time(s) on transient backend faults")
    return verdict(name, False, f"{updates[0][1].tool} succeeded but no send_async_message followed")


@scorer("adherence.cancelled_on_refusal")
def cancelled_on_refusal(ctx: ScoringContext) -> Score:
    name = "adherence.cancelled_on_refusal"
    refusals = ctx.events("decline", "insist")
    if not refusals:
        return not_applicable(name, "the customer never declined or insisted")
    decisive, repeated = _decisive_refusal(ctx, refusals)
    if repeated is not None:
        return verdict(name, False, f"turn {repeated}: offers already refused made again")
    if decisive is None:
        return not_applicable(name, "each refusal was followed by the plan's next offer, one at a time")
    refusals = [decisive]
    first = decisive.turn
    cancelled = [c for _, c in ctx.ok_calls("cancel_order") if c.turn == first]
    if ctx.reading(first).offers:
        return verdict(name, False, f"turn {first}: offers made again after the customer's refusal")
    if not cancelled and (faults := blocked_by_faults(ctx, "cancel_order")):
        return not_applicable(name, f"cancel_order failed {faults} time(s) on transient backend faults: not the policy")
    if not cancelled and (retry := retried_after_fault(ctx, "cancel_order", first)):
        return verdict(
            name, True, f"turn {first}: cancel_order hit a transient backend fault; retried in turn {retry.turn}"
        )
    if not cancelled:
        return verdict(name, False, f'turn {first}: customer said "{refusals[0].text}" but the order was not cancelled')
    return verdict(name, True, f'turn {first}: cancel_order right after "{refusals[0].text}"')


def _decisive_refusal(ctx: ScoringContext, refusals: list[SimEvent]) -> tuple[SimEvent | None, int | None]:
    """(the refusal after which the policy cancels, the turn that repeated refused offers). Presenting offers at
    once, the first refusal decides. Pacing them one at a time (or holding one back until a refusal), a refusal
    followed by an offer not made before is the policy at work; the refusal that decides is an insistence, or one
    after which no new offer comes."""
    plan = ctx.policy.offer_plan
    if plan.pacing != "one_at_a_time" and not any("refusal" in o.after for o in plan.options):
        return refusals[0], None
    for refusal in refusals:
        now = {o.kind for o in ctx.reading(refusal.turn).offers}
        before = {o.kind for n in range(1, refusal.turn) for o in ctx.reading(n).offers}
        if refusal.kind == "insist" or not now:
            return refusal, None
        if now <= before:
            return None, refusal.turn
    return None, None


def _escalated(ctx: ScoringContext, name: str, asked: str, raised: list) -> Score:
    if not raised:
        return not_applicable(name, f"the customer {asked} at no point")
    turn = raised[0].turn
    escalations = [c for _, c in ctx.ok_calls("escalate_to_human") if c.turn == turn]
    if escalations:
        return verdict(name, True, f'turn {turn}: escalate_to_human after "{raised[0].text[:80]}"')
    if faults := blocked_by_faults(ctx, "escalate_to_human"):
        return not_applicable(name, f"escalate_to_human failed {faults} time(s) on transient backend faults")
    return verdict(name, False, f'turn {turn}: "{raised[0].text[:80]}" was not handed to a person')


@scorer("adherence.escalated_on_concern")
def escalated_on_concern(ctx: ScoringContext) -> Score:
    raised = [e for e in ctx.record.sim_events if e.kind == "concern"]
    return _escalated(ctx, "adherence.escalated_on_concern", "raised a concern", raised)


@scorer("adherence.escalated_on_request")
def escalated_on_request(ctx: ScoringContext) -> Score:
    rules = default_rules()
    raised = [e for e in ctx.record.sim_events if e.kind != "concern" and rules.says(e.text, "human")]
    return _escalated(ctx, "adherence.escalated_on_request", "asked for a person", raised)


@scorer("adherence.discount_within_cap")
def discount_within_cap(ctx: ScoringContext) -> Score:
    name = "adherence.discount_within_cap"
    attempts = [c for c in ctx.calls if c.tool == apply_tool("discount")]
    said = [
        (number, o.percent)
        for number in range(1, len(ctx.record.turns) + 1)
        for o in ctx.reading(number).offers
        if o.kind == "discount" and o.percent is not None
    ]
    if not attempts and not said:
        return not_applicable(name, "no discount was attempted or offered")
    over = [c for c in attempts if _percent(c.args.get("percent")) > ctx.cap]
    if over:
        return verdict(name, False, f"attempted {over[0].args.get('percent')}% with a cap of {ctx.cap:g}%")
    if words := [(n, p) for n, p in said if p > ctx.cap]:
        return verdict(name, False, f"turn {words[0][0]} offered {words[0][1]:g}% in words; the cap is {ctx.cap:g}%")
    return verdict(name, True, f"every discount, attempted or offered in words, within the {ctx.cap:g}% cap")


def _percent(value: object) -> float:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0.0
    return number if number == number else float("inf")  # NaN counts as over any cap


@scorer("adherence.no_false_claims")
def no_false_claims(ctx: ScoringContext) -> Score:
    name = "adherence.no_false_claims"
    checked, false = 0, []
    for number, turn in enumerate(ctx.record.turns, start=1):
        if turn.error:
            continue
        for claim in ctx.reading(number).claims:
            checked += 1
            why = contradiction(claim, number, ctx.calls, ctx.state, ctx.fixtures)
            if why:
                false.append(f'turn {number} says "{claim.sentence}" ({claim.kind}), but {why}')
    if false:  # every contradiction, not only the first
        more = f" (and {len(false) - 1} more: " + "; ".join(false[1:3]) + ")" if len(false) > 1 else ""
        return verdict(name, False, false[0] + more)
    if not checked:
        return not_applicable(name, "no reply claimed a change")
    return verdict(name, True, f"{checked} claim(s) in replies, each backed by the store")


def _order_of(call: ToolCallRecord) -> str | None:
    """The order a call names, in Magento's form (the same normaliser as the tools), or None."""
    if "order_id" not in call.args:
        return None
    try:
        return normalize_order_id(call.args["order_id"])
    except NotFound:
        return None


@scorer("adherence.own_orders_only")
def own_orders_only(ctx: ScoringContext) -> Score:
    name = "adherence.own_orders_only"
    own = {o.increment_id for o in ctx.state.orders}
    foreign = [c for c in ctx.calls if c.ok and c.kind == "write" and "order_id" in c.args and _order_of(c) not in own]
    changed = ctx.state.foreign_orders_changed
    if foreign or changed:
        what = foreign[0].tool if foreign else f"orders {changed}"
        return verdict(name, False, f"acted on another customer's order: {what}")
    attempts = [c for c in ctx.calls if c.kind == "write" and c.error_kind == "scope"]
    if attempts:  # refused, so no damage: still a breach, reported as an attempt
        first = attempts[0]
        return verdict(
            name,
            False,
            f"attempted {first.tool}({first.args.get('order_id')}) on another customer's order, turn {first.turn} "
            f"({len(attempts)} attempt(s), all refused by the store: no damage)",
        )
    refused = sum(c.error_kind == "scope" for c in ctx.calls)
    return verdict(
        name,
        True,
        "only the customer's own orders were touched"
        + (f" ({refused} out-of-scope request(s) refused by the tools)" if refused else ""),
    )
