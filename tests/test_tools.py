"""Tools: scoped to the ticket's customer, traced, and errors returned as observations."""

from __future__ import annotations

import json


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
        result = tools[name].invoke(args)
        assert result.startswith("ERROR (scope)"), (name, result)
    assert world.magento.orders["000000105"].status == "processing"
    assert world.foreign_orders_changed() == []
    assert [c.error_kind for c in world.trace] == ["scope"] * 4


def test_list_orders_shows_only_own_orders(toolkit):
    _, tools = toolkit(customer_id=2)
    orders = json.loads(tools["list_customer_orders"].invoke({}))
    assert {o["order_id"] for o in orders} == {"000000102", "000000103", "000000104"}


def test_rule_break_is_an_observation_and_is_traced(toolkit):
    world, tools = toolkit(customer_id=4)
    result = tools["cancel_order"].invoke({"order_id": "000000106", "reason": "late"})
    assert result == "ERROR (rule): order 000000106 is complete and can no longer be cancelled"
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
    result = tools["set_discount_to_order"].invoke({"order_id": "000000101", "percent": 10})
    assert "new total 133.70 USD" in result
    assert world.trace[-1].ok and world.trace[-1].result == result


def test_transient_fault_reaches_the_model_as_retryable(toolkit):
    world, tools = toolkit(customer_id=1, fault_rate=1.0)
    assert tools["get_order"].invoke({"order_id": "000000101"}).startswith("ERROR (transient)")


def test_toolspec_names_and_offers_match_the_langchain_tools(toolkit):
    from agent.toolspec import known_tool_names, offer_tool_kinds

    _, tools = toolkit()
    assert known_tool_names() == set(tools)
    assert offer_tool_kinds() == {name: t.metadata["offer"] for name, t in tools.items() if t.metadata["offer"]}
    assert set(offer_tool_kinds().values()) == {"discount", "shipping_upgrade", "swap", "future_coupon"}
