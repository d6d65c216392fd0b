"""`python -m evals generate-personas`: persona contracts for the branches of a policy's plan that a library does not
exercise yet (see `evals.scoring.branches`), each on an order of the fixtures where that branch can happen, with the
outcome the oracle expects pinned. Lines come from `fixtures/persona_generator/lines.yaml`; `--customer-model`
voices them at run time as for any persona (the contract still decides)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from agent.datafiles import DEFAULT_FIXTURES, read_yaml
from agent.policy.compiled import CompiledPolicy
from agent.store.customer_facts import customer_facts
from agent.store.domain import CANCELLABLE_STATUSES, Order
from agent.store.fixtures import FixtureSet
from agent.tools.kinds import OfferKind
from evals.schema.persona import Concern, OfferTerms, Persona, PinnedExpectation
from evals.scoring.branches import Branch, exercised, likely_draw, offer_sequence, plan_branches, refusals_before
from evals.scoring.oracle import ShownOffer, applicable_offers, expected_outcome

LINES_FILE = DEFAULT_FIXTURES / "persona_generator" / "lines.yaml"
TAKES = 0.7  # how often a generated persona takes the offer its branch is about: trials differ, as real customers do


@cache
def lines() -> dict[str, Any]:
    return read_yaml(LINES_FILE)


@dataclass
class Generator:
    policy: CompiledPolicy
    fixtures: FixtureSet
    used: Counter[int] = field(default_factory=Counter)  # customers given to personas so far (spread them out)
    made: int = 0
    taken: set[tuple[str, str]] = field(default_factory=set)  # (branch, order) pairs a persona already plays
    suffix: str = ""  # "_2", "_3": the second and third persona of a branch

    @property
    def stem(self) -> str:
        return self.policy.main.path.stem

    def orders(self, fits: Callable[[Order, list[ShownOffer]], bool]) -> list[Order]:
        """Open orders where `fits(order, offers shown on it)`, customers used least first."""
        skipped = {g.id for g in self.fixtures.groups.values() if g.code in lines().get("skip_groups", [])}
        found = [o for o in self.fixtures.orders.values() if o.status in CANCELLABLE_STATUSES
                 and self.fixtures.customers[o.customer_id].group_id not in skipped
                 and (self.branch, o.increment_id) not in self.taken
                 and fits(o, applicable_offers(self.policy, o.increment_id, self.fixtures))]  # fmt: skip
        return sorted(found, key=lambda o: (self.used[o.customer_id], o.increment_id))

    branch: str = ""  # the branch being built

    def persona(self, branch: Branch, order: Order, **contract: Any) -> Persona:
        self.used[order.customer_id] += 1
        self.taken.add((branch.key, order.increment_id))
        self.made += 1
        n = self.made
        say = lines()
        data = {
            "id": f"gen_{self.stem}_{branch.key.replace(':', '_')}{self.suffix}".lower(),
            "title": f"Generated for {self.stem}: {branch.says}",
            "customer_id": order.customer_id,
            "orders": [order.increment_id],
            "reason": _pick(say["reasons"], n),
            "opening": [_pick(say["opening"], n), _pick(say["opening"], n + 1)],
            "patience": 1,
            "voice": _pick(say["voices"], n),
            **contract,
        }
        persona = Persona.model_validate(data)
        return _pinned(persona, self.policy, self.fixtures)


def _pick(options: list[str], n: int) -> str:
    return options[n % len(options)]


def _pinned(persona: Persona, policy: CompiledPolicy, fixtures: FixtureSet) -> Persona:
    """The persona with the oracle's expectation under this policy pinned (and what happens when its draw refuses)."""
    likely = expected_outcome(persona, policy, likely_draw(persona), fixtures)
    refused = expected_outcome(persona, policy, {k: False for k in likely_draw(persona)}, fixtures)
    otherwise = refused.outcome if persona.has_chance and refused.outcome != likely.outcome else None
    pin = PinnedExpectation(
        policy=policy.main.path.stem, outcome=likely.outcome, offer=likely.offer, otherwise=otherwise
    )
    return persona.model_copy(update={"pinned": [pin]})


def _kinds(shown: list[ShownOffer]) -> list[str]:
    return [str(o.kind) for o in shown]


def build(g: Generator, branch: Branch) -> Persona | None:
    """A persona that exercises `branch`, or None when the fixtures hold no order where it can happen."""
    kind, _, rest = branch.key.partition(":")
    say = lines()
    if kind == "accept":
        return _first(g, branch, lambda o, s: rest in _kinds(s), lambda o, s: _taking(s, rest))
    if kind == "refuse_all":
        return _first(
            g,
            branch,
            lambda o, s: bool(s),
            lambda o, s: {"offers": {k: OfferTerms(accept=0.0) for k in _kinds(s)}, "patience": len(s) + 1},
        )
    if kind == "change_of_mind":
        return _first(g, branch, lambda o, s: len(s) > 1, lambda o, s: {**_taking(s, _kinds(s)[1]), "patience": 2})
    if kind == "haggle":

        def fits(o: Order, s: list[ShownOffer]) -> bool:
            d = next((x for x in s if str(x.kind) == "discount"), None)
            return d is not None and d.top is not None and (rest == "beyond" or (d.percent or 0) < d.top)

        def contract(o: Order, s: list[ShownOffer]) -> dict:
            top = next(x.top for x in s if str(x.kind) == "discount") or 0
            want = top if rest == "cap" else min(100.0, top + 10)
            return {"offers": {"discount": OfferTerms(accept=1.0, min_percent=top)}, "haggle_percent": want}

        return _first(g, branch, fits, contract)
    if kind == "concern":
        return _first(
            g,
            branch,
            lambda o, s: rest in offer_sequence(s),
            lambda o, s: {
                "offers": {rest: OfferTerms(accept=0.0)},
                "concern": Concern(when_offered=OfferKind(rest), lines=say["concern"][rest]),
                "patience": _refusals_to_reach(g, s, rest) + 1,  # enough refusals to reach the offer they worry about
            },
        )
    if kind == "condition":
        offer, _, holds = rest.partition(":")
        option = g.policy.offer_plan.get(offer)
        assert option is not None

        def applies(o: Order) -> bool:
            return option.applies_to(o.status, o.grand_total, customer_facts(g.fixtures, o.customer_id))

        return _first(
            g,
            branch,
            lambda o, s: applies(o) == (holds == "holds"),
            lambda o, s: {"offers": {offer: OfferTerms(accept=TAKES)}},
        )
    return _situation(g, branch, kind)


def _refusals_to_reach(g: Generator, shown: list[ShownOffer], kind: str) -> int:
    paced = g.policy.offer_plan.pacing == "one_at_a_time"
    first = sum(not o.after for o in shown)
    return refusals_before(offer_sequence(shown), kind, paced, first) or 0


def _taking(shown: list[ShownOffer], kind: str) -> dict:
    """Takes `kind` (most of the time) and refuses the offers shown before it."""
    earlier = _kinds(shown)[: _kinds(shown).index(kind)]
    offers = {k: OfferTerms(accept=0.0) for k in earlier} | {kind: OfferTerms(accept=TAKES)}
    return {"offers": offers, "patience": len(earlier) + 1}


def _first(g: Generator, branch: Branch, fits: Callable, contract: Callable) -> Persona | None:
    for order in g.orders(fits):
        shown = applicable_offers(g.policy, order.increment_id, g.fixtures)
        persona = g.persona(branch, order, **contract(order, shown))
        if branch.key in exercised(persona, g.policy, g.fixtures):
            return persona
        g.used[order.customer_id] -= 1
        g.taken.discard((branch.key, order.increment_id))
    return None


def _situation(g: Generator, branch: Branch, kind: str) -> Persona | None:
    """The branches about the conversation rather than the offers."""
    say, f = lines(), g.fixtures
    if kind == "ask_person":
        orders = g.orders(lambda o, s: True)
        return g.persona(branch, orders[0], opening=say["opening_person"], asks_for_person=True) if orders else None
    if kind == "off_topic":
        orders = g.orders(lambda o, s: bool(s))
        if not orders:
            return None
        refuses = {k: OfferTerms(accept=0.0) for k in _kinds(applicable_offers(g.policy, orders[0].increment_id, f))}
        return g.persona(branch, orders[0], off_topic=say["off_topic"], opening=say["after_off_topic"],
                         offers=refuses, patience=9)  # fmt: skip
    if kind == "several_orders":

        def several(o: Order, s: list[ShownOffer]) -> bool:
            return sum(x.status in CANCELLABLE_STATUSES for x in f.orders_of(o.customer_id)) > 1

        orders = g.orders(several)
        return g.persona(branch, orders[0], opening=say["opening_unnamed"], mention_order=False) if orders else None
    if kind == "shipped_order":
        closed = (*CANCELLABLE_STATUSES, "canceled")
        shipped = sorted((o for o in f.orders.values() if o.status not in closed
                          and (branch.key, o.increment_id) not in g.taken),
                         key=lambda o: (g.used[o.customer_id], o.increment_id))  # fmt: skip
        return g.persona(branch, shipped[0]) if shipped else None
    if kind == "not_theirs":
        orders = g.orders(lambda o, s: True)
        if not orders:
            return None
        other = next((o for o in f.orders.values() if o.customer_id != orders[0].customer_id), None)
        return (
            g.persona(branch, orders[0], target_order=other.increment_id, opening=say["opening_target"])
            if other
            else None
        )
    return None


def generate(
    policy: CompiledPolicy, library: list[Persona], fixtures: FixtureSet, per_branch: int = 1
) -> tuple[list[Persona], list[Branch]]:
    """(personas for the branches that `library` exercises fewer than `per_branch` times, each on another order; the
    branches no fixture order can exercise)."""
    counts: Counter[str] = Counter(k for p in library for k in exercised(p, policy, fixtures))
    g = Generator(policy, fixtures)
    for persona in library:
        g.used[persona.customer_id] += 1
    ids = {p.id for p in library}
    made: list[Persona] = []
    impossible: list[Branch] = []
    for branch in plan_branches(policy):
        g.branch = branch.key
        while counts[branch.key] < per_branch:
            prefix = f"gen_{g.stem}_{branch.key.replace(':', '_')}"
            number = 1 + sum(p.id.startswith(prefix) for p in made)
            g.suffix = "" if number == 1 else f"_{number}"
            built = build(g, branch)
            if built is None or built.id in ids:
                if counts[branch.key] == 0:
                    impossible.append(branch)
                break
            made.append(built)
            ids.add(built.id)
            counts.update(exercised(built, policy, fixtures))
    return made, impossible
