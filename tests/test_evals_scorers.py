"""Every scorer passes on a good conversation and fails on a hand-broken copy of it."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from agent.policy.compiled import compile_policy_file
from agent.store.fixtures import default_fixtures
from evals.personas.schema import ExpectedOutcome
from evals.running.config import RunConfig
from evals.running.records import ConversationRecord
from evals.running.runner import build_model, plan_jobs, run_conversation
from evals.scoring.scorers import ScoringContext, score_all
from tests.conftest import POLICIES

RETENTION = POLICIES / "retention_offers.md"


def play(persona: str, policy: Path = RETENTION) -> ConversationRecord:
    config = RunConfig(policies=[policy], persona_ids=[persona], trials=1, cache_path=None, seed=3)
    jobs, _, _ = plan_jobs(config, default_fixtures())
    return run_conversation(jobs[0], config, default_fixtures(), build_model(config, None), None)


def rescore(record: ConversationRecord, policy: Path = RETENTION) -> dict[str, object]:
    compiled = compile_policy_file(policy)
    assert record.final_state is not None
    ctx = ScoringContext(
        record, record.final_state, compiled.offer_plan, compiled.max_discount_percent, default_fixtures()
    )
    return {s.name: s.passed for s in score_all(ctx)}


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
        assert all(v is not False for v in rescore(record).values()), record.key


def test_cancelling_without_offering_fails_offered_first():
    record = play("declines_everything", POLICIES / "cancel_without_retention.md")
    assert rescore(record, POLICIES / "cancel_without_retention.md")["adherence.offered_before_cancel"] is None
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
