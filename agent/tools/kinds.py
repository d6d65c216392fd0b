"""The retention offer kinds. Which tool applies (or looks up) each kind is declared on the tool itself
(`agent.tools.toolkit`), so this enum and those declarations are the only source of that table."""

from __future__ import annotations

from enum import StrEnum


class OfferKind(StrEnum):
    DISCOUNT = "discount"
    SHIPPING_UPGRADE = "shipping_upgrade"
    SWAP = "swap"
    FUTURE_COUPON = "future_coupon"
