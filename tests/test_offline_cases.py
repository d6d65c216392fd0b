"""Every case listed under issue 10's "What was seen (offline model)", end to end through `python -m agent chat`,
asserting the final store state: nothing applied after a refusal or a question, the right offer after a partial
acceptance, no cancellation after a goodbye, two orders cancelled when asked, no stacking, pacing followed."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from agent.store.fixtures import default_fixtures
from tests.conftest import ROOT, prose_only

OPENING = "I want to cancel my order"


def chat(customer: int, lines: list[str], tmp_path, policy: str = "policies/retention_offers.md") -> dict:
    out = tmp_path / "state.json"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "agent",
            "chat",
            "--policy",
            str(policy),
            "--customer",
            str(customer),
            "--state-out",
            str(out),
        ],
        cwd=ROOT,
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(out.read_text(encoding="utf-8"))


def order(state: dict, increment_id: str) -> dict:
    return next(o for o in state["final_state"]["orders"] if o["increment_id"] == increment_id)


def writes(state: dict) -> list[str]:
    return [c["tool"] for c in state["trace"] if c["ok"] and c["kind"] == "write"]


def untouched(state: dict, increment_id: str) -> bool:
    o = order(state, increment_id)
    return o["status"] == "pending" and o["discount_percent"] == 0 and o["shipping_method"] == "standard_standard"


@pytest.mark.parametrize(
    "message",
    [
        "I do not want the discount, it feels like a trick",
        "I hate the coupon idea",
        "what is the swap exactly?",
        "can you send me the code?",
        "Wait a second, let me think",
        "Hmm, what would the total be with the first one?",
        "That's the last thing I need... No.",
        "Actually I don't want to cancel anymore",
        "No rush, I'll think about it",
    ],
)
def test_a_refusal_or_a_question_writes_nothing(tmp_path, message):
    state = chat(1, [OPENING, message], tmp_path)
    assert writes(state) == [] and untouched(state, "000000101")
    assert state["final_state"]["coupons"] == []
    assert order(state, "000000101")["items"][0]["sku"] == default_fixtures().orders["000000101"].items[0].sku


def test_no_x_but_y_sounds_good_takes_y(tmp_path):
    state = chat(1, [OPENING, "no discount, but the shipping upgrade sounds good"], tmp_path)
    o = order(state, "000000101")
    assert o["status"] == "pending" and o["shipping_method"] == "expedited_expedited" and o["discount_percent"] == 0
    assert writes(state) == ["upgrade_shipping", "send_async_message"]


def test_offers_do_not_stack(tmp_path):
    state = chat(1, [OPENING, "I'll take the coupon", OPENING, "15% discount please"], tmp_path)
    assert len(state["final_state"]["coupons"]) == 1
    assert order(state, "000000101")["discount_percent"] == 0 and order(state, "000000101")["status"] == "pending"


def test_after_a_refused_foreign_order_a_goodbye_cancels_nothing(tmp_path):
    state = chat(12, ["Please cancel order 000000105 for me.", "Alright, I understand. Bye."], tmp_path)
    assert writes(state) == []
    assert order(state, "000000121")["status"] == "pending"


@pytest.mark.parametrize("pick", ["the second one", "the jacket", "order 102", "#102"])
def test_an_order_is_picked_by_position_product_or_number(tmp_path, pick):
    state = chat(2, ["I'd like to cancel an order", pick, "no thanks"], tmp_path)
    assert order(state, "000000102")["status"] == "canceled"
    assert order(state, "000000103")["status"] == "pending"


def test_two_orders_are_cancelled_when_asked(tmp_path):
    state = chat(2, ["I'd like to cancel an order", "both of them", "no thanks", "no thanks"], tmp_path)
    assert order(state, "000000102")["status"] == "canceled" and order(state, "000000103")["status"] == "canceled"


def test_two_orders_one_after_the_other(tmp_path):
    state = chat(2, ["cancel order 103", "no thanks", "also cancel order 102", "no"], tmp_path)
    assert order(state, "000000102")["status"] == "canceled" and order(state, "000000103")["status"] == "canceled"


def test_a_negated_offer_line_is_never_made(tmp_path):
    policy = tmp_path / "no_swap.md"
    text = prose_only((ROOT / "policies" / "retention_offers.md").read_text(encoding="utf-8"))
    swap_line = next(line for line in text.splitlines() if "@swap_order_item" in line)
    policy.write_text(text.replace(swap_line, "- Never swap an item with @swap_order_item."), encoding="utf-8")
    state = chat(
        12, ["cancel my order", "I'd like to swap the jacket for the pro", "the swap please"], tmp_path, policy
    )
    assert "swap_order_item" not in writes(state) and "list_swap_options" not in [c["tool"] for c in state["trace"]]
    assert "swap" not in state["transcript"][1]["content"].lower()


def test_one_at_a_time_presents_one_offer_per_reply(tmp_path):
    policy = tmp_path / "paced.md"
    text = prose_only((ROOT / "policies" / "retention_offers.md").read_text(encoding="utf-8"))
    policy.write_text(
        text.replace("present these options, in this order:", "present these options one at a time, in this order:"),
        encoding="utf-8",
    )
    state = chat(1, [OPENING, "no thanks", "no thanks"], tmp_path, policy)
    replies = [line["content"] for line in state["transcript"] if line["role"] == "agent"]
    assert "10% off this order" in replies[0] and "expedited" not in replies[0]
    assert "expedited" in replies[1] and "10% off" not in replies[1]
    assert "swap" in replies[2].lower() and order(state, "000000101")["status"] == "pending"
    together = chat(1, [OPENING], tmp_path)
    first = [line["content"] for line in together["transcript"] if line["role"] == "agent"][0]
    assert "10% off this order" in first and "expedited" in first and "coupon" in first


def test_a_failed_swap_lookup_skips_only_the_swap():
    from agent.conversation import Conversation
    from agent.errors import TransientBackendError
    from agent.policy.compiled import compile_policy_file

    def lookup_down(*args: object, **kwargs: object) -> list:
        raise TransientBackendError("swap lookup timed out")

    convo = Conversation.start(compile_policy_file(ROOT / "policies" / "retention_offers.md"), 1)
    convo.world.magento.swap_options = lookup_down  # type: ignore[method-assign]
    reply = convo.send(OPENING).reply
    assert "10% off this order" in reply and "coupon" in reply and "swap" not in reply.lower()
    assert [c.tool for c in convo.world.trace].count("list_swap_options") == 3
