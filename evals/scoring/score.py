"""Score one conversation: the outcome, the expected outcome, and every adherence rule its policy states.

Importing this module registers every scorer (`scorers`, `policy_rules`, `plan_rules`, `conduct_rules`); the
registry keeps their order.
"""

from __future__ import annotations

from evals.schema.records import Score
from evals.scoring import conduct_rules, plan_rules, policy_rules, scorers  # noqa: F401  (each registers its scorers)
from evals.scoring.context import SCORERS, ScoringContext
from evals.scoring.policy_rules import stated_rules


def score_all(ctx: ScoringContext) -> list[Score]:
    """Every scorer that applies to this policy; an adherence rule the policy does not state is not scored."""
    stated = stated_rules(ctx.policy)
    scores = []
    for name, check in SCORERS:
        if name.startswith("adherence.") and name not in stated:
            continue
        score = check(ctx)
        if name in stated:
            score.where = stated[name].where
        scores.append(score)
    return scores


def adherence_rules() -> list[str]:
    """Every adherence rule any policy can state, in registry order (the columns of reports)."""
    return [name for name in SCORERS.names() if name.startswith("adherence.")]
