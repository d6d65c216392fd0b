"""Token prices for the money column (fixtures/pricing.yaml)."""

from __future__ import annotations

from functools import cache

import yaml

from agent.fixtures import DEFAULT_FIXTURES

PRICING_FILE = DEFAULT_FIXTURES / "pricing.yaml"


@cache
def prices() -> dict[str, tuple[float, float]]:
    data = yaml.safe_load(PRICING_FILE.read_text(encoding="utf-8")) or {}
    return {model: (float(p[0]), float(p[1])) for model, p in data.items()}


def cost_usd(model: str, tokens_in: int, tokens_out: int) -> float | None:
    """USD for these tokens, or None for a model without a listed price."""
    price = prices().get(model)
    if price is None:
        return None
    return round((tokens_in * price[0] + tokens_out * price[1]) / 1_000_000, 6)
