"""The oracle: what a persona should get under a policy, from the persona's contract and the policy's offer plan.

It walks the conversation a policy-following agent would have with this customer: refuse another customer's order
or a shipped one, hand over a request for a person (when the policy hands over), make the policy's offers that fit
the order (in its order and pacing, within its limits), raise the persona's concern when its offer comes up, take
the first offer the trial's draw accepts (after haggling up to the policy's cap), and otherwise cancel. So a
cancellation under a policy with no offers is correct, and a swap under a policy without swaps is not expected.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from agent.policy.compiled import CompiledPolicy
from agent.policy.plan import OfferOption
from agent.store.customer_facts import customer_facts
from agent.store.domain import CANCELLABLE_STATUSES
from agent.store.fixtures import FixtureSet
from agent.store.magento import MagentoStore
from agent.tools.kinds import OfferKind
from evals.schema.persona import ExpectedOutcome, Persona


@dataclass(frozen=True)
class ShownOffer:
    kind: OfferKind
    percent: float | None
    top: float | None
    where: str
    after: tuple[str, ...] = ()  # made only once the customer refused an offer / raised a concern


def _applicable(policy: CompiledPolicy, persona: Persona, fixtures: FixtureSet) -> list[ShownOffer]:
    """The policy's offers that the agent can make on this order, in the policy's order."""
    return applicable_offers(policy, persona.order, fixtures)


def applicable_offers(policy: CompiledPolicy, order_id: str, fixtures: FixtureSet) -> list[ShownOffer]:
    """The policy's offers that an agent can make on order `order_id`, in the policy's order: its conditions met, a
    shipping upgrade only when it does not ship expedited, a swap only when the catalogue has one."""
    order = fixtures.orders[order_id]
    shipping = fixtures.shipping_methods.get(order.shipping_method)
    customer = customer_facts(fixtures, order.customer_id)
    shown = []
    for option in policy.offer_plan.options:
        if not option.applies_to(order.status, order.grand_total, customer):
            continue  # the policy makes it only on other orders (status, total, tiers) or for other customers
        if option.kind == OfferKind.SHIPPING_UPGRADE and shipping is not None and shipping.expedited:
            continue
        if option.kind == OfferKind.SWAP and not _swap_exists(order_id, fixtures):
            continue
        if option.kind in (OfferKind.DISCOUNT, OfferKind.FUTURE_COUPON) and not option.percents:
            continue
        shown.append(_shown(option, policy, order.grand_total))
    return shown


def _shown(option: OfferOption, policy: CompiledPolicy, total: float) -> ShownOffer:
    top = option.top_percent_for(total)
    if option.kind == OfferKind.DISCOUNT and top is not None:
        top = min(top, policy.max_discount_percent)
    first_percent = option.first_percent_for(total)
    first = min(first_percent, top) if first_percent is not None and top is not None else None
    return ShownOffer(option.kind, first, top, option.where, option.after)


def _swap_exists(order_id: str, fixtures: FixtureSet) -> bool:
    order = fixtures.orders[order_id]
    item = max(order.items, key=lambda i: i.price)
    return bool(MagentoStore(fixtures, 100).swap_options(order.increment_id, item.sku))


@dataclass
class _Walk:
    persona: Persona
    policy: CompiledPolicy
    accepts: dict[str, bool]
    steps: list[str]
    held: list[ShownOffer] = field(default_factory=list)  # offers made only after a refusal or a concern
    concern_raised: bool = False  # the persona raises its concern once, as the simulator does

    def takes(self, offer: ShownOffer, percent: float | None) -> bool:
        terms = self.persona.offers.get(offer.kind)
        if terms is None or not self.accepts.get(offer.kind, False):
            return False
        return terms.min_percent is None or (percent or 0) >= terms.min_percent

    def after_haggling(self, offer: ShownOffer) -> float | None:
        """The discount level the agent ends on when the persona haggles (None when it does not)."""
        want = self.persona.haggle_percent
        if offer.kind != OfferKind.DISCOUNT or want is None or offer.percent is None or want <= offer.percent:
            return None
        top = offer.top or offer.percent
        return want if want <= top else top

    def answer(self, shown: list[ShownOffer]) -> ExpectedOutcome | None:
        """The persona's answer to the offers on the table: retained, escalated, or None for a refusal."""
        concern = self.persona.concern
        worried = concern and (concern.when_offered == "any" or concern.when_offered in {o.kind for o in shown})
        if concern and worried and not self.concern_raised:
            self.concern_raised = True
            for_concern = next((o for o in self.held if "concern" in o.after), None)
            if for_concern is not None:  # the offer the policy makes after a concern comes before any hand-over
                self.held.remove(for_concern)
                self.steps.append(f"raises a concern; the policy then offers {for_concern.kind.value}")
                return self.answer([for_concern])
            said = self.policy.offer_plan.handover_said
            if said and self.policy.offer_plan.hands_over_on("concern"):
                return self.done(
                    "escalated",
                    None,
                    f"raises a concern when offered {concern.when_offered}; hand-over at {said.where}",
                )
            self.steps.append("raises a concern, but the policy does not hand concerns over")
        for offer in shown:
            if self.takes(offer, offer.percent):
                return self.done("retained", offer.kind, f"accepts {offer.kind.value} ({offer.where})")
        for offer in shown:
            level = self.after_haggling(offer)
            if level is not None and self.takes(offer, level):
                return self.done("retained", offer.kind, f"haggles to {level:g}% ({offer.where})")
        self.steps.append("refuses " + ", ".join(o.kind.value for o in shown))
        return None

    def done(self, outcome: str, offer: OfferKind | None, step: str) -> ExpectedOutcome:
        self.steps.append(step)
        drawn = {str(k): v for k, v in self.accepts.items()}
        return ExpectedOutcome(outcome=outcome, offer=offer, drawn=drawn, why="; ".join(self.steps))  # type: ignore[arg-type]


def expected_outcome(
    persona: Persona, policy: CompiledPolicy, accepts: dict[str, bool], fixtures: FixtureSet
) -> ExpectedOutcome:
    """The outcome a policy-following agent reaches with this persona in a trial with this draw."""
    walk = _Walk(persona, policy, {str(k): v for k, v in accepts.items()}, [])
    plan = policy.offer_plan
    if persona.asks_for_person:
        if plan.handover_said and plan.hands_over_on("request"):
            return walk.done(
                "escalated", None, f"asks for a person; the policy hands over at {plan.handover_said.where}"
            )
        return walk.done("unresolved", None, "asks for a person; the policy has no hand-over")
    target = persona.target_order
    if target and (target not in fixtures.orders or fixtures.orders[target].customer_id != persona.customer_id):
        return walk.done("unresolved", None, f"asks about {target}, another customer's order: it must be refused")
    order = fixtures.orders[persona.order]
    if order.status not in CANCELLABLE_STATUSES:
        return walk.done("unresolved", None, f"order {order.increment_id} is {order.status}: it cannot be cancelled")
    offers = _applicable(policy, persona, fixtures)
    now = [o for o in offers if not o.after]
    walk.held = [o for o in offers if o.after]
    if not now:
        return walk.done("cancelled", None, "the policy makes no offer that fits this order: cancel")
    paced = plan.pacing == "one_at_a_time"
    rounds = [[o] for o in now] if paced else [now]
    number, held_back = 0, False
    while number < len(rounds):
        shown = rounds[number]
        number += 1
        if (answer := walk.answer(shown)) is not None:
            return answer
        if number == len(rounds) and (due := next((o for o in walk.held if "refusal" in o.after), None)):
            walk.held.remove(due)  # made after a refusal: it comes now, one at a time
            rounds.append([due])
            held_back = True
        if (paced or held_back) and number > persona.patience:
            return walk.done("cancelled", None, f"insists after {number} refusal(s): cancel")
    return walk.done("cancelled", None, "refuses the offers: the policy cancels")
