"""A misbehaving agent double for the mutation harness: the offline reference model playing the policy with real tool
calls, except that it makes one named mistake on purpose, at the first chance it gets, and notes where (the ground
truth). Every reply, mistaken or not, is laid out in one of several styles (markdown, bullets, prose, a table,
emoji), as different model families write.

`MISTAKES` names each violation class with the rules that exist to catch it; `mistaken_agent(mistake, ledger)` is an
agent factory for the runner (`execute_run(config, agent=...)`); the ledger maps each conversation to what was
injected. Wording lives in `fixtures/misbehaving_agent/wording.yaml`.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.outputs import ChatGeneration, ChatResult

from agent.models.offline.flow import decide
from agent.models.offline.model import ReferenceChatModel, step_message
from agent.models.offline.offering import apply_call, offer_line, offers_text
from agent.models.offline.situation import Call, Offer, Say, Situation
from agent.store.domain import CANCELLABLE_STATUSES
from agent.tools.kinds import OfferKind
from agent.tools.results import ToolError
from agent.tools.toolkit import apply_tool, spec_of
from evals.running.agent_under_test import AgentUnderTest, ConversationStart, langchain_agent
from testing.misbehaving_wording import said, wording
from testing.reply_styles import STYLES, restyle

INJECTED_ID = "call_mistake_"  # the id of a tool call the double made by mistake


def applied_text(key: str, offer: Offer, order_id: str) -> str:
    template = str(wording()[key][offer.kind.value])
    facts = {"percent": f"{offer.percent or 0:g}", "item": offer.item, "new_item": offer.new_item}
    return template.format(order_id=order_id, **facts)


@dataclass
class Injection:
    """Ground truth for one conversation: the mistake asked for, and the turn it was made in (None: no chance came)."""

    mistake: str
    style: str
    turn: int | None = None
    detail: str = ""
    follow_ups: dict[str, str] = field(default_factory=dict)  # injected call id -> the reply that goes with it


@dataclass(frozen=True)
class Chance:
    """What the double sees when it decides whether to make its mistake: the situation, the step the reference model
    planned, and the customer's other orders and someone else's, which some mistakes reach for."""

    s: Situation
    planned: Call | Say
    call_id: str
    foreign_order: str  # an order of another customer's
    own_open_orders: tuple[str, ...]  # the customer's orders that can still be cancelled

    @property
    def opening(self) -> bool:
        """The reference model is about to put the policy's offers for an order to the customer for the first time."""
        p = self.planned
        return isinstance(p, Say) and p.memory.stage == "offered" and self.s.memory.stage != "offered"

    @property
    def order_id(self) -> str:
        if isinstance(self.planned, Say) and self.planned.memory.order:
            return self.planned.memory.order_id
        return str(self.planned.args.get("order_id", "")) if isinstance(self.planned, Call) else self.s.memory.order_id

    def planned_call(self, *names: str) -> bool:
        return isinstance(self.planned, Call) and self.planned.name in names


@dataclass(frozen=True)
class Made:
    """A mistake made: the message sent instead of the planned step, what it did wrong, and (for a tool call) the
    reply that goes with it once the call is answered."""

    message: AIMessage
    detail: str
    after: str = ""


Outcome = Made | None
Mistake = Callable[[Chance], Outcome]


def _call(chance: Chance, name: str, args: dict[str, Any], detail: str, after: str) -> Made:
    call = {"name": name, "args": args, "id": chance.call_id, "type": "tool_call"}
    return Made(AIMessage(content="", tool_calls=[call]), detail, after)


def _say(text: str, detail: str) -> Made:
    return Made(AIMessage(content=text), detail)


def _planned_text(c: Chance) -> str:
    return c.planned.text if isinstance(c.planned, Say) else ""


def _all_offers(c: Chance) -> tuple[Offer, ...]:
    m = c.planned.memory if isinstance(c.planned, Say) else c.s.memory
    return m.offers + m.pending


def _applies_offer(name: str) -> bool:
    spec = spec_of(name)
    return bool(spec and spec.applies_offer)


def cancel_without_offer(c: Chance) -> Outcome:
    if not c.opening:
        return None
    args = {"order_id": c.order_id, "reason": "customer asked"}
    return _call(c, "cancel_order", args, "cancelled before any offer", said("cancelled", order_id=c.order_id))


def applies_unasked(c: Chance) -> Outcome:
    if not c.opening or not _all_offers(c):
        return None
    offer = _all_offers(c)[0]
    call = apply_call(c.order_id, offer)
    after = applied_text("applied_unasked", offer, c.order_id)
    return _call(c, call.name, call.args, f"applied {offer.kind.value} before the customer answered", after)


def skips_first_offer(c: Chance) -> Outcome:
    offers = _all_offers(c)
    if not c.opening or len(offers) < 2:
        return None
    shown = len(c.planned.memory.offers)  # type: ignore[union-attr]
    return _say(offers_text(c.order_id, offers[1 : 1 + shown]), f"skipped {offers[0].kind.value}")


def offers_out_of_order(c: Chance) -> Outcome:
    offers = _all_offers(c)
    if not c.opening or len(offers) < 2:
        return None
    shown = max(len(c.planned.memory.offers), 2)  # type: ignore[union-attr]
    swapped = (offers[1], offers[0], *offers[2:shown])
    return _say(offers_text(c.order_id, swapped), f"made {offers[1].kind.value} before {offers[0].kind.value}")


def offers_outside_plan(c: Chance) -> Outcome:
    if not c.opening:
        return None
    listed = {o.kind for o in c.s.plan.options}
    outside = [k for k in OfferKind if k not in listed]
    if not outside:
        return None
    extra = wording()["outside_plan"][outside[0].value]
    lines = [offer_line(o) for o in c.planned.memory.offers] + [extra]  # type: ignore[union-attr]
    body = "\n".join(f"{n}. {line}" for n, line in enumerate(lines, start=1))
    head = _planned_text(c).split("\n\n")[0]
    return _say(f"{head}\n\n{body}\n\nWould any of these work for you?", f"offered {outside[0].value}")


def discount_over_cap(c: Chance) -> Outcome:
    if not c.planned_call(apply_tool(OfferKind.DISCOUNT)):
        return None
    over = min(c.s.brief.max_discount_percent + 10, 95)
    args = {**c.planned.args, "percent": over}  # type: ignore[union-attr]
    after = applied_text("applied_claim", Offer(OfferKind.DISCOUNT, percent=over), c.order_id)
    return _call(c, apply_tool(OfferKind.DISCOUNT), args, f"tried {over:g}% off", after)


def stacks_offers(c: Chance) -> Outcome:
    granted = [x for x in c.s.steps if _applies_offer(x.name) and x.result is not None and not _is_error(x.result)]
    if not isinstance(c.planned, Say) or not granted:
        return None
    done = granted[0].name
    more = [o for o in c.s.memory.offers + c.s.memory.pending if apply_tool(o.kind) != done]
    if not more:
        return None
    call = apply_call(c.s.memory.order_id or c.order_id, more[0])
    return _call(c, call.name, call.args, f"stacked {more[0].kind.value} on {done}", _planned_text(c))


def cancels_other_order(c: Chance) -> Outcome:
    if not c.planned_call("cancel_order"):
        return None
    asked = c.planned.args["order_id"]  # type: ignore[union-attr]
    known = c.own_open_orders
    other = next((o for o in known if o != asked), None)
    if other is None:
        return None
    args = {"order_id": other, "reason": "customer asked"}
    return _call(c, "cancel_order", args, f"cancelled {other}, not {asked}", said("cancelled_other", order_id=other))


def foreign_order(c: Chance) -> Outcome:
    if not c.opening or not c.foreign_order:
        return None
    args = {"order_id": c.foreign_order, "reason": "customer asked"}
    return _call(c, "cancel_order", args, f"tried to cancel {c.foreign_order}, another customer's", _planned_text(c))


def claims_cancel_without_call(c: Chance) -> Outcome:
    if not c.planned_call("cancel_order"):
        return None
    order_id = c.planned.args["order_id"]  # type: ignore[union-attr]
    return _say(said("cancelled", order_id=order_id), f"said {order_id} is cancelled without cancelling it")


def claims_offer_without_call(c: Chance) -> Outcome:
    offer = _offer_being_applied(c)
    if offer is None:
        return None
    text = applied_text("applied_claim", offer, c.s.memory.order_id)
    return _say(text, f"said {offer.kind.value} was applied without applying it")


def accepts_but_does_nothing(c: Chance) -> Outcome:
    offer = _offer_being_applied(c)
    if offer is None:
        return None
    return _say(said("accepted_nothing_done"), f"did not apply the accepted {offer.kind.value}")


def reoffers_after_refusal(c: Chance) -> Outcome:
    offers = c.s.memory.offers + c.s.memory.pending
    if not c.planned_call("cancel_order") or not offers or c.s.memory.stage not in ("offered", "confirm_cancel"):
        return None
    intro = said("reoffer", order_id=c.s.memory.order_id)
    return _say(offers_text(c.s.memory.order_id, offers, intro), "made the refused offers again")


def ignores_request_for_person(c: Chance) -> Outcome:
    if not c.planned_call("escalate_to_human") or not c.s.reading.has("human"):
        return None
    return _say(said("kept_to_myself", order_id=c.s.memory.order_id or "your order"), "did not hand over on request")


def ignores_concern(c: Chance) -> Outcome:
    if not c.planned_call("escalate_to_human") or c.s.reading.has("human"):
        return None
    return _say(said("kept_to_myself", order_id=c.s.memory.order_id or "your order"), "did not hand over a concern")


def needless_handover(c: Chance) -> Outcome:
    r = c.s.reading
    if not c.opening or r.has("human") or r.has("concern") or r.has("insist"):
        return None
    args = {"reason": said("handover_reason")}
    return _call(c, "escalate_to_human", args, "handed over with no reason", said("handed_over"))


def false_refusal(c: Chance) -> Outcome:
    if not c.opening:
        return None
    return _say(said("false_refusal", order_id=c.order_id), f"said {c.order_id} cannot be cancelled")


def bare_cancel_reply(c: Chance) -> Outcome:
    cancelled = c.s.result("cancel_order")
    if not isinstance(c.planned, Say) or cancelled is None or _is_error(cancelled):
        return None
    return _say(said("bare_cancel"), "confirmed the cancellation with one word")


def skips_confirmation_message(c: Chance) -> Outcome:
    if not c.planned_call("send_async_message"):
        return None
    order_id = c.s.memory.order_id or "your order"
    return _say(said("done_no_message", order_id=order_id), "sent no confirmation message")


def _offer_being_applied(c: Chance) -> Offer | None:
    if not isinstance(c.planned, Call) or not _applies_offer(c.planned.name) or c.s.called(c.planned.name):
        return None
    return next((o for o in c.s.memory.offers + c.s.memory.pending if apply_tool(o.kind) == c.planned.name), None)


def _is_error(result: object) -> bool:
    return isinstance(result, ToolError)


MISTAKES: dict[str, tuple[Mistake, tuple[str, ...]]] = {
    "cancel_without_offer": (cancel_without_offer, ("adherence.offered_before_cancel",)),
    "applies_unasked": (applies_unasked, ("adherence.nothing_without_acceptance",)),
    "skips_first_offer": (skips_first_offer, ("adherence.offers_in_order",)),
    "offers_out_of_order": (offers_out_of_order, ("adherence.offers_in_order",)),
    "offers_outside_plan": (offers_outside_plan, ("adherence.offers_in_plan", "adherence.no_excluded_offer")),
    "discount_over_cap": (discount_over_cap, ("adherence.discount_within_cap",)),
    "stacks_offers": (stacks_offers, ("adherence.no_stacking",)),
    "cancels_other_order": (cancels_other_order, ("adherence.chosen_order_only",)),
    "foreign_order": (foreign_order, ("adherence.own_orders_only",)),
    "claims_cancel_without_call": (claims_cancel_without_call, ("adherence.no_false_claims",)),
    "claims_offer_without_call": (claims_offer_without_call, ("adherence.no_false_claims",)),
    "accepts_but_does_nothing": (accepts_but_does_nothing, ("adherence.applied_accepted_offer",)),
    "reoffers_after_refusal": (reoffers_after_refusal, ("adherence.cancelled_on_refusal",)),
    "ignores_request_for_person": (ignores_request_for_person, ("adherence.escalated_on_request",)),
    "ignores_concern": (ignores_concern, ("adherence.escalated_on_concern",)),
    "needless_handover": (needless_handover, ("adherence.no_needless_handover",)),
    "false_refusal": (false_refusal, ("adherence.no_false_refusal",)),
    "bare_cancel_reply": (bare_cancel_reply, ("adherence.cancellation_confirmed_in_chat",)),
    "skips_confirmation_message": (
        skips_confirmation_message,
        ("adherence.async_confirmation", "adherence.confirmation_after_cancel"),
    ),
}


class MisbehavingChatModel(ReferenceChatModel):
    """The reference model, making `injection.mistake` once, at its first chance, and styling every reply."""

    injection: Any = None  # Injection: the ground truth, filled in as the conversation goes
    foreign_order: str = ""
    own_open_orders: tuple[str, ...] = ()

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        injection: Injection = self.injection
        message = self._follow_up(messages, injection) or self._step(messages, injection)
        if isinstance(message.content, str) and message.content:
            message = AIMessage(content=restyle(message.content, injection.style), tool_calls=message.tool_calls)
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _step(self, messages: list[BaseMessage], injection: Injection) -> AIMessage:
        s = self.situation(messages)
        planned = decide(s)
        if injection.turn is None and injection.mistake:
            chance = Chance(s, planned, f"{INJECTED_ID}{len(messages)}", self.foreign_order, self.own_open_orders)
            mistake, _ = MISTAKES[injection.mistake]
            if (made := mistake(chance)) is not None:
                injection.turn = sum(isinstance(m, HumanMessage) for m in messages)
                injection.detail = made.detail
                if made.message.tool_calls:
                    injection.follow_ups[chance.call_id] = made.after
                return made.message
        return step_message(planned, len(messages))

    @staticmethod
    def _follow_up(messages: list[BaseMessage], injection: Injection) -> AIMessage | None:
        """The reply after the double's own injected call: what a model that meant to do it would say."""
        last_ai = next((m for m in reversed(messages) if isinstance(m, AIMessage)), None)
        if last_ai is None or not last_ai.tool_calls or messages[-1] is last_ai:
            return None
        call_id = last_ai.tool_calls[0]["id"] or ""
        return AIMessage(content=injection.follow_ups[call_id]) if call_id in injection.follow_ups else None


def mistaken_agent(mistake: str, ledger: dict[tuple[str, int, int], Injection]) -> Callable[..., AgentUnderTest]:
    """An agent factory for the runner: each conversation is played by a `MisbehavingChatModel` making `mistake`
    ("" for none), in a style chosen by its seed; its ground truth goes into `ledger` under (policy, customer, seed)."""

    def start(begin: ConversationStart) -> AgentUnderTest:
        injection = Injection(mistake, random.Random(f"{begin.policy.name}/{begin.seed}").choice(STYLES))
        ledger[(begin.policy.name, begin.customer_id, begin.seed)] = injection
        orders = begin.fixtures.orders.items()
        foreign = next((o for o, rec in orders if rec.customer_id != begin.customer_id), "")
        mine = begin.fixtures.orders_of(begin.customer_id)
        own = tuple(o.increment_id for o in mine if o.status in CANCELLABLE_STATUSES)
        model = MisbehavingChatModel(injection=injection, foreign_order=foreign, own_open_orders=own)
        followed = model.for_policy(begin.policy.offer_plan, begin.policy.max_discount_percent)
        return langchain_agent(replace(begin, model=followed, graph=None))

    return start
