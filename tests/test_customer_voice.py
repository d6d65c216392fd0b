"""LLM-voiced personas: the contract decides, a model words it; a message that says something else is written
again once, then replaced by the scripted line and counted as a deviation."""

from __future__ import annotations

import itertools

from langchain_core.messages import BaseMessage

from agent.store.fixtures import default_fixtures
from evals.personas.voice import CustomerVoice, Decision, says
from evals.reading.rules import RulesReader
from evals.running.config import RunConfig
from evals.running.helpers import RunHelpers
from evals.running.play import build_model, run_conversation
from evals.running.runner import plan_jobs
from testing.scripted_model import ScriptedChatModel
from tests.conftest import POLICIES

CONTRARY = "Actually yes, I'll take the 10% discount, thanks!"


def example_of(messages: list[BaseMessage]) -> str:
    """The meaning the prompt asks for (the scripted line it quotes), as a compliant model would word it."""
    system = str(messages[0].content)
    return system.split('For example (the meaning to keep, not the words to copy): "', 1)[1].split('"\n', 1)[0]


def play(persona: str, voice: CustomerVoice | None, trial_seed_index: int = 0):
    config = RunConfig(policies=[POLICIES / "retention_offers.md"], persona_ids=[persona], trials=2, cache_path=None)
    fixtures = default_fixtures()
    jobs, _, _ = plan_jobs(config, fixtures)
    return run_conversation(jobs[trial_seed_index], config, fixtures, build_model(config.model, None), None,
                            RunHelpers(RulesReader(), voice=voice))  # fmt: skip


def test_the_checker_reads_whether_a_message_says_what_was_decided():
    assert says(Decision("accept", "", offer="discount"), "ok, the discount please")
    assert not says(Decision("accept", "", offer="discount"), "no thanks, I just want to cancel")
    assert says(Decision("decline", ""), "none of those work for me")
    assert not says(Decision("decline", ""), CONTRARY)
    assert says(Decision("insist", ""), "please just cancel it")
    assert says(Decision("pick_order", "", order="000000101"), "it's #101, the shoes")
    assert not says(Decision("pick_order", "", order="000000101"), "the other one")
    # the agent's own words sent back (a 1.5B model did this) say nothing for the customer
    agent = (
        "I understand that you want to cancel your order 000000114. The order is currently in the processing status."
    )
    assert says(Decision("repeat_request", "", order="000000114"), "I want to cancel my order 000000114.", agent)
    assert not says(Decision("repeat_request", "", order="000000114"), agent, agent)


def test_a_contrary_customer_model_is_caught_regenerated_or_replaced_and_counted():
    calls = itertools.count()

    def sometimes_contrary(messages: list[BaseMessage]) -> str:
        n = next(calls)
        if n % 3 == 0:
            return CONTRARY  # says yes to an offer whatever was decided
        if n % 3 == 1 and "retry" not in str(messages[-1].content).lower():
            return ""  # an empty answer is never what was decided
        return example_of(messages) + " :)"

    voice = CustomerVoice(ScriptedChatModel(responder=sometimes_contrary), "scripted")
    voiced = play("declines_everything", voice)
    scripted = play("declines_everything", None)
    counts = voiced.customer_voice
    assert counts.get("regenerated", 0) + counts.get("deviation", 0) >= 1, counts
    assert sum(counts.values()) == len(voiced.sim_events)
    # the contract held: the same decisions, the same outcome as the scripted customer
    assert [e.kind for e in voiced.sim_events] == [e.kind for e in scripted.sim_events]
    assert voiced.outcome == scripted.outcome == "cancelled"
    assert all(e.text != CONTRARY for e in voiced.sim_events)


def test_a_customer_model_that_always_contradicts_is_replaced_by_the_script_every_time():
    voice = CustomerVoice(ScriptedChatModel(responder=lambda m: CONTRARY), "scripted")
    voiced = play("declines_everything", voice)
    scripted = play("declines_everything", None)
    decisions = [e for e in voiced.sim_events if e.kind in ("decline", "insist")]
    assert decisions and all(e.voiced == "deviation" for e in decisions)
    assert [e.text for e in decisions] == [e.text for e in scripted.sim_events if e.kind in ("decline", "insist")]
    assert voiced.outcome == scripted.outcome


def test_a_faithful_customer_model_words_every_message_and_the_outcome_holds():
    voice = CustomerVoice(ScriptedChatModel(responder=lambda m: "Well... " + example_of(m)), "scripted")
    voiced = play("discount_at_once", voice)
    scripted = play("discount_at_once", None)
    assert voiced.customer_voice == {"model": len(voiced.sim_events)}
    assert all(e.text.startswith("Well... ") for e in voiced.sim_events)
    assert (voiced.outcome, voiced.retained_offer) == (scripted.outcome, scripted.retained_offer)


def test_the_customer_voice_tokens_are_priced_with_the_conversation():
    """A model voicing the customer costs money: its tokens are kept by model and priced into the conversation's cost
    (the offline agent costs nothing), so --max-cost counts them."""
    from evals.running.pricing import cost_usd

    model = ScriptedChatModel(responder=example_of, usage=(1000, 100))
    record = play("discount_at_once", CustomerVoice(model, "openai:gpt-4o-mini"))
    calls = len(model.prompts)
    assert calls >= len(record.sim_events) > 0
    assert record.economics.helper_tokens == {"openai:gpt-4o-mini": [1000 * calls, 100 * calls]}
    assert record.economics.cost_usd == cost_usd("openai:gpt-4o-mini", 1000 * calls, 100 * calls) > 0
