"""The explicit offer plan a policy may carry in its front matter (`plan:`), as the user writes and confirms it.

When present it is the one source of the offers, their order, numbers and conditions, the pacing, stacking,
exclusions and hand-over: the offline model, the oracle, the scorers and the store read it (through
`CompiledPolicy.offer_plan`); the prose stays what a real model reads, and lint checks the two against each other.
Without it, a plan is drafted from the prose (`agent.policy.offers`) and `python -m agent plan FILE` prints that draft
in this same form, ready to paste.

    plan:
      pacing: one_at_a_time          # or together (the default)
      stacking: false
      offers:                        # in the order they are made; `priority` (lower first) overrides it
        - kind: discount             # discount | shipping_upgrade | swap | future_coupon
          percent: 10                # offered first
          max_percent: 15            # the most it may reach when the customer asks for more
          tiers:                     # or: the percent by the order's grand total
            - {below: 100, percent: 5}
            - {from: 100, percent: 10}
          when:
            order_status: [unshipped]   # unshipped | shipped | on_hold
            order_total: {from: 50}
            customer_group: [VIP]       # Magento customer group codes (fixtures/magento/customer_groups.json)
            customer_request: first     # first | repeat (the store holds an earlier cancelled order of theirs)
            days_as_customer: {from: 365}   # from the account's creation to the customer's newest order
            after: [refusal]            # only once the customer refused an offer | raised a concern
          line: 23                   # the policy line it comes from (drafts fill it in)
      excluded: [swap]
      handover:
        when: [concern, request]     # a concern about an offer; a request for a person
      confirmations: [send_async_message]
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from agent.tools.kinds import OfferKind

StatusGroup = Literal["unshipped", "shipped", "on_hold"]
ConversationEvent = Literal["refusal", "concern"]  # the customer refused an offer; raised a concern about one
Percent = float


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class TotalRange(_Spec):
    """A range of numbers (an order's grand total, a customer's days): at least `from`, below `below` (either may
    be left out)."""

    from_: float | None = Field(default=None, alias="from", ge=0)
    below: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> TotalRange:
        if self.from_ is not None and self.below is not None and self.below <= self.from_:
            raise ValueError(f"'below' ({self.below:g}) must be above 'from' ({self.from_:g})")
        return self

    def holds(self, total: float) -> bool:
        return (self.from_ is None or total >= self.from_) and (self.below is None or total < self.below)


class Tier(TotalRange):
    percent: Percent = Field(ge=0, le=100)


class OfferConditionsSpec(_Spec):
    """When an offer is made: on which orders, for which customers, at which point of the conversation."""

    order_status: list[StatusGroup] | None = Field(default=None, min_length=1)
    order_total: TotalRange | None = None
    customer_group: list[str] | None = Field(default=None, min_length=1)
    customer_request: Literal["first", "repeat"] | None = None
    days_as_customer: TotalRange | None = None
    after: list[ConversationEvent] | None = Field(default=None, min_length=1)


class OfferSpec(_Spec):
    kind: OfferKind
    percent: Percent | None = Field(default=None, ge=0, le=100)
    max_percent: Percent | None = Field(default=None, ge=0, le=100)
    tiers: list[Tier] | None = Field(default=None, min_length=1)
    priority: int | None = None
    when: OfferConditionsSpec | None = None
    line: int | None = Field(default=None, ge=1, description="the policy line the offer comes from")

    @model_validator(mode="after")
    def _numbers_fit(self) -> OfferSpec:
        if self.percent is not None and self.max_percent is not None and self.max_percent < self.percent:
            raise ValueError(f"max_percent ({self.max_percent:g}) is below percent ({self.percent:g})")
        if self.tiers and self.percent is not None:
            raise ValueError("give either percent or tiers, not both")
        numbered = self.percent is not None or self.max_percent is not None or self.tiers
        if self.kind in (OfferKind.SHIPPING_UPGRADE, OfferKind.SWAP) and numbered:
            raise ValueError(f"a {self.kind.value} has no percent; remove percent, max_percent and tiers")
        return self


class HandoverSpec(_Spec):
    when: list[Literal["concern", "request"]] = Field(default=["concern", "request"], min_length=1)
    line: int | None = Field(default=None, ge=1)


class PlanSpec(_Spec):
    pacing: Literal["together", "one_at_a_time"] = "together"
    stacking: bool = False
    offers: list[OfferSpec] = Field(default_factory=list)
    excluded: list[OfferKind] = Field(default_factory=list)
    handover: HandoverSpec | None = None
    confirmations: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_offer_per_kind(self) -> PlanSpec:
        kinds = [o.kind for o in self.offers]
        twice = sorted({k.value for k in kinds if kinds.count(k) > 1})
        if twice:
            raise ValueError(f"each kind once: {', '.join(twice)} is listed more than once (use tiers or conditions)")
        both = sorted({k.value for k in kinds} & {k.value for k in self.excluded})
        if both:
            raise ValueError(f"{', '.join(both)} is both offered and excluded")
        return self

    def ordered_offers(self) -> list[OfferSpec]:
        """The offers in the order they are made: by priority (lower first) when given, else as listed."""
        ranked = sorted(enumerate(self.offers), key=lambda p: (p[1].priority is None, p[1].priority or 0, p[0]))
        return [offer for _, offer in ranked]
