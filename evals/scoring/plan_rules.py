"""Rules that a conditional plan states: an offer the plan makes only on some orders (their state, their total, a
tier) or for some customers (their group, a first or repeat request, their tenure) is made and applied only there, at
no more than the percent the plan allows; an offer the plan makes only after a refusal or a concern is not made
before the customer refused or raised one."""

from __future__ import annotations

from agent.store.customer_facts import customer_facts
from evals.schema.records import Score
from evals.scoring.context import ScoringContext, not_applicable, scorer, verdict

NAME = "adherence.offers_fit_the_order"
EVENTS = {"refusal": ("decline", "insist"), "concern": ("concern",)}  # the plan's `after`, as simulator events


@scorer(NAME)
def offers_fit_the_order(ctx: ScoringContext) -> Score:
    target = ctx.fixtures.orders.get(ctx.record.target_order)
    if target is None:
        return not_applicable(NAME, f"order {ctx.record.target_order} is not in the store")
    status, total = target.status, target.grand_total
    customer = customer_facts(ctx.fixtures, target.customer_id)
    wrong = []
    for turn in range(1, len(ctx.record.turns) + 1):
        for offer in ctx.reading(turn).offers:
            option = ctx.plan.get(offer.kind)
            if option is not None and not option.applies_to(status, total, customer):
                wrong.append(f"turn {turn}: offered {offer.kind} on order {target.increment_id} ({status}, "
                             f"{total:.2f}, {customer.group} customer); the policy makes it only "
                             f"{option.describe_conditions()}")  # fmt: skip
            elif option is not None and option.after and not _happened(ctx, option.after, turn):
                wrong.append(f"turn {turn}: offered {offer.kind} before the customer's "
                             f"{' or '.join(option.after)}; the policy makes it only after one")  # fmt: skip
    option = ctx.plan.get("discount")
    top = option.top_percent_for(total) if option is not None else None
    for call in ctx.calls:
        percent = call.args.get("percent")
        too_much = isinstance(percent, int | float) and top is not None and percent > top
        if call.tool == "set_discount_to_order" and too_much:
            wrong.append(f"turn {call.turn}: tried {percent:g}% off; the plan allows {top:g}% on this order")
    if wrong:
        return verdict(NAME, False, wrong[0])
    if not any(ctx.reading(n).offers for n in range(1, len(ctx.record.turns) + 1)):
        return not_applicable(NAME, "no offer was made")
    return verdict(NAME, True, f"every offer fits order {target.increment_id} ({status}, {total:.2f})")


def _happened(ctx: ScoringContext, after: tuple[str, ...], turn: int) -> bool:
    """Whether the customer refused an offer or raised a concern (as `after` asks) by `turn`'s message."""
    kinds = [kind for event in after for kind in EVENTS.get(event, ())]
    return any(e.turn <= turn for e in ctx.events(*kinds))
