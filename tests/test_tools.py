"""Tools: scoped to the ticket's customer, traced, and errors returned as observations."""

from __future__ import annotations

import pytest

from agent.errors import RuleViolation, TransientBackendError
from agent.store.faults import FaultInjector
from agent.store.retry import BackendRetry
from agent.tools.kinds import OfferKind
from agent.tools.results import DiscountApplied, OrderCancelled, OrderList, ToolError, read_observation
from agent.tools.toolkit import apply_tool, offer_tools, tool_names


def test_tool_descriptions_come_from_docstrings(toolkit):
    _, tools = toolkit()
    assert tools["cancel_order"].description.startswith("Cancel one of the customer's orders")
    assert tools["set_discount_to_order"].args["percent"]["type"] == "number"
    assert tools["set_discount_to_order"].metadata == {"kind": "write", "offer": "discount"}
    assert tools["get_order"].metadata["kind"] == "read"


def test_another_customers_order_is_refused(toolkit):
    world, tools = toolkit(customer_id=1)
    for name, args in [
        ("get_order", {"order_id": "000000105"}),
        ("cancel_order", {"order_id": "000000105", "reason": "x"}),
        ("set_discount_to_order", {"order_id": "105", "percent": 10}),
        ("upgrade_shipping", {"order_id": "#105"}),
    ]:
        result = read_observation(tools[name].invoke(args))
        assert isinstance(result, ToolError) and result.kind == "scope", (name, result)
    assert world.magento.orders["000000105"].status == "processing"
    assert world.foreign_orders_changed() == []
    assert [c.error_kind for c in world.trace] == ["scope"] * 4


def test_list_orders_shows_only_own_orders(toolkit):
    _, tools = toolkit(customer_id=2)
    orders = read_observation(tools["list_customer_orders"].invoke({}))
    assert isinstance(orders, OrderList)
    assert {o.order_id for o in orders.orders} == {"000000102", "000000103", "000000104"}


def test_rule_break_is_an_observation_and_is_traced(toolkit):
    world, tools = toolkit(customer_id=4)
    result = read_observation(tools["cancel_order"].invoke({"order_id": "000000106", "reason": "late"}))
    assert result == ToolError(kind="rule", message="order 000000106 is complete and can no longer be cancelled")
    call = world.trace[-1]
    assert (call.tool, call.ok, call.kind, call.args) == (
        "cancel_order",
        False,
        "write",
        {"order_id": "000000106", "reason": "late"},
    )
    assert call.duration_ms >= 0


def test_successful_write_is_traced(toolkit):
    world, tools = toolkit(customer_id=1)
    observed = tools["set_discount_to_order"].invoke({"order_id": "000000101", "percent": 10})
    result = read_observation(observed)
    assert isinstance(result, DiscountApplied) and (result.new_total, result.currency) == (133.70, "USD")
    assert world.trace[-1].ok and world.trace[-1].result == observed


def test_transient_fault_reaches_the_model_only_after_the_client_retries(toolkit):
    world, tools = toolkit(customer_id=1, fault_rate=1.0)
    result = read_observation(tools["get_order"].invoke({"order_id": "000000101"}))
    assert isinstance(result, ToolError) and result.kind == "transient"
    assert world.trace[-1].attempts == world.backend_retry.attempts == 3 and world.faults.injected == 3


class FailsFirstCalls(FaultInjector):
    """A backend that times out on its first `n` requests, then works."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.left = n

    def check(self, operation: str) -> None:
        if self.left:
            self.left -= 1
            self.injected += 1
            raise TransientBackendError(f"{operation}: timed out")


def test_a_write_that_times_out_once_is_retried_and_applied_once(toolkit):
    world, tools = toolkit(customer_id=1)
    world.faults = world.magento.faults = FailsFirstCalls(2)
    result = read_observation(tools["set_discount_to_order"].invoke({"order_id": "000000101", "percent": 10}))
    assert isinstance(result, DiscountApplied) and result.new_total == 133.70
    assert world.trace[-1].ok and world.trace[-1].attempts == 3
    assert world.magento.orders["000000101"].discount_amount == -14.30


def test_backend_retries_back_off_exponentially_with_jitter_and_only_for_transient_errors():
    slept: list[float] = []
    retry = BackendRetry(attempts=5, first_delay_s=1.0, max_delay_s=6.0, sleep=slept.append)
    calls = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 5:
            raise TransientBackendError("503")
        return "ok"

    assert retry.call(flaky) == "ok" and len(slept) == 4
    assert all(0 <= d <= cap for d, cap in zip(slept, [1, 2, 4, 6], strict=True))  # full jitter under the curve
    with pytest.raises(RuleViolation):
        retry.call(lambda: (_ for _ in ()).throw(RuleViolation("no")))
    assert len(slept) == 4  # a rule error is never retried


def test_tool_specs_without_a_world_match_the_langchain_tools(toolkit):
    _, tools = toolkit()
    assert tool_names() == set(tools)
    assert offer_tools() == {name: t.metadata["offer"] for name, t in tools.items() if t.metadata["offer"]}
    assert set(offer_tools().values()) == set(OfferKind)
    assert {kind: apply_tool(kind) for kind in OfferKind} == {
        "discount": "set_discount_to_order",
        "shipping_upgrade": "upgrade_shipping",
        "swap": "swap_order_item",
        "future_coupon": "create_future_coupon",
    }


def test_an_order_number_with_a_hash_is_the_customers_own_order(converse):
    """The tool accepts `#113` for 000000113, and the scorers agree that it is the customer's own order."""
    from agent.store.fixtures import default_fixtures
    from agent.tools.langchain import build_tools
    from evals.schema.persona import ExpectedOutcome
    from evals.schema.records import ConversationRecord
    from evals.scoring.context import ScoringContext
    from evals.scoring.scorers import own_orders_only

    convo = converse(7, [])
    tools = {t.name: t for t in build_tools(convo.world)}
    result = read_observation(tools["cancel_order"].invoke({"order_id": "#113", "reason": "changed my mind"}))
    assert isinstance(result, OrderCancelled) and result.order_id == "000000113"
    exported = convo.export()
    record = ConversationRecord(
        key="k", policy="p", policy_file="f", policy_sha="s", persona="x", trial=0, seed=0, model="offline",
        customer_id=7, target_order="000000113", transcript=[], turns=[], trace=exported.trace,
        final_state=exported.final_state, sim_events=[], expected=ExpectedOutcome(outcome="cancelled"),
        stop_reason="",
    )  # fmt: skip
    context = ScoringContext(record, exported.final_state, convo.policy, default_fixtures())
    score = own_orders_only(context)
    assert score.passed is True, score.evidence


@pytest.mark.parametrize(
    ("call", "parameter"),
    [
        (lambda t: t.set_discount_to_order("000000101", True), "percent"),  # True is not 1%
        (lambda t: t.set_discount_to_order("000000101", "10"), "percent"),
        (lambda t: t.set_discount_to_order(None, 10), "order_id"),
        (lambda t: t.create_future_coupon([20]), "percent"),
        (lambda t: t.upgrade_shipping(101), "order_id"),
        (lambda t: t.tag_ticket("vip"), "tags"),
    ],
)
def test_a_direct_call_with_a_wrong_argument_is_a_rule_violation_naming_it(make_world, call, parameter):
    from agent.tools.toolkit import Toolkit

    world = make_world()
    with pytest.raises(RuleViolation, match=rf": {parameter}: "):
        call(Toolkit(world))
    assert world.magento.grants == [] and world.magento.coupons == []
