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


def conversation_cost(
    agent_model: str, tokens_in: int, tokens_out: int, helper_tokens: dict[str, list[int]]
) -> float | None:
    """USD for every model call of a conversation: the agent's, and the reader's, judge's and customer voice's when
    they are models (`helper_tokens`: model -> [input, output]); None when one of them has no listed price."""
    parts = [cost_usd(agent_model, tokens_in, tokens_out)]
    parts += [cost_usd(model, used[0], used[1]) for model, used in helper_tokens.items()]
    if any(part is None for part in parts):
        return None
    return round(sum(part or 0.0 for part in parts), 6)
