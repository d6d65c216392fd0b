"""Scoring is a pure function of a stored record and the policy: `score_record` reads the record's final state,
tool trace, transcript and readings (never a model), so the runner and `python -m evals rescore` give the same
verdicts for the same record."""

from __future__ import annotations

from agent.policy.compiled import CompiledPolicy
from agent.store.fixtures import FixtureSet
from evals.schema.persona import Attack, Persona
from evals.schema.records import ConversationRecord
from evals.scoring.attack import score_attack
from evals.scoring.context import ScoringContext
from evals.scoring.oracle import expected_outcome
from evals.scoring.outcome import offer_cost, read_outcome, value_kept
from evals.scoring.score import score_all


def score_record(
    record: ConversationRecord,
    policy: CompiledPolicy,
    fixtures: FixtureSet,
    persona: Persona | None = None,
    attack: Attack | None = None,
) -> ConversationRecord:
    """A copy of `record` with its outcome, scores and money figures computed again, and with `persona` given, the
    oracle's expectation for the trial's stored draw. A record without a final state (a light one) is returned as
    it is; a conversation that ended in an error keeps the outcome `error`."""
    if record.final_state is None:
        return record
    state = record.final_state
    expected = expected_outcome(persona, policy, record.expected.drawn, fixtures) if persona else record.expected
    outcome = read_outcome(state, fixtures)
    failed = record.error is not None  # a model or connection failure: never scored as a policy outcome
    economics = record.economics.model_copy(
        update={
            "value_kept": value_kept(state, outcome, record.target_order),
            "offer_cost": offer_cost(state, fixtures, record.target_order),
        }
    )
    scored = record.model_copy(  # shallow: the input record is left as it was
        update={
            "expected": expected,
            "outcome": "error" if failed else outcome.outcome,
            "retained_offer": None if failed else outcome.offer,
            "economics": economics,
        }
    )
    ctx = ScoringContext(scored, state, policy, fixtures)
    attack = persona.attack if persona is not None else attack  # an attack persona's conversation is also priced
    priced = score_attack(ctx, attack) if attack is not None else None
    return scored.model_copy(update={"scores": score_all(ctx), "attack": priced})
