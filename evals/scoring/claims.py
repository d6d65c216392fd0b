"""Claims an agent reply makes about the world (`fixtures/scoring/claims.yaml`), checked against the end state."""

from __future__ import annotations

import re
from functools import cache

from agent.datafiles import DEFAULT_FIXTURES, read_yaml
from agent.errors import InputFileError
from agent.store.fixtures import FixtureSet
from agent.store.world import WorldSnapshot

CLAIMS_FILE = DEFAULT_FIXTURES / "scoring" / "claims.yaml"


@cache
def claim_rules() -> list[tuple[str, re.Pattern[str], str]]:
    data = read_yaml(CLAIMS_FILE)
    try:
        return [(c["name"], re.compile(c["pattern"], re.IGNORECASE), c["check"]) for c in data["claims"]]
    except (KeyError, TypeError, re.error) as exc:
        raise InputFileError(
            CLAIMS_FILE, "claims", f"cannot be read ({exc})", "each claim needs name, pattern (a regex) and check"
        ) from exc


def claim_holds(check: str, match: re.Match[str], state: WorldSnapshot, fixtures: FixtureSet) -> bool:
    """Whether the end state backs up one claim."""
    orders = state.orders
    initial = {o.increment_id: fixtures.orders[o.increment_id] for o in orders}
    if check == "order_cancelled":
        return any(o.increment_id == match.group(1) and o.status == "canceled" for o in orders)
    if check == "discount_applied":
        return any(o.discount_percent == float(match.group(1)) for o in orders)
    if check == "shipping_upgraded":
        return any(o.shipping_method != initial[o.increment_id].shipping_method for o in orders)
    if check == "item_swapped":
        return any([i.sku for i in o.items] != [i.sku for i in initial[o.increment_id].items] for o in orders)
    if check == "coupon_exists":
        return any(c.code.lower() == match.group(1).lower() for c in state.coupons)
    if check == "ticket_assigned":
        return bool(state.ticket.assignee_team)
    if check == "async_sent":
        return any(m.is_async for m in state.ticket.messages)
    raise ValueError(f"{CLAIMS_FILE}: unknown check '{check}'")
