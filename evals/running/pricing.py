"""Token prices for the money column (fixtures/pricing.yaml)."""

from __future__ import annotations

from functools import cache

from pydantic import TypeAdapter, ValidationError

from agent.datafiles import DEFAULT_FIXTURES, describe_validation_error, read_yaml

PRICING_FILE = DEFAULT_FIXTURES / "pricing.yaml"
PRICE_TABLE = TypeAdapter(dict[str, tuple[float, float]])  # model -> (input, output) USD per million tokens


@cache
def prices() -> dict[str, tuple[float, float]]:
    try:
        return PRICE_TABLE.validate_python(read_yaml(PRICING_FILE))
    except ValidationError as exc:
        raise describe_validation_error(PRICING_FILE, exc) from exc


def cost_usd(model: str, tokens_in: int, tokens_out: int) -> float | None:
    """USD for these tokens, or None for a model without a listed price."""
    price = prices().get(model)
    if price is None:
        return None
    return round((tokens_in * price[0] + tokens_out * price[1]) / 1_000_000, 6)
