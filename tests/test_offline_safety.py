"""The offline model never acts on what the customer did not say (issue 24).

Properties, over text nobody in the project wrote: every labelled customer message under every shipped policy, and
every held-out customer script, leads to no write its label does not allow. Then each case found in the issue, end to
end through `python -m agent chat` with the final store state asserted.
"""

from __future__ import annotations

import pytest

from testing.labelled_messages import LABELLED, action_of, played_turns, writes_not_allowed
from testing.labelled_messages import load_reviews as message_reviews
from testing.labelled_scripts import SCRIPT_SETS, load_reviews, load_scripts, play, reviewed, reviews_of
from tests.conftest import POLICIES
from tests.test_offline_cases import chat, order, writes

SHIPPED = sorted(p.name for p in POLICIES.glob("*.md"))
MESSAGE_SETS = sorted(p.name for p in LABELLED.glob("customer_messages*.yaml"))


@pytest.mark.slow
@pytest.mark.parametrize("policy", SHIPPED)
def test_no_labelled_message_leads_to_a_write_its_label_does_not_allow_under_any_policy(policy):
    """The labels were written for `retention_offers.md`; under another policy a decision keeps its family (an
    acceptance may pick another offer by position, a policy without offers cancels once the order is named), and
    anything else must not write at all."""
    from agent.policy.compiled import compile_policy_file

    compiled = compile_policy_file(POLICIES / policy)
    makes_offers = bool(compiled.offer_plan.options)
    reviews = message_reviews()
    found = []
    for name in MESSAGE_SETS:
        for _, message, label, turn in played_turns(name, compiled):
            labels = [label, reviews.get((name, message), label)]
            if bad := min((writes_not_allowed(turn, x, makes_offers) for x in labels), key=len):
                found.append((name, message, label, action_of(turn), bad))
    assert found == []


@pytest.mark.parametrize("name", sorted(SCRIPT_SETS))
def test_no_held_out_script_ends_with_a_write_its_label_does_not_allow(name):
    reviews = load_reviews(reviews_of(SCRIPT_SETS[name]))
    scripts = [reviewed(s, reviews) for s in load_scripts(SCRIPT_SETS[name])]
    assert len(scripts) >= 100
    bad = [(p.script.id, p.actual.orders, p.coupons) for p in map(play, scripts) if p.unasked_write]
    assert bad == []


def test_every_review_of_a_label_names_a_script_and_says_why():
    ids = {s.id for s in load_scripts()}
    assert set(load_reviews()) <= ids


# --- the cases found in issue 24, end to end -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("customer", "named", "other_open"),
    [
        (1, "I want to cancel the brew scale order", "000000101"),  # 000000123 has shipped
        (5, "I want to cancel the fleece order", "000000108"),  # 000000109 is on hold
        (4, "cancel the hiking boots order", "000000125"),  # 000000106 has shipped
        (1, "cancel the blender order", "000000101"),  # no such product
    ],
)
def test_an_order_the_customer_names_is_never_replaced_by_another(customer, named, other_open, tmp_path):
    state = chat(customer, [named, "no thanks", "ok"], tmp_path)
    assert writes(state) == []
    assert order(state, other_open)["status"] in ("pending", "processing")


def test_a_named_order_that_cannot_be_cancelled_is_said_so(tmp_path):
    state = chat(1, ["I want to cancel the brew scale order"], tmp_path)
    reply = state["transcript"][-1]["content"]
    assert "000000123" in reply and "shipped" in reply


@pytest.mark.parametrize(
    ("lines", "named"),
    [
        (["cancel the shoes order 112", "no thanks", "ok"], "000000112"),  # 112 is a rain jacket; 111 is the shoe
        (["please cancel the grinder order, 111", "no thanks", "ok"], "000000111"),  # 111 is the shoe
    ],
)
def test_a_number_that_disagrees_with_the_product_named_beside_it_is_asked_about(lines, named, tmp_path):
    state = chat(6, lines, tmp_path)
    assert writes(state) == []
    assert named in state["transcript"][1]["content"] and "Which one" in state["transcript"][1]["content"]


def test_a_number_whose_product_words_fit_goes_ahead(tmp_path):
    state = chat(6, ["cancel the jacket order 112", "no thanks"], tmp_path)
    assert order(state, "000000112")["status"] == "canceled"


@pytest.mark.parametrize(
    "message",
    [
        "yeah right, like faster shipping fixes anything",
        "oh sure, 10% off, that's sooo generous",
        "if it gets here by friday i'll keep it with the faster shipping",
        "If my order isn't shipped within the hour, cancel it. Otherwise keep it.",
        "no thanks to 10%",
        "sooooo helpful, faster shipping, wow",
        "oh fantastic, a coupon for next time",
    ],
)
def test_sarcasm_conditions_ultimatums_and_partial_refusals_never_write(message, tmp_path):
    state = chat(1, ["I want to cancel my order", message], tmp_path)
    assert writes(state) == []


def test_a_partial_refusal_then_a_haggle_gets_the_higher_level(tmp_path):
    state = chat(1, ["I want to cancel my order", "no thanks to 10%", "can you do 15?", "yes"], tmp_path)
    assert order(state, "000000101")["discount_percent"] == 15


@pytest.mark.parametrize(
    "ask", ["Can you do better than 10%?", "can u do more than 10%?", "is 10% really the best you can do?"]
)
def test_asking_for_more_counters_above_what_is_on_the_table(ask, tmp_path):
    state = chat(1, ["I want to cancel my order", ask, "yes please"], tmp_path)
    assert order(state, "000000101")["discount_percent"] == 15


@pytest.mark.parametrize("yes", ["yes", "yes, that one please", "ok, go with that one"])
def test_a_yes_after_a_question_about_one_offer_applies_it_at_its_level(yes, converse):
    """ "that one" is a pronoun, not a percent: the 10% just discussed is applied, not countered with 15%."""
    convo = converse(1, ["I want to cancel my order", "what would my total be?", yes])
    assert convo.world.magento.orders["000000101"].discount_percent == 10


def test_a_bare_yes_takes_the_offer_just_discussed(tmp_path):
    state = chat(1, ["I want to cancel my order", "what would my total be?", "yes"], tmp_path)
    assert "133.70" in state["transcript"][3]["content"]  # the total with 10% off, from the store's figures
    assert order(state, "000000101")["discount_percent"] == 10


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        ("shipping no, discount yes", "discount"),
        ("no to the swap, but the coupon yes", "coupon"),
        ("bet, gimme the coupon for next time", "coupon"),
        ("el envío exprés gratis me parece bien", "shipping"),
        ("Den Gutschein nehme ich", "coupon"),
        ("d'accord pour la livraison express", "shipping"),
    ],
)
def test_mixed_slang_and_other_languages_accept_the_right_offer(message, kind, tmp_path):
    state = chat(1, ["I want to cancel my order", message], tmp_path)
    o = order(state, "000000101")
    got = {
        "discount": o["discount_percent"] > 0,
        "coupon": bool(state["final_state"]["coupons"]),
        "shipping": o["shipping_method"] != "standard_standard",
    }
    assert [k for k, v in got.items() if v] == [kind]


@pytest.mark.parametrize(
    ("customer", "lines", "opened"),
    [
        (6, ["cancel the shoes"], "000000111"),
        (2, ["cancel an order", "the older one"], "000000102"),
        (2, ["cancel an order", "the cheaper one"], "000000103"),
        (2, ["cancel order 102", "actually cancel the other order, the backpack"], "000000103"),
        (1, ["i wnat to cancle my oder"], "000000101"),
        (12, ["cancell order 121"], "000000121"),
    ],
)
def test_orders_picked_by_product_date_price_other_and_typos(customer, lines, opened, tmp_path):
    state = chat(customer, [*lines, "no thanks"], tmp_path)
    assert [c["args"]["order_id"] for c in state["trace"] if c["tool"] == "cancel_order"] == [opened]
