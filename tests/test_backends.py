"""The store and helpdesk rules, each with the refusal it must give."""

from __future__ import annotations

import pytest

from agent.errors import NotFound, RuleViolation, TransientBackendError
from agent.store.faults import FaultInjector


def test_cancel_only_unshipped_orders(make_world):
    world = make_world(customer_id=2)
    assert world.magento.cancel_order("000000102", "changed mind").status == "canceled"
    with pytest.raises(RuleViolation, match="complete and can no longer be cancelled"):
        world.magento.cancel_order("000000104", "changed mind")
    assert world.magento.orders["000000104"].status == "complete"


@pytest.mark.parametrize("order_id,status", [("000000107", "canceled"), ("000000109", "holded")])
def test_cancel_refuses_canceled_and_held_orders(make_world, order_id, status):
    world = make_world()
    with pytest.raises(RuleViolation, match=status):
        world.magento.cancel_order(order_id, "x")


def test_discount_respects_cap_and_applies_once(make_world):
    world = make_world(cap=15)
    with pytest.raises(RuleViolation, match="above the policy's cap of 15%"):
        world.magento.set_discount("000000101", 20)
    order = world.magento.set_discount("000000101", 10)
    assert order.discount_amount == -14.3 and order.grand_total == round(143 + 5 - 14.3, 2)
    with pytest.raises(RuleViolation, match="allows one retention offer"):
        world.magento.set_discount("000000101", 15)


def test_discount_refused_on_shipped_order(make_world):
    world = make_world(customer_id=2)
    with pytest.raises(RuleViolation, match="can no longer be discounted"):
        world.magento.set_discount("000000104", 10)


def test_shipping_upgrade_rules(make_world):
    world = make_world(customer_id=5)
    with pytest.raises(RuleViolation, match="already ships expedited"):
        world.magento.upgrade_shipping("000000108")
    with pytest.raises(RuleViolation, match="holded"):
        world.magento.upgrade_shipping("000000109")
    other = make_world(customer_id=1)
    order = other.magento.upgrade_shipping("000000101")
    assert order.shipping_method == "expedited_expedited" and order.shipping_amount == 5.0


def test_swap_only_to_in_stock_same_or_higher_price(make_world):
    world = make_world(customer_id=1)
    options = {p.sku for p in world.magento.swap_options("000000101", "SHOE-TRAIL-42")}
    assert "SHOE-TRAIL-PRO-42" in options
    assert "SHOE-ROAD-42" not in options  # same price but out of stock
    assert "SOCK-MERINO-3" not in options  # cheaper
    with pytest.raises(RuleViolation, match="not a valid swap"):
        world.magento.swap_item("000000101", "SHOE-TRAIL-42", "SHOE-ROAD-42")
    before_total = world.magento.orders["000000101"].grand_total
    stock = world.magento.products["SHOE-TRAIL-PRO-42"].extension_attributes.stock_item.qty
    order = world.magento.swap_item("000000101", "SHOE-TRAIL-42", "SHOE-TRAIL-PRO-42")
    assert order.items[0].sku == "SHOE-TRAIL-PRO-42" and order.grand_total == before_total
    assert world.magento.products["SHOE-TRAIL-PRO-42"].extension_attributes.stock_item.qty == stock - 1


def test_coupon_is_tied_to_the_customer(make_world):
    world = make_world(customer_id=3)
    coupon = world.magento.create_coupon(3, 20)
    assert coupon.customer_id == 3 and "0003" in coupon.code
    assert world.magento.create_coupon(3, 20) == coupon
    assert len(world.magento.coupons) == 1


def test_every_update_and_cancellation_records_an_email(make_world):
    world = make_world(customer_id=6)
    world.magento.set_discount("000000110", 10)
    world.magento.upgrade_shipping("000000111")
    world.magento.cancel_order("000000112", "too slow")
    kinds = [(e.increment_id, e.kind) for e in world.magento.emails]
    assert kinds == [("000000110", "order_update"), ("000000111", "order_update"), ("000000112", "order_canceled")]
    assert all(e.to == "diego.alvarez@example.com" for e in world.magento.emails)


def test_repeated_write_applies_once(make_world):
    world = make_world(customer_id=6)
    for _ in range(3):
        world.magento.set_discount("000000110", 10)
        world.magento.cancel_order("000000112", "x")
        world.gorgias.send_async_message("updated")
    assert world.magento.orders["000000110"].discount_amount == -12.9
    assert len(world.magento.emails) == 2
    assert sum(m.is_async for m in world.gorgias.ticket.messages) == 1


def test_gorgias_ticket_operations(make_world):
    world = make_world()
    gorgias = world.gorgias
    gorgias.post_chat_message("hello", from_agent=False)
    gorgias.send_async_message("Your order was updated")
    gorgias.add_tags(["retained", "retained"])
    gorgias.assign_team("Retention specialists", "customer worried about the refund")
    ticket = gorgias.ticket
    assert ticket.assignee_team == {"id": 7, "name": "Retention specialists"}
    assert [t.name for t in ticket.tags] == ["order-cancellation", "retained", "escalated"]
    assert [m.channel for m in ticket.messages] == ["chat", "email", "internal-note"]
    assert ticket.messages[1].is_async and not ticket.messages[2].public
    with pytest.raises(NotFound, match="no team named"):
        gorgias.assign_team("Nobody", "x")


def test_fault_injection_is_seeded_and_rated():
    def failures(seed: int) -> list[int]:
        injector, hits = FaultInjector(0.3, seed), []
        for i in range(200):
            try:
                injector.check("op")
            except TransientBackendError:
                hits.append(i)
        return hits

    assert failures(7) == failures(7)
    assert failures(7) != failures(8)
    assert 40 <= len(failures(7)) <= 80
    with pytest.raises(ValueError):
        FaultInjector(1.5)


def test_world_fault_rate_makes_backend_calls_fail(make_world):
    world = make_world(fault_rate=1.0)
    with pytest.raises(TransientBackendError, match="safe to retry"):
        world.magento.get_order("000000101")


def test_no_money_is_given_away_at_the_store(make_world):
    """Whatever the model does: one retention offer, a coupon cap, no coupon after a cancellation, no cancellation
    after an offer, and only finite numbers."""
    world = make_world(cap=15, max_coupon_percent=20)
    for bad in (float("nan"), float("inf"), -5.0):
        with pytest.raises(RuleViolation):
            world.magento.set_discount("000000101", bad)
    with pytest.raises(RuleViolation, match="at most the policy's 20%"):
        world.magento.create_coupon(1, 99.99)
    world.magento.create_coupon(1, 20)
    with pytest.raises(RuleViolation, match="only one is allowed"):
        world.magento.create_coupon(1, 15)
    for write in (
        lambda: world.magento.set_discount("000000101", 10),
        lambda: world.magento.upgrade_shipping("000000101"),
    ):
        with pytest.raises(RuleViolation, match="allows one retention offer"):
            write()
    with pytest.raises(RuleViolation, match="kept a retention offer"):
        world.magento.cancel_order("000000101", "changed my mind")
    assert world.magento.orders["000000101"].status == "pending" and len(world.magento.coupons) == 1


def test_a_coupon_after_a_cancellation_is_refused(make_world):
    world = make_world(customer_id=7, max_coupon_percent=20)
    world.magento.cancel_order("000000113", "no longer needed")
    with pytest.raises(RuleViolation, match="only for keeping an order"):
        world.magento.create_coupon(7, 20)


def test_a_policy_may_allow_stacking(make_world):
    world = make_world(cap=15, max_coupon_percent=20, allow_stacking=True)
    world.magento.set_discount("000000101", 10)
    world.magento.upgrade_shipping("000000101")
    assert world.magento.orders["000000101"].discount_percent == 10


def test_a_non_numeric_percent_is_an_observation_not_a_crash(toolkit):
    world, tools = toolkit(customer_id=1)
    result = tools["set_discount_to_order"].invoke({"order_id": "000000101", "percent": "lots"})
    assert "percent" in result and world.magento.orders["000000101"].discount_percent == 0


def test_an_escalation_is_atomic_and_a_retry_completes_it(make_world):
    """Under 50% faults, every successful hand-over has its team, its tag and its note, and repeats add nothing."""
    for seed in range(50):
        world = make_world(customer_id=3, fault_rate=0.5, seed=seed)
        done = False
        for _ in range(6):
            try:
                world.gorgias.assign_team("Retention specialists", "a concern")
                done = True
            except TransientBackendError:
                assert world.gorgias.ticket.assignee_team is None or done
        ticket = world.gorgias.ticket
        if done:
            notes = [m for m in ticket.messages if m.channel == "internal-note"]
            assert ticket.assignee_team and [t.name for t in ticket.tags].count("escalated") == 1 and len(notes) == 1


def test_a_world_copies_only_what_it_touches_and_never_changes_the_fixtures(make_world, fixtures):
    """Worlds copy records on first use (for speed); what one world changes reaches neither the fixtures nor another
    world, a swap's stock change stays in its world, and a changed order of another customer is still caught."""
    world = make_world(customer_id=1, cap=20, allow_stacking=True)
    world.magento.set_discount("000000101", 10)
    world.magento.swap_item("000000101", "SHOE-TRAIL-42", "SHOE-TRAIL-PRO-42")
    assert world.magento.orders["000000101"].discount_percent == 10
    assert fixtures.orders["000000101"].discount_percent == 0
    assert fixtures.orders["000000101"].items[0].sku == "SHOE-TRAIL-42"
    stock = fixtures.products["SHOE-TRAIL-PRO-42"].extension_attributes.stock_item.qty
    assert world.magento.products["SHOE-TRAIL-PRO-42"].extension_attributes.stock_item.qty == stock - 1
    other = make_world(customer_id=1, cap=20)
    assert other.magento.orders["000000101"].discount_percent == 0
    assert other.magento.products["SHOE-TRAIL-PRO-42"].extension_attributes.stock_item.qty == stock
    assert len(world.magento.orders.copied()) < len(fixtures.orders)
    assert world.foreign_orders_changed() == []
    foreign = next(k for k, o in fixtures.orders.items() if o.customer_id != 1)
    world.magento.orders[foreign].status = "canceled"
    assert world.foreign_orders_changed() == [foreign]
    assert make_world(customer_id=1).magento.orders[foreign] == fixtures.orders[foreign]


def test_two_tool_calls_using_a_record_for_the_first_time_at_once_share_one_copy(make_world):
    """Parallel tool calls run on threads: the first use of a record from two of them must give both the same copy,
    or one of them writes to a copy that is then thrown away."""
    import sys
    import threading

    lost = 0
    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # make the threads interleave as often as they can
    try:
        for _ in range(200):
            world = make_world(customer_id=1)
            barrier = threading.Barrier(2)

            def cancel(w=world, b=barrier) -> None:
                b.wait()
                w.magento.orders["000000101"].status = "canceled"

            def read(w=world, b=barrier) -> None:
                b.wait()
                _ = w.magento.orders["000000101"].status

            threads = [threading.Thread(target=cancel), threading.Thread(target=read)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            lost += world.magento.orders["000000101"].status != "canceled"
    finally:
        sys.setswitchinterval(switch)
    assert lost == 0
