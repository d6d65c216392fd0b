"""End-to-end flows on the offline reference model through the real agent graph."""

from __future__ import annotations

from agent.policy.document import load_policy
from agent.policy.offers import read_offer_plan
from agent.tools.toolkit import offer_tools
from tests.conftest import POLICIES


def order(convo, increment_id):
    return next(o for o in convo.world.snapshot().model_dump()["orders"] if o["increment_id"] == increment_id)


def tools_called(convo):
    return [c.tool for c in convo.world.trace]


def test_accepting_a_discount_applies_it_confirms_and_emails(converse):
    convo = converse(1, ["Hi, I'd like to cancel my order", "Yes, I'll take the 10% discount"])
    state = order(convo, "000000101")
    assert state["status"] == "pending" and state["discount_percent"] == 10 <= convo.policy.max_discount_percent
    calls = tools_called(convo)
    assert calls.index("set_discount_to_order") < calls.index("send_async_message")
    assert "cancel_order" not in calls
    ticket = convo.world.snapshot().model_dump()["ticket"]
    assert any(m["is_async"] and "000000101" in m["body_text"] for m in ticket["messages"])
    assert [e["kind"] for e in convo.world.snapshot().model_dump()["emails"]] == ["order_update"]
    assert "10% off" in convo.turns[-1].reply


def test_declining_every_offer_cancels_the_order(converse):
    convo = converse(7, ["I want to cancel my order", "No thanks, none of those"])
    assert order(convo, "000000113")["status"] == "canceled"
    calls = tools_called(convo)
    assert calls.index("list_swap_options") < calls.index("cancel_order")
    assert "retention" not in convo.turns[-1].reply.lower()
    assert [e["kind"] for e in convo.world.snapshot().model_dump()["emails"]] == ["order_canceled"]


def test_a_concern_goes_to_a_human_team(converse):
    convo = converse(3, ["Please cancel my order", "I'm worried the discount won't actually show on my card"])
    ticket = convo.world.snapshot().model_dump()["ticket"]
    assert ticket["assignee_team"]["name"] == "Retention specialists"
    assert order(convo, "000000105")["status"] == "processing"
    assert "escalate_to_human" in tools_called(convo) and "cancel_order" not in tools_called(convo)


def test_holding_out_gets_the_higher_level_but_never_above_it(converse):
    convo = converse(1, ["cancel my order please", "Can you do 30% off?", "ok, 15% then"])
    assert "The most I can take off this order is 15%" in convo.turns[1].reply
    assert order(convo, "000000101")["discount_percent"] == 15


def test_shipped_order_is_not_cancelled(converse):
    convo = converse(4, ["I want to cancel order 000000106"])
    assert order(convo, "000000106")["status"] == "complete"
    assert "already shipped" in convo.turns[-1].reply


def test_several_open_orders_make_the_agent_ask_which(converse):
    convo = converse(6, ["I need to cancel an order"])
    assert "Which one would you like to cancel?" in convo.turns[-1].reply
    convo.send("The one with order number 000000111")
    assert "Before I cancel order 000000111" in convo.turns[-1].reply


def first_offer_lines(converse, policy):
    convo = converse(1, ["I want to cancel my order"], policy=policy)
    return [line for line in convo.turns[-1].reply.splitlines() if line[:2] in {"1.", "2.", "3.", "4."}]


def test_policy_variants_change_what_the_offline_model_offers(converse):
    base = first_offer_lines(converse, "retention_offers.md")
    shipping_first = first_offer_lines(converse, "retention_offers_shipping_first.md")
    lean = first_offer_lines(converse, "retention_offers_lean.md")
    assert base[0] == "1. 10% off this order" and shipping_first[0].startswith("1. a free upgrade to expedited")
    assert sorted(x[3:] for x in base) == sorted(x[3:] for x in shipping_first)
    assert len(lean) == 3 and "3. a 15% coupon for your next order" in lean
    assert not any("swap" in line for line in lean)


def test_no_retention_policy_cancels_straight_away(converse):
    convo = converse(7, ["I want to cancel my order"], policy="cancel_without_retention.md")
    assert order(convo, "000000113")["status"] == "canceled"


def test_pure_rephrasing_does_not_change_the_plan(tmp_path):
    original = load_policy(POLICIES / "retention_offers.md")
    reworded = original.body.replace("A discount on this order", "Money off what they bought").replace(
        "Free expedited shipping", "A faster delivery, on us,"
    )
    plan_a = read_offer_plan(original.body, offer_tools())
    plan_b = read_offer_plan(reworded, offer_tools())
    assert reworded != original.body
    assert [(o.kind, o.percents) for o in plan_a.options] == [(o.kind, o.percents) for o in plan_b.options]


def test_transient_faults_are_retried_and_never_misreported(converse):
    recovered = 0
    for seed in range(8):
        convo = converse(7, ["I want to cancel my order", "no thanks"], fault_rate=0.2, seed=seed)
        status, reply = order(convo, "000000113")["status"], convo.turns[-1].reply
        if status == "canceled":
            assert "is cancelled" in reply
        else:
            assert "isn't responding" in reply and status == "pending"
        failed = [c for c in convo.world.trace if c.error_kind == "transient"]
        recovered += bool(failed) and status == "canceled"
    assert recovered >= 1


def test_history_survives_across_turns(converse):
    convo = converse(1, ["cancel my order", "what's the weather like?", "the free shipping please"])
    assert "Would one of these options work for you" in convo.turns[1].reply
    assert order(convo, "000000101")["shipping_method"] == "expedited_expedited"


def test_an_interrupted_turn_leaves_a_valid_history_and_the_chat_goes_on(converse):
    from langchain_core.messages import AIMessage, ToolMessage

    convo = converse(7, ["I want to cancel my order"], step_limit=3)
    assert "stopped after 3 steps" in (convo.turns[-1].error or "")
    messages = convo._messages()
    answered = {m.tool_call_id for m in messages if isinstance(m, ToolMessage)}
    assert all(c["id"] in answered for m in messages if isinstance(m, AIMessage) for c in m.tool_calls)
    convo.step_limit = 24
    convo.send("I want to cancel my order")
    convo.send("no thanks")
    assert order(convo, "000000113")["status"] == "canceled"


def test_the_ticket_status_follows_the_conversation(converse):
    convo = converse(7, ["I want to cancel my order"])
    assert convo.world.gorgias.ticket.status == "open"  # nothing settled yet
    convo.send("no thanks")
    assert convo.world.gorgias.ticket.status == "closed"  # the order is cancelled
    convo.world.gorgias.post_chat_message("one more thing", from_agent=False)
    assert convo.world.gorgias.ticket.status == "open"  # a customer line reopens it, as in Gorgias
    handed = converse(7, ["I want to cancel my order", "I want to talk to a real person"])
    assert handed.world.gorgias.ticket.status == "open" and handed.world.gorgias.ticket.assignee_team
