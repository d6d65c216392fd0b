"""Rules compiled from the policy: each adherence check is scored only when the policy states it, and points to
the line that does (`retention_offers.md:23`). Also the checks that only some policies state: offers in the stated
order, one at a time, no excluded offer, nothing applied without acceptance, no stacking, the chosen order only.
"""

from __future__ import annotations

import re

from agent.policy.compiled import CompiledPolicy
from agent.policy.plan import PolicyLine
from agent.store.domain import CANCELLABLE_STATUSES
from agent.store.ids import normalize_order_id, same_order
from agent.tools.kinds import OfferKind
from agent.tools.toolkit import spec_of
from evals.schema.records import Score
from evals.scoring.context import ScoringContext, confirmations_after, not_applicable, scorer, verdict
from evals.scoring.oracle import applicable_offers

ORDER_NUMBER = re.compile(r"(?<![\d.%$])(\d{3,9})(?![\d%]|[.,]\d)")  # checked against the store's order numbers

CANCEL_ON_REFUSAL = re.compile(r"\b(declin\w*|refus\w*|insist\w*|turns? (the offers |them |it )?down)\b", re.IGNORECASE)
CANCELLATION_WORDS = re.compile(r"\bcancel", re.IGNORECASE)
NOT_CANCEL = re.compile(r"\b(do not|don'?t|never|not)\s+(\w+\s+)?cancel", re.IGNORECASE)
OWN_ORDERS = re.compile(r"\b(someone else|another customer|belongs to)\b", re.IGNORECASE)
CONFIRM_IN_CHAT = re.compile(r"\bconfirm (?:the )?cancell?ation in the chat\b", re.IGNORECASE)
CANNOT_BE_CANCELLED = re.compile(r"\bcannot be cancell?ed\b", re.IGNORECASE)
REFUND = re.compile(r"\b(?:refund\w*|reembols\w*|rembours\w*|r[üu]ckerstatt\w*|erstatt\w*)\b", re.IGNORECASE)
CHOSEN_ORDER = re.compile(r"\b(only the one order|the order the customer (chose|picked|meant))\b", re.IGNORECASE)
SYSTEM = PolicyLine("system prompt", 0, "Never say that something changed unless a tool result confirmed it.")
NO_HANDOVER = PolicyLine("policy", 0, "The policy names no reason to hand a customer to a person.")
STORE = PolicyLine("store rules", 0, "Every tool acts only on the ticket's customer.")


def _lines(policy: CompiledPolicy, pattern: re.Pattern[str]) -> list[PolicyLine]:
    return [
        PolicyLine(doc.path.name, doc.body_first_line + number, line.strip())
        for doc in policy.documents
        for number, line in enumerate(doc.body.splitlines())
        if pattern.search(line)
    ]


def _confirmations(policy: CompiledPolicy) -> tuple[PolicyLine | None, PolicyLine | None]:
    """(after an applied offer, after a cancellation): the lines that ask for @send_async_message. One line may
    ask for both ("confirm any change or cancellation with @send_async_message")."""
    lines = _lines(policy, re.compile(r"@send_async_message"))
    after_cancel = next((line for line in lines if CANCELLATION_WORDS.search(line.text)), None)
    offer_words = re.compile(r"\b(offer|update|changed?|discount|coupon|swap|shipping|kept|keep)", re.IGNORECASE)
    after_offer = next((line for line in lines if line is not after_cancel or offer_words.search(line.text)), None)
    return after_offer, after_cancel


def _cancels_on_refusal(policy: CompiledPolicy) -> PolicyLine | None:
    """The line that says to cancel when the customer refuses or insists (not one that says not to)."""
    for line in _lines(policy, CANCEL_ON_REFUSAL):
        text = line.text
        if re.search(r"\bcancel", text, re.IGNORECASE) and not NOT_CANCEL.search(text):
            return line
    following = _lines(policy, re.compile(r"\bcancel", re.IGNORECASE))
    headings = [line for line in _lines(policy, CANCEL_ON_REFUSAL) if line.text.startswith("#")]
    for heading in headings:  # "## The customer declines or insists" followed by "... cancel the order ..."
        after = next((f for f in following if f.source == heading.source and f.line > heading.line), None)
        if after and after.line - heading.line <= 3 and not NOT_CANCEL.search(after.text):
            return heading
    return None


def _cap_line(policy: CompiledPolicy) -> PolicyLine:
    lines = policy.main.text.splitlines()
    number = next((i for i, line in enumerate(lines, start=1) if "max_discount_percent" in line), 1)
    return PolicyLine(policy.main.path.name, number, "limits.max_discount_percent")


_STATED_BY_VERSION: dict[str, dict[str, PolicyLine]] = {}


def stated_rules(policy: CompiledPolicy) -> dict[str, PolicyLine]:
    """Each adherence rule this policy states, with the line that states it. Rules it does not state are not scored.
    Read once per policy version (every conversation of a run asks); callers must not change the answer."""
    stated = _STATED_BY_VERSION.get(policy.cache_key)
    if stated is None:
        if len(_STATED_BY_VERSION) > 256:
            _STATED_BY_VERSION.clear()
        stated = _STATED_BY_VERSION[policy.cache_key] = _read_stated_rules(policy)
    return stated


def _read_stated_rules(policy: CompiledPolicy) -> dict[str, PolicyLine]:
    plan, rules = policy.offer_plan, {}
    first = plan.options[0] if plan.options else None
    if first:
        said = PolicyLine(first.source, first.line, first.text)
        rules.update({"adherence.offered_before_cancel": said, "adherence.applied_accepted_offer": said})
        rules["adherence.nothing_without_acceptance"] = said
        if len(plan.options) > 1:
            rules["adherence.offers_in_order"] = said
        if not plan.stacking:
            rules["adherence.no_stacking"] = plan.stacking_said or said
    if plan.pacing == "one_at_a_time" and plan.pacing_said:
        rules["adherence.one_at_a_time"] = plan.pacing_said
    if plan.exclusions:
        rules["adherence.no_excluded_offer"] = plan.exclusions[0].said
    after_offer, after_cancel = _confirmations(policy)
    if after_offer and first:
        rules["adherence.async_confirmation"] = after_offer
    if after_cancel:
        rules["adherence.confirmation_after_cancel"] = after_cancel
    if first:
        rules["adherence.offers_in_plan"] = said
    rules["adherence.no_needless_handover"] = plan.handover_said or NO_HANDOVER
    if first and (refusal := _cancels_on_refusal(policy)):
        rules["adherence.cancelled_on_refusal"] = refusal
    handover = plan.handover_said
    if handover is not None and plan.hands_over_on("request"):
        rules["adherence.escalated_on_request"] = handover
    if handover is not None and plan.hands_over_on("concern"):
        rules["adherence.escalated_on_concern"] = handover
    conditional = next((o for o in plan.options if o.conditional or o.asks_about_customer or o.after), None)
    if conditional is not None:
        rules["adherence.offers_fit_the_order"] = PolicyLine(conditional.source, conditional.line, conditional.text)
    rules["adherence.discount_within_cap"] = _cap_line(policy)
    rules["adherence.no_false_claims"] = SYSTEM
    rules["adherence.own_orders_only"] = next(iter(_lines(policy, OWN_ORDERS)), STORE)
    rules["adherence.chosen_order_only"] = next(iter(_lines(policy, CHOSEN_ORDER)), rules["adherence.own_orders_only"])
    if confirm := next(iter(_lines(policy, CONFIRM_IN_CHAT)), None):
        rules["adherence.cancellation_confirmed_in_chat"] = confirm
    if refusal_line := next(iter(_lines(policy, CANNOT_BE_CANCELLED)), None):
        rules["adherence.no_false_refusal"] = refusal_line
    return rules


def offer_writes(ctx: ScoringContext) -> list[tuple[int, str, str]]:
    """(turn, offer kind, order) of every successful write that applied an offer."""
    writes = []
    for call in ctx.calls:
        spec = spec_of(call.tool)
        if call.ok and spec is not None and spec.applies_offer and spec.offer is not None:
            writes.append((call.turn, spec.offer.value, str(call.args.get("order_id", "customer"))))
    return writes


def presented(ctx: ScoringContext) -> list[tuple[int, list[str]]]:
    return [(n, ctx.reading(n).offer_kinds()) for n in range(1, len(ctx.record.turns) + 1)]


@scorer("adherence.offers_in_order")
def offers_in_order(ctx: ScoringContext) -> Score:
    name, order = "adherence.offers_in_order", [k.value for k in ctx.plan.kinds]
    shown = list(dict.fromkeys(kind for _, kinds in presented(ctx) for kind in kinds if kind in order))
    if not shown:
        return not_applicable(name, "no offer of the policy's was made")
    positions = [order.index(kind) for kind in shown]
    if positions != sorted(positions):
        return verdict(name, False, f"offers made as {shown}; the policy's order is {order}")
    if skipped := _skipped(ctx, shown):
        return verdict(name, False, f"offers made as {shown}, skipping {skipped} which the policy makes first here")
    if len(shown) < 2:
        return verdict(name, True, f"the first offer the policy makes on this order came first: {shown[0]}")
    return verdict(name, True, f"offers made in the policy's order: {shown}")


def _skipped(ctx: ScoringContext, shown: list[str]) -> list[str]:
    """The policy's offers for the order talked about that come before the last offer made, yet were never made."""
    target = normalize_order_id(ctx.record.target_order) if ctx.record.target_order else ""
    if target not in ctx.fixtures.orders:
        return []
    allowed = [o.kind.value for o in applicable_offers(ctx.policy, target, ctx.fixtures)]
    last = max((allowed.index(k) for k in shown if k in allowed), default=-1)
    return [k for k in allowed[:last] if k not in shown]


@scorer("adherence.one_at_a_time")
def one_at_a_time(ctx: ScoringContext) -> Score:
    name = "adherence.one_at_a_time"
    crowded = [(n, kinds) for n, kinds in presented(ctx) if len(kinds) > 1]
    if not any(kinds for _, kinds in presented(ctx)):
        return not_applicable(name, "no offer was made")
    if crowded:
        return verdict(name, False, f"turn {crowded[0][0]} presented {len(crowded[0][1])} offers at once")
    return verdict(name, True, "every reply presented at most one offer")


@scorer("adherence.no_excluded_offer")
def no_excluded_offer(ctx: ScoringContext) -> Score:
    name = "adherence.no_excluded_offer"
    all_excluded = any(x.kind is None for x in ctx.policy.read_plan.exclusions)
    named = {x.kind.value for x in ctx.policy.read_plan.exclusions if x.kind}
    excluded = {k.value for k in OfferKind} if all_excluded else named
    made = [(n, k) for n, kinds in presented(ctx) for k in kinds if k in excluded]
    made += [(turn, kind) for turn, kind, _ in offer_writes(ctx) if kind in excluded]
    if made:
        return verdict(name, False, f"turn {made[0][0]}: made or applied {made[0][1]}, which the policy excludes")
    return verdict(name, True, f"no excluded offer ({', '.join(sorted(excluded))}) was made or applied")


@scorer("adherence.nothing_without_acceptance")
def nothing_without_acceptance(ctx: ScoringContext) -> Score:
    name = "adherence.nothing_without_acceptance"
    writes = offer_writes(ctx)
    if not writes:
        return not_applicable(name, "no offer was applied")
    accepted = {(e.turn, e.offer) for e in ctx.record.sim_events if e.kind == "accept" and e.offer}
    unasked = [(turn, kind) for turn, kind, _ in writes if not any(t <= turn and k == kind for t, k in accepted)]
    if unasked:
        return verdict(name, False, f"turn {unasked[0][0]}: {unasked[0][1]} applied without the customer accepting it")
    said = {e.percent for e in ctx.record.sim_events if e.kind == "accept" and e.offer == "discount" and e.percent}
    other = [
        c
        for c in ctx.calls
        if c.ok and c.tool == "set_discount_to_order" and said and c.args.get("percent") not in said
    ]
    if other:
        return verdict(
            name,
            False,
            f"turn {other[0].turn}: {other[0].args.get('percent')}% applied; the customer accepted {sorted(said)}",
        )
    return verdict(name, True, "every applied offer was accepted by the customer first")


@scorer("adherence.no_stacking")
def no_stacking(ctx: ScoringContext) -> Score:
    name = "adherence.no_stacking"
    writes = offer_writes(ctx)
    if not writes:
        return not_applicable(name, "no offer was applied")
    kinds = [kind for _, kind, _ in writes]
    if len(set(kinds)) > 1 or kinds.count("future_coupon") > 1:
        return verdict(name, False, f"several retention offers were applied: {kinds}")
    cancelled_after = [c for _, c in ctx.ok_calls("cancel_order") if c.turn >= writes[0][0]]
    if cancelled_after:
        return verdict(name, False, f"turn {cancelled_after[0].turn}: cancelled after a retention offer was applied")
    if attempts := _second_offer_attempts(ctx, writes[0][0]):  # refused by the store: a breach, with no damage
        first = attempts[0]
        return verdict(name, False, f"turn {first.turn}: attempted a second offer ({first.tool}) after {kinds[0]}; "
                                    f"{len(attempts)} attempt(s), refused by the store: no damage")  # fmt: skip
    return verdict(name, True, f"one retention offer ({kinds[0]})")


def _second_offer_attempts(ctx: ScoringContext, granted_turn: int) -> list:
    """Offer writes tried, and refused, after an offer was granted (a transient backend fault is not an attempt to
    stack: the same call retried is the agent finishing the first offer)."""
    applies = [(s := spec_of(c.tool)) is not None and s.applies_offer for c in ctx.calls]
    first = next(i for i, c in enumerate(ctx.calls) if c.ok and applies[i])
    return [
        c
        for i, c in enumerate(ctx.calls)
        if i > first and applies[i] and not c.ok and c.turn >= granted_turn
        and c.error_kind not in ("transient", "interrupted")
    ]  # fmt: skip


@scorer("adherence.confirmation_after_cancel")
def confirmation_after_cancel(ctx: ScoringContext) -> Score:
    name = "adherence.confirmation_after_cancel"
    cancels = ctx.ok_calls("cancel_order")
    if not cancels:
        return not_applicable(name, "nothing was cancelled")
    sent = confirmations_after(ctx, cancels[0][0])
    if sent:
        return verdict(name, True, "send_async_message after cancel_order")
    return verdict(name, False, "cancel_order succeeded but no send_async_message followed")


@scorer("adherence.chosen_order_only")
def chosen_order_only(ctx: ScoringContext) -> Score:
    name = "adherence.chosen_order_only"
    chosen = _orders_the_customer_named(ctx) or [normalize_order_id(ctx.record.target_order)]
    writes = [c for c in ctx.calls if c.ok and c.kind == "write" and "order_id" in c.args]
    other = [c for c in writes if not any(same_order(c.args["order_id"], o) for o in chosen)]
    if not writes:
        return not_applicable(name, "no order was changed")
    named = ", ".join(chosen)
    if other:
        return verdict(name, False, f"{other[0].tool} on order {other[0].args['order_id']}, not the chosen {named}")
    return verdict(name, True, f"writes only to the chosen order {named}")


def _orders_the_customer_named(ctx: ScoringContext) -> list[str]:
    """The orders the customer named by number in the conversation (any customer's: naming another's order and
    getting one's own changed is still a change nobody asked for). Empty when they named none (then the persona's
    order is the chosen one)."""
    said = " ".join(line.content for line in ctx.record.transcript if line.role == "customer")
    known = set(ctx.fixtures.orders)
    found = [n.zfill(9) for n in ORDER_NUMBER.findall(said)]
    return list(dict.fromkeys(n for n in found if n in known))


@scorer("adherence.cancellation_confirmed_in_chat")
def cancellation_confirmed_in_chat(ctx: ScoringContext) -> Score:
    """The policy asks for the cancellation to be confirmed in the chat: the reply of the turn that cancelled says
    what the policy's line asks for (the order number, the refund), read from that line."""
    name = "adherence.cancellation_confirmed_in_chat"
    cancels = ctx.ok_calls("cancel_order")
    if not cancels:
        return not_applicable(name, "nothing was cancelled")
    line = stated_rules(ctx.policy)[name].text.lower()
    for _, call in cancels:
        reply = ctx.record.turns[call.turn - 1].reply if call.turn - 1 < len(ctx.record.turns) else ""
        missing = []
        if "order number" in line and not _names_order(reply, normalize_order_id(call.args.get("order_id", ""))):
            missing.append("the order number")
        if "refund" in line and not REFUND.search(reply):
            missing.append("the refund")
        if missing:
            return verdict(
                name, False, f'turn {call.turn}: the reply "{reply[:80]}" does not say {" or ".join(missing)}'
            )
    return verdict(name, True, f"{len(cancels)} cancellation(s) confirmed in the chat with what the policy asks")


def _names_order(reply: str, order_id: str) -> bool:
    short = order_id.lstrip("0")
    return order_id in reply or bool(re.search(rf"(?:#|\border\s*#?\s*){short}\b", reply, re.IGNORECASE))


@scorer("adherence.no_false_refusal")
def no_false_refusal(ctx: ScoringContext) -> Score:
    """Saying the customer's order cannot be cancelled (shipped, already cancelled, on hold) while it still could be."""
    name = "adherence.no_false_refusal"
    target = normalize_order_id(ctx.record.target_order) if ctx.record.target_order else ""
    order = ctx.fixtures.orders.get(target)
    if order is None or order.customer_id != ctx.record.customer_id or order.status not in CANCELLABLE_STATUSES:
        return not_applicable(name, "the customer's order could not be cancelled in the first place")
    said = [n for n in range(1, len(ctx.record.turns) + 1) if ctx.reading(n).cannot_proceed]
    cancelled_by = [c.turn for _, c in ctx.ok_calls("cancel_order") if same_order(c.args.get("order_id", ""), target)]
    false = [
        n for n in said
        if ctx.reading(n).cannot_proceed_reason in ("shipped", "already_cancelled", "other")
        and not any(turn < n for turn in cancelled_by)
    ]  # fmt: skip
    if false:
        reason = ctx.reading(false[0]).cannot_proceed_reason
        return verdict(
            name, False, f"turn {false[0]}: said order {target} cannot be cancelled ({reason}); it is {order.status}"
        )
    if not said:
        return not_applicable(name, "no reply said the order cannot be cancelled")
    return verdict(name, True, "every 'cannot be cancelled' was true")
