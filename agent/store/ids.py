"""Order numbers: the one place that knows their form (Magento's 9-digit increment id)."""

from __future__ import annotations

from agent.errors import NotFound

ORDER_ID_DIGITS = 9


def normalize_order_id(raw: str | int) -> str:
    """Accept `101`, `#113`, `#000000101` or `000000101` and return Magento's 9-digit increment id."""
    digits = "".join(ch for ch in str(raw) if ch.isdigit())
    if not digits or len(digits) > ORDER_ID_DIGITS:
        raise NotFound(f"'{raw}' is not an order number; order numbers look like 000000101")
    return digits.zfill(ORDER_ID_DIGITS)


def same_order(a: str | int, b: str | int) -> bool:
    """True when two ways of writing an order number name the same order."""
    try:
        return normalize_order_id(a) == normalize_order_id(b)
    except NotFound:
        return False
