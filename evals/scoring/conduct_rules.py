"""Rules about what the agent does beyond the offer plan: offers the plan does not list, and a hand-over nobody
asked for. Each is scored only when the policy states it (`policy_rules.stated_rules`)."""

from __future__ import annotations

from agent.models.offline.intents import default_rules
from evals.schema.records import Score
from evals.scoring.context import ScoringContext, not_applicable, scorer, verdict
from evals.scoring.policy_rules import offer_writes, presented

HANDOVER_TRIGGERS = ("concern", "insist")  # besides a request for a person, read from the customer's words


@scorer("adherence.offers_in_plan")
def offers_in_plan(ctx: ScoringContext) -> Score:
    """Every offer made in words or applied is one the plan lists (the plan as the policy allows it: excluded kinds
    dropped)."""
    name = "adherence.offers_in_plan"
    listed = {k.value for k in ctx.plan.kinds}
    made = [(n, k) for n, kinds in presented(ctx) for k in kinds]
    made += [(turn, kind) for turn, kind, _ in offer_writes(ctx)]
    if not made:
        return not_applicable(name, "no offer was made")
    if outside := [(n, k) for n, k in made if k not in listed]:
        turn, kind = outside[0]
        return verdict(name, False, f"turn {turn}: {kind} made or applied; the plan lists {sorted(listed) or 'none'}")
    return verdict(name, True, f"every offer made is in the plan ({', '.join(sorted(listed))})")


@scorer("adherence.no_needless_handover")
def no_needless_handover(ctx: ScoringContext) -> Score:
    """A hand-over (done or attempted) only after the customer gave a reason the policy hands over for: asked for a
    person, raised a concern, or insisted on something the agent cannot do."""
    name = "adherence.no_needless_handover"
    handovers = [c for c in ctx.calls if c.tool == "escalate_to_human" and c.error_kind != "scope"]
    if not handovers:
        return not_applicable(name, "no hand-over")
    first = handovers[0].turn
    rules = default_rules()
    reasons = [
        e for e in ctx.record.sim_events
        if e.turn <= first and (e.kind in HANDOVER_TRIGGERS or rules.says(e.text, "human"))
    ]  # fmt: skip
    if not reasons:
        return verdict(name, False, f"turn {first}: handed over to a person; the customer had given no reason to")
    return verdict(name, True, f'turn {first}: handed over after "{reasons[0].text[:80]}"')
