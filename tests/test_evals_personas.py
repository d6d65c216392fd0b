from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from agent.errors import InputFileError
from agent.store.fixtures import default_fixtures
from agent.store.trace import ToolCallRecord
from evals.personas.loader import load_persona, load_personas
from evals.personas.simulator import PersonaSimulator
from evals.reading.rules import read_with_rules
from tests.conftest import ROOT

REQUIRED_BEHAVIOURS = {
    "discount_at_once",
    "holds_out_for_more",
    "takes_shipping_upgrade",
    "wants_a_swap",
    "takes_future_coupon",
    "declines_everything",
    "insists_from_the_start",
    "shipped_order",
    "picks_from_several_orders",
    "concern_about_offer",
    "asks_for_a_human",
    "wants_everything_free",
    "someone_elses_order",
    "off_topic_first",
}


def test_all_personas_load_and_cover_the_required_behaviours():
    personas = load_personas(fixtures=default_fixtures())
    assert len(personas) >= 14
    assert {p.id for p in personas} >= REQUIRED_BEHAVIOURS


def write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "broken.yaml"
    path.write_text(body, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "body,needle",
    [
        ("id: broken\ntitle: t\n", "broken.yaml: customer_id: Field required (add this field)"),
        (
            "id: broken\ntitle: t\ncustomer_id: 1\norders: ['000000101']\nreason: r\nopening: [hi]\n"
            "offers: {discount: {accept: 1.5}}\n",
            "offers.discount.accept",
        ),
        (
            "id: broken\ntitle: t\ncustomer_id: 1\norders: ['000000105']\nreason: r\nopening: [hi]\n",
            "orders: 000000105 is not an order of customer 1",
        ),
        (
            "id: other\ntitle: t\ncustomer_id: 1\norders: ['000000101']\nreason: r\nopening: [hi]\n",
            "id: 'other' differs from the file name",
        ),
        ("id: broken\n  title: [\n", "is not valid YAML"),
    ],
)
def test_broken_persona_gets_a_one_line_error(tmp_path, body, needle):
    with pytest.raises(InputFileError) as info:
        load_persona(write(tmp_path, body), default_fixtures())
    assert needle in str(info.value) and "\n" not in str(info.value)


def test_cli_reports_a_broken_persona_without_traceback(tmp_path):
    write(tmp_path, "id: broken\ntitle: t\n")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "evals",
            "run",
            "--policy",
            "policies/retention_offers.md",
            "--personas",
            str(tmp_path),
            "--out",
            str(tmp_path / "out"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2 and "customer_id: Field required" in result.stderr
    assert "Traceback" not in result.stderr


def test_reading_offers_from_agent_text():
    text = (
        "Before I cancel, here is what I can do:\n1. 10% off this order\n2. a free upgrade to expedited shipping\n"
        "3. swap the Jacket for the Pro Jacket at no extra cost\n4. a 20% coupon for your next order\nInterested?"
    )
    offers = read_with_rules(text).offers
    assert [(o.kind, o.percent) for o in offers] == [
        ("discount", 10),
        ("shipping_upgrade", None),
        ("swap", None),
        ("future_coupon", 20),
    ]
    assert read_with_rules("Order 000000113 is cancelled.").offers == []


def test_probabilistic_choices_depend_only_on_the_seed():
    persona = next(p for p in load_personas() if p.id == "picks_from_several_orders")
    draws = {seed: PersonaSimulator(persona, seed).accepts["shipping_upgrade"] for seed in range(40)}
    assert draws == {seed: PersonaSimulator(persona, seed).accepts["shipping_upgrade"] for seed in range(40)}
    assert 8 <= sum(draws.values()) <= 32
    refused = next(seed for seed, took in draws.items() if not took)
    from agent.policy.compiled import compile_policy_file
    from evals.scoring.oracle import expected_outcome
    from tests.conftest import POLICIES

    policy = compile_policy_file(POLICIES / "retention_offers.md")
    accepts = PersonaSimulator(persona, refused).accepts
    assert expected_outcome(persona, policy, accepts, default_fixtures()).outcome == "cancelled"


def test_simulator_haggles_then_accepts_the_higher_discount():
    persona = next(p for p in load_personas() if p.id == "holds_out_for_more")
    sim = PersonaSimulator(persona, 1)
    sim.first_message()
    haggle = sim.next_message("Here is what I can do:\n1. 10% off this order\n2. a 20% coupon for your next order", [])
    assert "15%" in haggle and sim.events[-1].kind == "haggle"
    accept = sim.next_message("I'm sorry, the most I can take off this order is 15%. Would you like that?", [])
    assert sim.events[-1].kind == "accept" and sim.events[-1].percent == 15 and accept


def test_simulator_stops_on_resolution_and_on_a_stuck_agent():
    persona = next(p for p in load_personas() if p.id == "declines_everything")
    sim = PersonaSimulator(persona, 0)
    sim.first_message()
    cancelled = ToolCallRecord(
        tool="cancel_order", kind="write", args={}, ok=True, result="{}", started_at=0, duration_ms=1, turn=1
    )
    assert sim.next_message("done", [cancelled]) is None
    assert sim.stop_reason == "resolved"
    stuck = PersonaSimulator(persona, 0)
    stuck.first_message()
    replies = [stuck.next_message("Hello! How can I help?", []) for _ in range(3)]
    assert replies[-1] is None and stuck.stop_reason == "stuck"


@pytest.mark.parametrize(
    "refusal",
    [
        "I can't help with order #000000105 — it doesn't belong to your account. Your own order is #000000121; would "
        "you like me to look at that one instead?",
        "Sorry, order 000000105 isn't yours, so I can't touch it.",
        "That order belongs to another customer, so I'm not able to cancel it.",
    ],
)
def test_a_customer_told_the_order_is_not_theirs_gives_up_instead_of_asking_for_their_own(refusal):
    """Issue 25: the simulated customer read past "it doesn't belong to your account" and asked again with its own
    order, which a correct agent then cancelled; told the order is not theirs, it stops."""
    persona = next(p for p in load_personas() if p.id == "someone_elses_order")
    sim = PersonaSimulator(persona, 0)
    sim.first_message()
    sim.next_message(refusal, [])
    assert sim.stop_reason == "gave_up" and [e.kind for e in sim.events] == ["opening", "give_up"]
