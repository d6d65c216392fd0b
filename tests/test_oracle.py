"""The oracle derives each persona's expected outcome from its contract and the policy's offer plan."""

from __future__ import annotations

import pytest

from agent.policy.compiled import compile_policy_file, compile_policy_text
from agent.store.fixtures import default_fixtures
from evals.personas.loader import load_personas
from evals.personas.simulator import PersonaSimulator
from evals.running.config import RunConfig, trial_seed
from evals.running.runner import execute_run
from evals.scoring.oracle import expected_outcome
from tests.conftest import POLICIES, prose_only

SHIPPED = ["retention_offers", "retention_offers_lean", "retention_offers_shipping_first", "cancel_without_retention"]


def test_pinned_expectations_agree_with_the_oracle():
    fixtures = default_fixtures()
    for persona in load_personas():
        for pin in persona.pinned:
            policy = compile_policy_file(POLICIES / f"{pin.policy}.md")
            for trial in range(10):
                accepts = PersonaSimulator(persona, trial_seed(0, persona.id, trial)).accepts
                got = expected_outcome(persona, policy, accepts, fixtures)
                want = pin.otherwise if pin.offer and pin.otherwise and not accepts.get(pin.offer) else pin.outcome
                assert got.outcome == want, (persona.id, trial, got.why)


@pytest.mark.parametrize("policy", SHIPPED)
def test_every_shipped_policy_gets_every_persona_its_expected_outcome(policy, tmp_path):
    records = execute_run(
        RunConfig(policies=[POLICIES / f"{policy}.md"], trials=2, out=tmp_path / "r", cache_path=None)
    )
    wrong = [(r.key, r.outcome, r.expected.outcome, r.expected.why) for r in records if not r.correct]
    assert wrong == []


def test_a_policy_without_the_swap_does_not_expect_a_swap():
    text = prose_only((POLICIES / "retention_offers.md").read_text(encoding="utf-8"))
    swap_line = next(line for line in text.splitlines() if "@swap_order_item" in line)
    policy = compile_policy_text(text.replace(swap_line + "\n", ""), POLICIES / "no_swap.md")
    persona = next(p for p in load_personas() if p.id == "wants_a_swap")
    got = expected_outcome(persona, policy, {"swap": True}, default_fixtures())
    assert (got.outcome, got.offer) == ("cancelled", None) and "refuses" in got.why


def test_the_control_policy_expects_a_cancellation_and_says_why():
    persona = next(p for p in load_personas() if p.id == "discount_at_once")
    got = expected_outcome(
        persona, compile_policy_file(POLICIES / "cancel_without_retention.md"), {}, default_fixtures()
    )
    assert got.outcome == "cancelled" and "no offer" in got.why
