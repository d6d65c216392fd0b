"""Which branches of a policy's plan a persona library exercises: accepting each offer, refusing them all, haggling
to the cap and beyond it, a concern at each offer, each condition of a conditional offer holding and failing, asking
for a person, several open orders, a shipped order, another customer's order, an off-topic start, and (when offers
come one at a time) a change of mind after a refusal. Read from each persona's contract through the oracle, so it
holds for any persona, generated or written by hand."""

from __future__ import annotations

from dataclasses import dataclass

from agent.policy.compiled import CompiledPolicy
from agent.store.customer_facts import customer_facts
from agent.store.domain import CANCELLABLE_STATUSES
from agent.store.fixtures import FixtureSet
from evals.schema.persona import Persona
from evals.scoring.oracle import ShownOffer, applicable_offers, expected_outcome


@dataclass(frozen=True)
class Branch:
    key: str
    says: str


def plan_branches(policy: CompiledPolicy) -> list[Branch]:
    plan = policy.offer_plan
    branches = [Branch(f"accept:{o.kind.value}", f"accepts {o.kind.value} ({o.where})") for o in plan.options]
    if plan.options:
        branches.append(Branch("refuse_all", "refuses every offer"))
    if plan.pacing == "one_at_a_time" and len(plan.options) > 1:
        branches.append(Branch("change_of_mind", "refuses an offer, then takes a later one"))
    discount = plan.get("discount")
    if discount is not None and discount.percents:
        first, top = discount.first_percent, discount.top_percent
        if discount.tiers or (first is not None and top is not None and top > first):
            branches.append(Branch("haggle:cap", "haggles up to the discount's cap"))
        branches.append(Branch("haggle:beyond", "haggles for more than the cap allows"))
    branches += [Branch(f"concern:{o.kind.value}", f"voices a worry about {o.kind.value}") for o in plan.options]
    for option in plan.options:
        if option.conditional or option.asks_about_customer:
            said = option.describe_conditions()
            branches.append(Branch(f"condition:{option.kind.value}:holds", f"an order {said}"))
            branches.append(Branch(f"condition:{option.kind.value}:fails", f"an order not {said}"))
    branches += [
        Branch("ask_person", "asks for a person"),
        Branch("several_orders", "has several open orders and must say which"),
        Branch("shipped_order", "asks to cancel an order that cannot be (shipped or on hold)"),
        Branch("not_theirs", "asks about another customer's order"),
        Branch("off_topic", "starts off topic"),
    ]
    return branches


def likely_draw(persona: Persona) -> dict[str, bool]:
    """The draw a persona makes most often: an offer it accepts at least half the time is accepted."""
    return {str(kind): terms.accept >= 0.5 for kind, terms in persona.offers.items()}


def exercised(persona: Persona, policy: CompiledPolicy, fixtures: FixtureSet) -> set[str]:
    """The branch keys of `plan_branches(policy)` this persona exercises."""
    keys: set[str] = set()
    order = fixtures.orders.get(persona.order)
    target = fixtures.orders.get(persona.target_order) if persona.target_order else None
    open_orders = [o for o in fixtures.orders_of(persona.customer_id) if o.status in CANCELLABLE_STATUSES]
    if persona.asks_for_person:
        keys.add("ask_person")
    if persona.off_topic:
        keys.add("off_topic")
    if persona.target_order and (target is None or target.customer_id != persona.customer_id):
        return keys | {"not_theirs"}
    if order is not None and order.status not in CANCELLABLE_STATUSES:
        keys.add("shipped_order")
    if not persona.mention_order and len(open_orders) > 1:
        keys.add("several_orders")
    if order is None or persona.asks_for_person or "shipped_order" in keys:
        return keys  # the offers are never reached
    shown = applicable_offers(policy, persona.order, fixtures)
    kinds = [str(o.kind) for o in shown]
    expected = expected_outcome(persona, policy, likely_draw(persona), fixtures)
    if expected.outcome == "retained" and expected.offer is not None:
        keys.add(f"accept:{expected.offer}")
        if policy.offer_plan.pacing == "one_at_a_time" and kinds.index(str(expected.offer)) > 0:
            keys.add("change_of_mind")
    made_first = [o for o in shown if not o.after]  # offers held back until a refusal or a worry come later, if ever
    if expected.outcome == "cancelled" and made_first:
        keys.add("refuse_all")
    discount = next((o for o in shown if str(o.kind) == "discount"), None)
    if persona.haggle_percent is not None and discount is not None and discount.top is not None:
        if persona.haggle_percent == discount.top:
            keys.add("haggle:cap")
        elif persona.haggle_percent > discount.top:
            keys.add("haggle:beyond")
    in_turn = offer_sequence(shown)
    if persona.concern and in_turn:
        worried = in_turn[0] if persona.concern.when_offered == "any" else str(persona.concern.when_offered)
        rounds = refusals_before(in_turn, worried, policy.offer_plan.pacing == "one_at_a_time", len(made_first))
        if rounds is not None and rounds <= persona.patience:  # it sees the offer it worries about before insisting
            keys.add(f"concern:{worried}")
    facts = customer_facts(fixtures, order.customer_id)
    for option in policy.offer_plan.options:
        if option.conditional or option.asks_about_customer:
            holds = option.applies_to(order.status, order.grand_total, facts)
            keys.add(f"condition:{option.kind.value}:{'holds' if holds else 'fails'}")
    return keys


def offer_sequence(shown: list[ShownOffer]) -> list[str]:
    """The offer kinds in the order a customer meets them: those made first, then those held back until a refusal
    (an offer held back until a worry never comes first)."""
    first = [str(o.kind) for o in shown if not o.after]
    return first + [str(o.kind) for o in shown if o.after and "refusal" in o.after]


def refusals_before(sequence: list[str], kind: str, paced: bool, made_first: int) -> int | None:
    """How many refusals a customer makes before meeting `kind` (None: never met)."""
    if kind not in sequence:
        return None
    index = sequence.index(kind)
    if paced:
        return index
    return 0 if index < made_first else 1 + index - made_first


def coverage_table(
    personas: list[Persona], policy: CompiledPolicy, fixtures: FixtureSet
) -> list[tuple[Branch, list[str]]]:
    """Each branch of the plan with the personas that exercise it (an empty list: uncovered)."""
    found = {p.id: exercised(p, policy, fixtures) for p in personas}
    return [(b, sorted(pid for pid, keys in found.items() if b.key in keys)) for b in plan_branches(policy)]
