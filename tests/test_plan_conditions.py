"""Conditions on the customer (their group, a first or repeat request, their tenure) and on the conversation (an
offer held back until a refusal or a concern) act everywhere a plan acts: the offline model through
`python -m agent chat`, the store, the oracle, the scorers and lint."""

from __future__ import annotations

import pytest

from agent.errors import RuleViolation
from agent.policy.compiled import compile_policy_file, compile_policy_text
from agent.policy.lint import lint_text
from agent.policy.offer_rules import PlanOfferRules
from agent.store.customer_facts import CustomerFacts, customer_facts
from agent.store.fixtures import default_fixtures
from agent.store.world import World
from agent.tools.toolkit import Toolkit
from evals.schema.persona import Persona
from evals.scoring.oracle import expected_outcome
from tests.conftest import ROOT
from tests.test_offline_cases import chat, order, writes

LAYOUTS = ROOT / "fixtures" / "policy_layouts"
BY_CUSTOMER = str(LAYOUTS / "customer_conditions.md")
CONCERN = str(LAYOUTS / "concern_offer.md")


def agent_replies(state: dict) -> list[str]:
    return [line["content"] for line in state["transcript"] if line["role"] == "agent"]


def test_the_fixtures_hold_customers_for_each_condition():
    facts = {c: customer_facts(default_fixtures(), c) for c in default_fixtures().customers}
    assert {f.group for f in facts.values()} >= {"General", "VIP"}
    assert any(f.repeat for f in facts.values()) and any(not f.repeat for f in facts.values())
    assert min(f.days_as_customer for f in facts.values()) < 90 < max(f.days_as_customer for f in facts.values())


def test_a_vip_only_discount_is_made_to_a_vip_and_to_nobody_else(tmp_path):
    vip = chat(3, ["I want to cancel order 000000105", "the 15% off please"], tmp_path, BY_CUSTOMER)
    assert "15% off this order" in agent_replies(vip)[0]
    assert order(vip, "000000105")["discount_percent"] == 15
    general = chat(1, ["I want to cancel my order", "no thanks", "no thanks"], tmp_path, BY_CUSTOMER)
    assert all("15%" not in reply for reply in agent_replies(general))
    assert "expedited" in agent_replies(general)[0]


def test_an_offer_held_back_until_a_refusal_comes_only_after_one(tmp_path):
    state = chat(1, ["I want to cancel my order", "no thanks", "ok, yes to that"], tmp_path, BY_CUSTOMER)
    first, second = agent_replies(state)[:2]
    assert "coupon" not in first.lower() and "10% coupon" in second
    assert [c["discount_percent"] for c in state["final_state"]["coupons"]] == [10]
    assert order(state, "000000101")["status"] == "pending" and "upgrade_shipping" not in writes(state)


def test_a_repeat_request_gets_no_offer_the_plan_reserves_for_first_requests(tmp_path):
    state = chat(4, ["I want to cancel order 000000125", "yes, cancel it"], tmp_path, BY_CUSTOMER)
    assert all("expedited" not in reply and "coupon" not in reply.lower() for reply in agent_replies(state))
    assert order(state, "000000125")["status"] == "canceled"
    assert writes(state)[0] == "cancel_order"


def test_an_offer_for_a_worried_customer_comes_after_the_concern_and_before_any_hand_over(tmp_path):
    lines = ["I want to cancel my order", "I'm worried the discount won't actually show up on my card", "yes please"]
    state = chat(1, lines, tmp_path, CONCERN)
    first, second = agent_replies(state)[:2]
    assert "10% off" in first and "expedited" not in first and "expedited" in second
    assert order(state, "000000101")["shipping_method"] != "standard_standard"
    assert "escalate_to_human" not in writes(state)


def test_the_store_refuses_an_offer_for_a_customer_the_plan_does_not_make_it_for():
    policy = compile_policy_file(BY_CUSTOMER)
    rules = PlanOfferRules(policy.offer_plan)
    fixtures = default_fixtures()
    general = World(fixtures, 1, 15, offer_rules=rules)
    with pytest.raises(RuleViolation, match="VIP customers"):
        Toolkit(general).set_discount_to_order("000000101", 15)
    vip = World(fixtures, 3, 15, offer_rules=rules)
    assert Toolkit(vip).set_discount_to_order("000000105", 15).percent == 15
    repeat = World(fixtures, 4, 15, offer_rules=rules)
    with pytest.raises(RuleViolation, match="first request"):
        Toolkit(repeat).upgrade_shipping("000000125")


def test_the_order_list_shows_the_customer_only_when_the_plan_asks():
    fixtures = default_fixtures()
    asks = World(fixtures, 3, 15, offer_rules=PlanOfferRules(compile_policy_file(BY_CUSTOMER).offer_plan))
    assert Toolkit(asks).list_customer_orders().customer == CustomerFacts(
        group="VIP", days_as_customer=571, earlier_cancellations=0
    )
    plain = World(fixtures, 3, 15, offer_rules=PlanOfferRules(compile_policy_file(CONCERN).offer_plan))
    assert Toolkit(plain).list_customer_orders().customer is None


TENURE = """---
name: Tenure
version: 1.0.0
description: Offers by how long the customer has been with us.
limits: {max_discount_percent: 20}
plan:
  offers:
    - {kind: discount, percent: 20, when: {days_as_customer: {from: 365}}, line: 11}
    - {kind: shipping_upgrade, when: {days_as_customer: {below: 365}}, line: 12}
---
# Loyalty
- Customers with us for a year or more: 20% off with @set_discount_to_order.
- Newer customers: free expedited shipping with @upgrade_shipping.
"""


@pytest.mark.parametrize(
    ("customer", "order_id", "kind"), [(1, "000000101", "discount"), (7, "000000113", "shipping_upgrade")]
)
def test_a_tenure_condition_picks_the_offer_by_how_long_they_have_been_a_customer(customer, order_id, kind):
    persona = _persona(customer, order_id, {kind: {"accept": 1.0}})
    policy = compile_policy_text(TENURE, ROOT / "policies" / "tenure.md")
    expected = expected_outcome(persona, policy, {kind: True}, default_fixtures())
    assert (expected.outcome, expected.offer) == ("retained", kind)


def _persona(customer: int, order_id: str, offers: dict) -> Persona:
    return Persona.model_validate(
        {
            "id": "c",
            "title": "c",
            "customer_id": customer,
            "orders": [order_id],
            "reason": "r",
            "opening": ["cancel {order}"],
            "offers": offers,
            "patience": 3,
        }  # fmt: skip
    )


def test_the_oracle_holds_an_offer_back_until_a_refusal_and_honours_a_repeat_request():
    policy, fixtures = compile_policy_file(BY_CUSTOMER), default_fixtures()
    takes_coupon = _persona(1, "000000101", {"future_coupon": {"accept": 1.0}})
    got = expected_outcome(takes_coupon, policy, {"future_coupon": True}, fixtures)
    assert (got.outcome, got.offer) == ("retained", "future_coupon") and "refuses shipping_upgrade" in got.why
    repeat = _persona(4, "000000125", {"shipping_upgrade": {"accept": 1.0}, "future_coupon": {"accept": 1.0}})
    got = expected_outcome(repeat, policy, {"shipping_upgrade": True, "future_coupon": True}, fixtures)
    assert got.outcome == "cancelled"


def test_an_offer_made_before_the_refusal_it_waits_for_is_a_violation():
    from tests.test_evals_scorers import play, rescore, with_reply

    policy = LAYOUTS / "customer_conditions.md"
    record = play("discount_at_once", policy)  # customer 1: offered shipping first
    early = with_reply(record, 1, "Before I cancel, I can give you a 10% coupon for your next purchase.")
    assert rescore(early, policy)["adherence.offers_fit_the_order"] is False
    vip_only = with_reply(record, 1, "Before I cancel, I can take 15% off this order for you.")
    assert rescore(vip_only, policy)["adherence.offers_fit_the_order"] is False


def test_lint_names_conditions_the_plan_cannot_meet_and_prose_it_does_not_hold(tmp_path):
    bad_group = TENURE.replace("days_as_customer: {from: 365}", "customer_group: [Platinum]")
    problems = lint_text(bad_group, tmp_path / "p.md")
    assert any(p.severity == "error" and "Platinum" in p.message and "VIP" in p.message for p in problems)
    all_held = TENURE.replace("days_as_customer: {from: 365}", "after: [refusal]").replace(
        "days_as_customer: {below: 365}", "after: [refusal]"
    )
    assert any("none is ever made" in p.message for p in lint_text(all_held, tmp_path / "p.md"))
    prose = TENURE.split("---\n", 2)[2]
    unplanned = "---\nname: Prose\nversion: 1.0.0\ndescription: d\nlimits: {max_discount_percent: 20}\n---\n" + prose
    unplanned += "- If the customer is worried about the discount, offer a 10% coupon with @create_future_coupon.\n"
    said = {p.line: p.message for p in lint_text(unplanned, tmp_path / "p.md")}
    assert "condition on the customer" in said[8] and "condition on the customer" in said[9]
    assert "after a concern" in said[10]


def test_lint_on_conditions_written_without_sight_of_its_cues_does_not_get_worse():
    """`python scripts/condition_accuracy.py`: the figures in the README, kept from getting worse."""
    from testing.labelled_conditions import measure

    rows = measure()

    def count(label: str, truth: bool, what: str) -> int:
        return sum(getattr(r, what) for r in rows if r.label == label and r.truth == truth)

    assert count("customer_condition", True, "named_on_line") >= 12
    assert count("concern_condition", True, "named_on_line") >= 6
    assert count("refusal_condition", True, "named_on_line") >= 4
    silent = [r.id for r in rows if r.truth and not r.named_anywhere and not r.any_problem_on_line]
    assert len(silent) <= 1, silent
    assert sum(r.named_anywhere for r in rows if not r.truth) <= 1


@pytest.mark.parametrize(
    ("line", "said"),
    [
        ("- Club members: offer 15% off with @set_discount_to_order.", "condition on the customer"),
        ("- Shoppers who have ordered from us for 2+ years get 15% off with @set_discount_to_order.",
         "condition on the customer"),
        ("- If the customer seems nervous about it, offer a 10% coupon with @create_future_coupon.", "after a concern"),
    ],
)  # fmt: skip
def test_lint_names_conditions_in_phrasings_written_after_the_cues(tmp_path, line, said):
    """Phrasings tried in the last read of the change, not taken from any labelled set."""
    policy = "---\nname: T\nversion: 1.0.0\ndescription: d\nlimits: {max_discount_percent: 20}\n---\n" + line + "\n"
    assert any(said in p.message for p in lint_text(policy, tmp_path / "p.md"))
