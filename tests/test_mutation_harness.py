"""The scorers against the misbehaving agent double (testing/misbehaving_agent.py): every shipped policy, every
persona, each violation class injected once per conversation at its first chance, replies in six styles. Each class
must be caught by the rule that exists for it, and no rule may raise false alarms on clean conversations."""

from __future__ import annotations

import pytest

from testing.misbehaving_agent import MISTAKES, STYLES, restyle
from testing.mutation_harness import measure
from tests.conftest import ROOT

POLICIES = sorted((ROOT / "policies").glob("*.md"))


@pytest.fixture(scope="module")
def measured():
    return measure(POLICIES)


@pytest.mark.slow
def test_every_injected_mistake_is_made_and_caught_by_its_own_rule(measured):
    tallies, _, _ = measured
    for tally in tallies:
        assert tally.made > 0, f"{tally.mistake}: never injected, so never measured"
        assert tally.caught >= 0.98 * tally.made, f"{tally.mistake}: missed in {tally.misses}"


@pytest.mark.slow
def test_no_rule_raises_false_alarms_on_clean_conversations_in_any_style(measured):
    _, clean, styles = measured
    assert set(styles) == set(STYLES)
    for rule in clean:
        assert rule.false_alarms <= 0.02 * rule.scored, f"{rule.rule}: {rule.alarms}"
    assert {r.rule for r in clean} >= {rule for _, rules in MISTAKES.values() for rule in rules[:1]}


def test_styles_lay_out_the_same_offers_differently():
    text = "Before I cancel order 000000101:\n\n1. 10% off this order\n2. a free upgrade\n\nWould any work?"
    laid_out = {style: restyle(text, style) for style in STYLES}
    assert len(set(laid_out.values())) == len(STYLES)
    assert all("10% off this order" in t and "a free upgrade" in t for t in laid_out.values())
    assert "| 1 | 10% off this order |" in laid_out["table"]
    assert "10% off this order, or a free upgrade" in laid_out["prose"]
