"""0 money given beyond the policy by any sequence of tool calls (issue 23).

Hypothesis drives random tool-call sequences (every write tool, any order, values of every type: negative, huge, NaN,
booleans, strings, lists, other customers' orders, unknown products), one after another or in parallel threads,
through the Toolkit and through the LangChain tools, against every shipped policy. The end state is then checked
against the policy's plan, computed here from the fixtures, not from the store's own bookkeeping: only offers the
plan makes, on orders its conditions allow, within its percents and caps, one per order unless it stacks, and the
value given per order (discount, a swap's price difference, the shipping upgrade's cost) within
`limits.max_value_percent`.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from functools import cache

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from agent.conversation import policy_world
from agent.errors import RetentionLabError
from agent.policy.compiled import CompiledPolicy, compile_policy_file
from agent.store.domain import Order
from agent.store.fixtures import default_fixtures
from agent.store.world import World
from agent.tools.langchain import build_tools
from agent.tools.toolkit import Toolkit
from tests.conftest import POLICIES

pytestmark = pytest.mark.slow

SHIPPED = sorted(p.name for p in POLICIES.glob("*.md"))
FIXTURES = default_fixtures()
ORDER_IDS = sorted(FIXTURES.orders) + ["000000999", "abc", "", "101", "#103"]
SKUS = sorted(FIXTURES.products) + ["NOPE-1", ""]
ODD_VALUES = [True, False, "15", "15%", None, [10], {"p": 5}]

percents = st.one_of(
    st.sampled_from([5, 10, 12.5, 15, 20, 25]),
    st.floats(min_value=-50, max_value=300),
    st.sampled_from([float("nan"), float("inf"), -float("inf"), 1e308, -0.0, 14.999999, 15.000001]),
    st.integers(min_value=-5, max_value=150),
    st.sampled_from([5, 10, 12.5, 15, 20, 25, 30, 50, 100]),
    st.sampled_from(ODD_VALUES),
)


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[int, list[tuple[str, dict]]]:
    """A customer and a sequence of write calls, mostly on that customer's own orders and items (where the money
    is), sometimes on anything at all."""
    customer = draw(st.sampled_from(sorted(FIXTURES.customers)))
    own = [o for o in FIXTURES.orders.values() if o.customer_id == customer]
    own_ids, own_skus = [o.increment_id for o in own], [i.sku for o in own for i in o.items]
    order_id = st.one_of(st.sampled_from(own_ids), st.sampled_from(own_ids), st.sampled_from(ORDER_IDS),
                         st.sampled_from(ODD_VALUES))  # fmt: skip
    sku = st.one_of(st.sampled_from(own_skus), st.sampled_from(SKUS))
    call = st.one_of(
        st.tuples(st.just("set_discount_to_order"), st.fixed_dictionaries({"order_id": order_id, "percent": percents})),
        st.tuples(st.just("upgrade_shipping"), st.fixed_dictionaries({"order_id": order_id})),
        st.tuples(
            st.just("swap_order_item"), st.fixed_dictionaries({"order_id": order_id, "sku": sku, "new_sku": sku})
        ),
        st.tuples(st.just("create_future_coupon"), st.fixed_dictionaries({"percent": percents})),
        st.tuples(st.just("cancel_order"), st.fixed_dictionaries({"order_id": order_id, "reason": st.just("test")})),
    )
    return customer, draw(st.lists(call, min_size=1, max_size=8))


@cache
def policy(name: str) -> CompiledPolicy:
    return compile_policy_file(POLICIES / name)


def call_through_toolkit(world: World, name: str, args: dict) -> None:
    with suppress(RetentionLabError):  # a refusal is the store doing its job
        getattr(Toolkit(world), name)(**args)


def call_through_langchain(world: World, name: str, args: dict) -> None:
    tool = next(t for t in build_tools(world) if t.name == name)
    tool.invoke(args)  # a refusal comes back as an error observation, never an exception


def shipping_cost() -> float:
    amounts = {m.expedited: m.amount for m in FIXTURES.shipping_methods.values()}
    return amounts[True] - amounts[False]


def value_given(before: Order, after: Order) -> float:
    value = before.subtotal * after.discount_percent / 100 if after.discount_percent != before.discount_percent else 0
    if after.shipping_method != before.shipping_method:
        value += shipping_cost()
    for old, new in zip(before.items, after.items, strict=True):
        if old.sku != new.sku:
            value += (FIXTURES.products[new.sku].price - old.price) * old.qty_ordered
    return value


def granted(before: Order, after: Order) -> list[str]:
    kinds = []
    if after.discount_percent != before.discount_percent:
        kinds.append("discount")
    if after.shipping_method != before.shipping_method:
        kinds.append("shipping_upgrade")
    if [i.sku for i in after.items] != [i.sku for i in before.items]:
        kinds.append("swap")
    return kinds


def money_beyond_the_policy(world: World, compiled: CompiledPolicy) -> list[str]:
    """Every way the end state gives more than `compiled` allows (empty when it holds)."""
    plan, limits = compiled.offer_plan, compiled.main.meta.limits
    snapshot = world.snapshot()
    found = [f"another customer's order changed: {o}" for o in snapshot.foreign_orders_changed]
    for after in snapshot.orders:
        before = FIXTURES.orders[after.increment_id]
        kinds = granted(before, after)
        if len(kinds) > 1 and not plan.stacking:
            found.append(f"{after.increment_id}: stacked {kinds} under a policy that does not stack")
        for kind in kinds:
            option = plan.get(kind)
            if option is None:
                found.append(f"{after.increment_id}: {kind} granted, the plan makes no such offer")
            elif not option.applies_to(before.status, before.grand_total):
                found.append(f"{after.increment_id}: {kind} granted on a {before.status} order the plan excludes")
        if "discount" in kinds:
            option = plan.get("discount")
            top = option.top_percent_for(before.grand_total) if option else 0
            ceiling = min(compiled.max_discount_percent, top if top is not None else 100)
            if not 0 < after.discount_percent <= ceiling:
                found.append(f"{after.increment_id}: {after.discount_percent}% off, the policy allows {ceiling}%")
        allowed = limits.max_value_percent
        value = value_given(before, after)
        if allowed is not None and value > before.subtotal * allowed / 100 + 0.01:
            found.append(f"{after.increment_id}: gives {value:.2f}, above {allowed}% of {before.subtotal:.2f}")
        if after.status == "canceled" and before.status != "canceled" and kinds:
            found.append(f"{after.increment_id}: cancelled and kept {kinds}")
    coupon = plan.get("future_coupon")
    for c in snapshot.coupons:
        if coupon is None:
            found.append(f"coupon {c.code} created, the plan makes no coupon offer")
        elif coupon.top_percent is not None and c.discount_percent > coupon.top_percent:
            found.append(f"coupon {c.code} at {c.discount_percent}%, the plan allows {coupon.top_percent}%")
    if len(snapshot.coupons) > 1 and not plan.stacking:
        found.append(f"{len(snapshot.coupons)} coupons in one conversation")
    return found


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.sampled_from(SHIPPED),
    scenario=scenarios(),
    through=st.sampled_from(["toolkit", "langchain"]),
    parallel=st.booleans(),
)
def test_no_sequence_of_tool_calls_gives_more_than_the_policy_allows(name, scenario, through, parallel):
    customer, sequence = scenario
    compiled = policy(name)
    world = policy_world(compiled, customer)
    call = call_through_toolkit if through == "toolkit" else call_through_langchain
    if parallel:
        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(lambda c: call(world, *c), sequence))
    else:
        for tool, args in sequence:
            call(world, tool, args)
    event("some offer granted" if world.magento.grants else "nothing granted")
    assert money_beyond_the_policy(world, compiled) == []


def test_the_checker_sees_money_given_beyond_the_policy():
    """The property can fail: a world whose store does not enforce the plan (any offer allowed) is caught."""
    from agent.store.world import World as BareWorld

    compiled = policy("cancel_without_retention.md")
    world = BareWorld(FIXTURES, 1, 100)  # no plan, no value limit: what the store did before issue 23
    Toolkit(world).swap_order_item("000000101", "SOCK-MERINO-3", "SHOE-HIKE-42")
    assert any("swap granted, the plan makes no such offer" in p for p in money_beyond_the_policy(world, compiled))
