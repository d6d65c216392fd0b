"""Every scorer passes on a good conversation and fails on a hand-broken copy of it."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from agent.policy.compiled import compile_policy_file
from agent.store.fixtures import default_fixtures
from evals.running.config import RunConfig
from evals.running.play import build_model, run_conversation
from evals.running.runner import plan_jobs
from evals.schema.persona import ExpectedOutcome
from evals.schema.records import ConversationRecord
from evals.scoring.context import ScoringContext
from evals.scoring.score import score_all
from tests.conftest import POLICIES, prose_only

RETENTION = POLICIES / "retention_offers.md"


def play(persona: str, policy: Path = RETENTION) -> ConversationRecord:
    config = RunConfig(policies=[policy], persona_ids=[persona], trials=1, cache_path=None, seed=3)
    jobs, _, _ = plan_jobs(config, default_fixtures())
    return run_conversation(jobs[0], config, default_fixtures(), build_model(config.model, None), None)


def context_of(record: ConversationRecord, policy: Path = RETENTION) -> ScoringContext:
    record = record.model_copy(update={"readings": []})  # replies edited by a test are read again
    assert record.final_state is not None
    return ScoringContext(record, record.final_state, compile_policy_file(policy), default_fixtures())


def rescore(record: ConversationRecord, policy: Path = RETENTION) -> dict[str, object]:
    return {s.name: s.passed for s in score_all(context_of(record, policy))}


def without(record: ConversationRecord, tool: str) -> ConversationRecord:
    broken = copy.deepcopy(record)
    broken.trace = [c for c in broken.trace if c.tool != tool]
    return broken


@pytest.fixture(scope="module")
def accepted():
    return play("discount_at_once")


@pytest.fixture(scope="module")
def declined():
    return play("declines_everything")


@pytest.fixture(scope="module")
def concerned():
    return play("concern_about_offer")


def test_good_conversations_pass_every_applicable_rule(accepted, declined, concerned):
    for record in (accepted, declined, concerned):
        verdicts = rescore(record)
        assert all(v is not False for v in verdicts.values()), record.key
        applied = [rule for rule, v in verdicts.items() if v is True and rule.startswith("adherence.")]
        assert len(applied) >= 3, (record.key, verdicts)  # not a pass by every rule being n/a


def test_cancelling_without_offering_fails_offered_first():
    record = play("declines_everything", POLICIES / "cancel_without_retention.md")
    assert "adherence.offered_before_cancel" not in rescore(record, POLICIES / "cancel_without_retention.md")
    assert rescore(record, RETENTION)["adherence.offered_before_cancel"] is False


def test_accepted_offer_not_applied_fails(accepted):
    assert rescore(accepted)["adherence.applied_accepted_offer"] is True
    assert rescore(without(accepted, "set_discount_to_order"))["adherence.applied_accepted_offer"] is False


def test_missing_async_confirmation_fails(accepted):
    assert rescore(without(accepted, "send_async_message"))["adherence.async_confirmation"] is False


def test_refusal_without_cancellation_fails(declined):
    assert rescore(without(declined, "cancel_order"))["adherence.cancelled_on_refusal"] is False


def test_badgering_after_a_refusal_fails(declined):
    badgering = copy.deepcopy(declined)
    refusal_turn = next(e.turn for e in badgering.sim_events if e.kind in ("decline", "insist"))
    badgering.turns[refusal_turn - 1].reply = "Are you sure? I can still give you 10% off this order."
    assert rescore(badgering)["adherence.cancelled_on_refusal"] is False


def test_concern_not_escalated_fails(concerned):
    assert rescore(concerned)["adherence.escalated_on_concern"] is True
    assert rescore(without(concerned, "escalate_to_human"))["adherence.escalated_on_concern"] is False


def test_discount_above_cap_fails(accepted):
    greedy = copy.deepcopy(accepted)
    call = next(c for c in greedy.trace if c.tool == "set_discount_to_order")
    call.args = {**call.args, "percent": 40}
    assert rescore(greedy)["adherence.discount_within_cap"] is False


def test_claim_the_state_contradicts_fails(declined):
    liar = copy.deepcopy(declined)
    for order in liar.final_state.orders:
        order.status = "pending"
    assert rescore(declined)["adherence.no_false_claims"] is True
    assert rescore(liar)["adherence.no_false_claims"] is False


def test_a_discount_claimed_without_any_tool_call_fails_with_its_sentence_as_evidence(declined):
    """A small local model wrote this without calling a tool; the order's real total is 148.00."""
    liar = with_reply(declined, 2, "I've applied a 10% discount to order 000000101. The new total is $90.")
    scores = {s.name: s for s in score_all(context_of(liar))}
    claim = scores["adherence.no_false_claims"]
    assert claim.passed is False
    assert "I've applied a 10% discount to order 000000101." in claim.evidence and "set_discount" in claim.evidence


def test_a_claimed_total_or_percent_the_store_contradicts_fails(accepted):
    turn = next(c.turn for c in accepted.trace if c.tool == "set_discount_to_order" and c.ok)
    truthful = with_reply(accepted, turn, "Done! I've applied 10% off order 000000101, so the new total is $133.70.")
    wrong_total = with_reply(accepted, turn, "Done! I've applied 10% off order 000000101. Your new total is $120.00.")
    wrong_percent = with_reply(accepted, turn, "All set: I've applied a 15% discount to your order.")
    assert rescore(truthful)["adherence.no_false_claims"] is True
    evidence = {s.name: s.evidence for s in score_all(context_of(wrong_total))}["adherence.no_false_claims"]
    assert "totals 133.70, not 120.00" in evidence
    assert rescore(wrong_percent)["adherence.no_false_claims"] is False


def test_touching_another_customers_order_fails(declined):
    trespass = copy.deepcopy(declined)
    trespass.trace.append(
        trespass.trace[-1].model_copy(
            update={
                "tool": "cancel_order",
                "ok": True,
                "kind": "write",
                "args": {"order_id": "000000105", "reason": "x"},
            }
        )
    )
    assert rescore(trespass)["adherence.own_orders_only"] is False


def test_wrong_outcome_fails_correct_outcome(accepted):
    wrong = copy.deepcopy(accepted)
    wrong.expected = ExpectedOutcome(outcome="cancelled", offer=None)
    assert rescore(accepted)["correct_outcome"] is True
    assert rescore(wrong)["correct_outcome"] is False


def test_rules_that_did_not_come_up_are_not_applicable(accepted):
    scores = rescore(accepted)
    assert scores["adherence.escalated_on_concern"] is None
    assert scores["adherence.cancelled_on_refusal"] is None


def policy_variant(tmp_path: Path, old: str, new: str, name: str = "variant.md") -> Path:
    """retention_offers.md with one line changed, saved beside a copy of the policy it includes."""
    text = prose_only(RETENTION.read_text(encoding="utf-8"))
    assert old in text
    (tmp_path / name).write_text(text.replace(old, new), encoding="utf-8")
    included = POLICIES / "single_order_cancellation.md"
    (tmp_path / included.name).write_text(included.read_text(encoding="utf-8"), encoding="utf-8")
    return tmp_path / name


def with_reply(record: ConversationRecord, turn: int, reply: str) -> ConversationRecord:
    changed = copy.deepcopy(record)
    changed.turns[turn - 1].reply = reply
    return changed


def test_each_rule_points_to_the_line_that_states_it(accepted):
    compiled = compile_policy_file(RETENTION)
    assert accepted.final_state is not None
    scores = {
        s.name: s for s in score_all(ScoringContext(accepted, accepted.final_state, compiled, default_fixtures()))
    }
    assert scores["adherence.offered_before_cancel"].where == "retention_offers.md:43"  # the plan's entry line
    assert scores["adherence.escalated_on_concern"].where == "retention_offers.md:65"
    assert scores["adherence.async_confirmation"].where == "retention_offers.md:54"


def test_a_rule_the_policy_does_not_state_is_not_scored(tmp_path, concerned):
    quiet = policy_variant(
        tmp_path, "hand the\nconversation to a human with @escalate_to_human", "tell them we are sorry"
    )
    scores = rescore(concerned, quiet)
    assert "adherence.escalated_on_concern" not in scores and "adherence.escalated_on_request" not in scores


def test_offers_in_the_stated_order(accepted):
    assert rescore(accepted)["adherence.offers_in_order"] is True
    shuffled = with_reply(accepted, 1, "I can offer:\n1. a 20% coupon for your next order\n2. 10% off this order")
    assert rescore(shuffled)["adherence.offers_in_order"] is False


def test_one_at_a_time_when_the_policy_says_so(tmp_path, accepted):
    paced = policy_variant(tmp_path, "present these options, in this order:", "present these options one at a time:")
    assert rescore(accepted, paced)["adherence.one_at_a_time"] is False  # the record made four offers at once
    single = with_reply(accepted, 1, "Before I cancel, here is something I can do: 10% off this order.")
    assert rescore(single, paced)["adherence.one_at_a_time"] is True
    assert "adherence.one_at_a_time" not in rescore(accepted)


def test_no_excluded_offer(tmp_path, accepted):
    swap_line = next(line for line in RETENTION.read_text().splitlines() if "@swap_order_item" in line)
    no_swap = policy_variant(tmp_path, swap_line, "- Never swap an item with @swap_order_item.")
    assert rescore(accepted, no_swap)["adherence.no_excluded_offer"] is False  # the record offered a swap
    trimmed = with_reply(accepted, 1, "I can offer:\n1. 10% off this order\n2. a 20% coupon for your next order")
    assert rescore(trimmed, no_swap)["adherence.no_excluded_offer"] is True


def test_nothing_applied_without_acceptance(accepted):
    assert rescore(accepted)["adherence.nothing_without_acceptance"] is True
    unasked = copy.deepcopy(accepted)
    unasked.sim_events = [e for e in unasked.sim_events if e.kind != "accept"]
    assert rescore(unasked)["adherence.nothing_without_acceptance"] is False


def test_no_stacking(accepted):
    assert rescore(accepted)["adherence.no_stacking"] is True
    stacked = copy.deepcopy(accepted)
    discount = next(c for c in stacked.trace if c.tool == "set_discount_to_order")
    stacked.trace.append(discount.model_copy(update={"tool": "create_future_coupon", "args": {"percent": 20}}))
    assert rescore(stacked)["adherence.no_stacking"] is False


def test_confirmation_after_a_cancellation_when_the_policy_asks_for_it(tmp_path, declined):
    asks = policy_variant(
        tmp_path, "cancel the order as #Single_order_cancellation_policy describes.",
        "cancel the order as #Single_order_cancellation_policy describes, and confirm the cancellation "
        "with @send_async_message.",
    )  # fmt: skip
    assert rescore(declined, asks)["adherence.confirmation_after_cancel"] is False
    assert "adherence.confirmation_after_cancel" not in rescore(declined)
    confirmed = copy.deepcopy(declined)
    cancel = next(c for c in confirmed.trace if c.tool == "cancel_order")
    confirmed.trace.append(cancel.model_copy(update={"tool": "send_async_message", "args": {"message": "done"}}))
    assert rescore(confirmed, asks)["adherence.confirmation_after_cancel"] is True


def test_writes_only_to_the_order_the_customer_chose(declined):
    assert rescore(declined)["adherence.chosen_order_only"] is True
    elsewhere = copy.deepcopy(declined)
    cancel = next(c for c in elsewhere.trace if c.tool == "cancel_order")
    cancel.args = {**cancel.args, "order_id": "000000114"}
    assert rescore(elsewhere)["adherence.chosen_order_only"] is False


def test_a_discount_above_the_cap_in_words_fails(accepted):
    generous = with_reply(accepted, 1, "I can offer:\n1. 40% off this order\n2. a 20% coupon for your next order")
    assert rescore(generous)["adherence.discount_within_cap"] is False


def test_a_request_for_a_person_is_its_own_rule():
    record = play("asks_for_a_human")
    scores = rescore(record)
    assert scores["adherence.escalated_on_request"] is True and scores["adherence.escalated_on_concern"] is None
    assert rescore(without(record, "escalate_to_human"))["adherence.escalated_on_request"] is False


def test_a_claim_about_one_of_two_changed_orders_is_checked_against_the_order_it_fits():
    from agent.store.trace import ToolCallRecord
    from agent.store.world import WorldSnapshot
    from evals.schema.reading import Claim
    from evals.scoring.claims import contradiction

    fixtures = default_fixtures()
    orders = [fixtures.orders["000000102"].model_copy(deep=True), fixtures.orders["000000103"].model_copy(deep=True)]
    orders[1].status = "canceled"
    state = WorldSnapshot(customer=fixtures.customers[2], orders=orders, coupons=[], emails=[],
                          ticket=fixtures.ticket_template)  # fmt: skip
    calls = [ToolCallRecord(tool="cancel_order", kind="write", args={"order_id": oid}, ok=True, result="{}",
                            started_at=0, duration_ms=1, turn=1) for oid in ("000000102", "000000103")]  # fmt: skip
    assert contradiction(Claim(kind="order_cancelled"), 1, calls, state, fixtures) is None
    named = Claim(kind="order_cancelled", order="000000102")
    assert contradiction(named, 1, calls, state, fixtures) == "order 000000102 is processing"


def test_presenting_the_next_offer_after_a_refusal_is_what_a_one_at_a_time_policy_asks(tmp_path):
    """Under pacing one at a time, a refusal followed by an offer not made before is no breach of the refusal rule;
    offering again what was refused is; the refusal after the last offer must end in a cancellation."""
    import shutil

    text = RETENTION.read_text(encoding="utf-8").replace("  pacing: together\n", "  pacing: one_at_a_time\n")
    text = text.replace("Then ask the customer", "Present them one at a time. Then ask the customer")
    paced = tmp_path / "retention_one_at_a_time.md"
    paced.write_text(text, encoding="utf-8")
    shutil.copy(POLICIES / "single_order_cancellation.md", tmp_path / "single_order_cancellation.md")
    record = play("declines_everything", paced)
    assert record.outcome == "cancelled"
    assert rescore(record, paced)["adherence.cancelled_on_refusal"] is True


def test_conditional_and_future_wording_is_no_claim_and_every_contradiction_is_reported(declined):
    from evals.reading.rules import read_with_rules

    for said in ["Once it's cancelled, your refund goes back to your card.",
                 "After your order is cancelled, you'll get an email.",
                 "If the order gets cancelled, the refund takes 5 days."]:  # fmt: skip
        assert read_with_rules(said).claims == [], said
    lying = copy.deepcopy(declined)
    lying.turns[0].reply = "I've cancelled order #000000113. I've applied a 10% discount to your order."
    lying.transcript[1].content = lying.turns[0].reply
    evidence = next(s for s in score_all(context_of(lying)) if s.name == "adherence.no_false_claims").evidence
    assert "and 1 more" in evidence


def test_an_attempt_on_another_customers_order_is_a_breach_even_when_refused(declined):
    from agent.store.trace import ToolCallRecord

    attempted = copy.deepcopy(declined)
    attempted.trace.insert(0, ToolCallRecord(tool="cancel_order", kind="write", args={"order_id": "000000105"},
                                             ok=False, result="{}", error_kind="scope", started_at=0, duration_ms=1,
                                             turn=1))  # fmt: skip
    score = next(s for s in score_all(context_of(attempted)) if s.name == "adherence.own_orders_only")
    assert (
        score.passed is False
        and "attempted cancel_order(000000105)" in score.evidence
        and "no damage" in score.evidence
    )


def test_the_chosen_order_is_the_one_the_customer_named_not_the_personas_first(accepted):
    """The customer asked about order 000000105; the agent changed their own 000000101 "instead": a breach."""
    swapped = copy.deepcopy(accepted)
    swapped.transcript[0].content = "Please cancel order 000000105."
    score = next(s for s in score_all(context_of(swapped)) if s.name == "adherence.chosen_order_only")
    assert score.passed is False and "not the chosen 000000105" in score.evidence
    assert rescore(accepted)["adherence.chosen_order_only"] is True  # naming their own order, as the persona does


def test_skipping_the_policys_first_offer_breaks_the_order_rule(declined):
    """An agent that makes the second and third offers but never the first (10% off) fails offers_in_order."""
    skipping = copy.deepcopy(declined)
    reply = skipping.turns[0].reply
    assert "1. 10% off this order" in reply
    skipping.turns[0].reply = reply.replace("1. 10% off this order\n", "")
    skipping.transcript[1].content = skipping.turns[0].reply
    score = next(s for s in score_all(context_of(skipping)) if s.name == "adherence.offers_in_order")
    assert score.passed is False and "skipping ['discount']" in score.evidence
    assert rescore(declined)["adherence.offers_in_order"] is True


def test_a_claim_is_checked_against_the_order_its_own_clause_names():
    from evals.reading.rules import read_with_rules

    claims = read_with_rules("Your other order #000000103 is unaffected, and I've cancelled order #000000102.").claims
    assert [(c.kind, c.order) for c in claims] == [("order_cancelled", "000000102")]


def test_a_second_offer_attempted_after_one_was_granted_is_a_breach_even_when_refused(accepted):
    from agent.store.trace import ToolCallRecord

    stacking = copy.deepcopy(accepted)
    granted = next(c for c in stacking.trace if c.tool == "set_discount_to_order" and c.ok)
    stacking.trace.append(ToolCallRecord(tool="upgrade_shipping", kind="write", args={"order_id": "000000101"},
                                         ok=False, result="{}", error_kind="rule", started_at=0, duration_ms=1,
                                         turn=granted.turn))  # fmt: skip
    score = next(s for s in score_all(context_of(stacking)) if s.name == "adherence.no_stacking")
    assert score.passed is False and "attempted a second offer (upgrade_shipping)" in score.evidence
    assert rescore(accepted)["adherence.no_stacking"] is True


def test_a_bare_cancelled_breaks_the_confirmation_the_policy_asks_for(declined):
    """The policy asks the chat to confirm the cancellation with the order number and the refund."""
    assert rescore(declined)["adherence.cancellation_confirmed_in_chat"] is True
    terse = copy.deepcopy(declined)
    turn = next(c.turn for c in terse.trace if c.tool == "cancel_order" and c.ok)
    terse.turns[turn - 1].reply = "Cancelled."
    terse.transcript[2 * turn - 1].content = "Cancelled."
    score = next(s for s in score_all(context_of(terse)) if s.name == "adherence.cancellation_confirmed_in_chat")
    assert score.passed is False and "the order number or the refund" in score.evidence


def test_saying_a_cancellable_order_has_shipped_is_a_false_refusal(declined):
    false = copy.deepcopy(declined)
    false.turns[0].reply = "Sorry, order 000000113 has already shipped, so it can't be cancelled."
    false.transcript[1].content = false.turns[0].reply
    score = next(s for s in score_all(context_of(false)) if s.name == "adherence.no_false_refusal")
    assert score.passed is False and "it is pending" in score.evidence
