"""The offer plan: which offers, in which order, on which orders, with which numbers; exclusions, limits, pacing,
stacking and hand-over, each with the policy line that says it. Drafted from the prose (`agent.policy.offers`) or
taken from the front matter's explicit `plan:` (`agent.policy.plan_spec`, turned into this by `plan_from_spec`)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

from agent.policy.plan_spec import PlanSpec, Tier, TotalRange
from agent.store.customer_facts import CustomerFacts
from agent.store.domain import STATUS_GROUPS
from agent.tools.kinds import OfferKind

Pacing = Literal["together", "one_at_a_time"]


@dataclass(frozen=True)
class PolicyLine:
    """Where the policy says something: file name, line, and the words."""

    source: str
    line: int
    text: str

    @property
    def where(self) -> str:
        return f"{self.source}:{self.line}"


@dataclass(frozen=True)
class OfferOption:
    kind: OfferKind
    tools: tuple[str, ...]
    percents: tuple[float, ...]
    source: str  # the policy file the offer is written in
    line: int
    text: str
    statuses: tuple[str, ...] = ()  # the Magento statuses of the orders it is for; () = any
    total: TotalRange | None = None  # the grand totals of the orders it is for; None = any
    tiers: tuple[Tier, ...] = ()  # the percent by the order's grand total, instead of `percents`
    ceiling: float | None = None  # an explicit plan's max_percent (a drafted plan keeps it among `percents`)
    groups: tuple[str, ...] = ()  # the customer groups it is for (codes, any case); () = any
    request: str | None = None  # "first" | "repeat": a customer with no earlier cancelled order, or with one
    tenure: TotalRange | None = None  # the customer's days as a customer when they ordered; None = any
    after: tuple[str, ...] = ()  # made only once the customer refused an offer ("refusal") / raised a concern

    @property
    def first_percent(self) -> float | None:
        return min(self.percents) if self.percents else None

    @property
    def top_percent(self) -> float | None:
        return max(self.percents) if self.percents else None

    @property
    def conditional(self) -> bool:
        """Whether it is made only on some orders (their state, their total, a tier)."""
        return bool(self.statuses or self.total or self.tiers)

    @property
    def asks_about_customer(self) -> bool:
        """Whether it is made only for some customers (their group, a first or repeat request, their tenure)."""
        return bool(self.groups or self.request or self.tenure)

    def applies_to(self, status: str, total: float, customer: CustomerFacts | None = None) -> bool:
        """Whether the policy makes this offer on an order in `status` with this grand total, for this customer (a
        tiered offer applies only where a tier covers the total; an offer for some customers never applies when
        the customer is not known). Conditions on the conversation (`after`) are the caller's to check."""
        if self.statuses and status not in self.statuses:
            return False
        if self.total is not None and not self.total.holds(total):
            return False
        if self.asks_about_customer and not self.fits_customer(customer):
            return False
        return not self.tiers or self.tier_for(total) is not None

    def fits_customer(self, customer: CustomerFacts | None) -> bool:
        if customer is None:
            return not self.asks_about_customer
        if self.groups and customer.group.casefold() not in {g.casefold() for g in self.groups}:
            return False
        if self.request is not None and customer.repeat != (self.request == "repeat"):
            return False
        return self.tenure is None or self.tenure.holds(customer.days_as_customer)

    def tier_for(self, total: float) -> Tier | None:
        return next((tier for tier in self.tiers if tier.holds(total)), None)

    def first_percent_for(self, total: float) -> float | None:
        """The percent offered first on an order with this grand total."""
        tier = self.tier_for(total)
        return tier.percent if tier is not None else self.first_percent

    def top_percent_for(self, total: float) -> float | None:
        """The most this offer may reach on an order with this grand total (a tier's percent is also its ceiling,
        unless the plan's max_percent is higher)."""
        tier = self.tier_for(total)
        if tier is None:
            return self.top_percent
        return self.ceiling if self.ceiling is not None and self.ceiling > tier.percent else tier.percent

    def describe_conditions(self) -> str:
        """'for shipped orders, totals from 100', or '' when unconditional."""
        parts = []
        if self.statuses:
            groups = [name for name, statuses in STATUS_GROUPS.items() if set(statuses) <= set(self.statuses)]
            parts.append("for " + "/".join(groups or self.statuses) + " orders")
        if self.total is not None:
            parts.append("totals " + _range_text(self.total))
        if self.tiers:
            parts.append("tiers " + "; ".join(f"{_range_text(t)}: {t.percent:g}%" for t in self.tiers))
        if self.groups:
            parts.append("for " + "/".join(self.groups) + " customers")
        if self.request is not None:
            parts.append(f"on a {self.request} request")
        if self.tenure is not None:
            parts.append("customers of " + _range_text(self.tenure) + " days")
        if self.after:
            parts.append("only after a " + " or a ".join(self.after))
        return ", ".join(parts)

    @property
    def where(self) -> str:
        return f"{self.source}:{self.line}"


@dataclass(frozen=True)
class Exclusion:
    kind: OfferKind | None  # None: the policy makes no offers at all
    said: PolicyLine


@dataclass(frozen=True)
class Limit:
    kind: OfferKind
    max_percent: float
    said: PolicyLine


@dataclass(frozen=True)
class UnreadMention:
    """An offer tool named where the reader could not read an offer (lint warns about it)."""

    tool: str
    said: PolicyLine


@dataclass(frozen=True)
class OfferPlan:
    options: tuple[OfferOption, ...] = ()
    exclusions: tuple[Exclusion, ...] = ()
    limits: tuple[Limit, ...] = ()
    pacing: Pacing = "together"
    pacing_said: PolicyLine | None = None
    stacking: bool = False
    stacking_said: PolicyLine | None = None
    handover_said: PolicyLine | None = None  # where the policy says to hand over to a person (@escalate_to_human)
    unread: tuple[UnreadMention, ...] = field(default=(), compare=False)
    explicit: bool = field(default=False, compare=False)  # from the front matter's `plan:`, not drafted from prose
    confirmations: tuple[str, ...] = ()  # tools the policy asks to call after applying an offer
    handover_on: tuple[str, ...] = ()  # what the hand-over is for: "concern" (about an offer), "request" (a person)

    def hands_over_on(self, trigger: str) -> bool:
        return self.handover_said is not None and trigger in self.handover_on

    @property
    def asks_about_customer(self) -> bool:
        return any(o.asks_about_customer for o in self.options)

    def get(self, kind: OfferKind | str) -> OfferOption | None:
        return next((o for o in self.options if o.kind == kind), None)

    @property
    def kinds(self) -> tuple[OfferKind, ...]:
        return tuple(o.kind for o in self.options)

    def limit(self, kind: OfferKind | str) -> float | None:
        found = [x.max_percent for x in self.limits if x.kind == kind]
        return min(found) if found else None

    def describe(self) -> list[str]:
        """One line per offer, as the offline model understood it."""
        lines = []
        for number, option in enumerate(self.options, start=1):
            numbers = ", ".join(f"{p:g}%" for p in option.percents) or "no percentage"
            tools = " / @".join(option.tools) if option.tools else ""
            via = f" via @{tools}" if tools else ""
            conditions = option.describe_conditions()
            numbers = f"{numbers}; {conditions}" if conditions else numbers
            lines.append(f"{number}. {option.kind.value}{via} ({numbers}; {option.where})")
        return lines

    def describe_settings(self) -> list[str]:
        """Exclusions, limits, pacing and stacking, as read, with the line that says each."""
        lines = [f"excluded: {x.kind.value if x.kind else 'every offer'} ({x.said.where})" for x in self.exclusions]
        lines += [f"limit: {x.kind.value} at most {x.max_percent:g}% ({x.said.where})" for x in self.limits]
        pacing = "one offer at a time" if self.pacing == "one_at_a_time" else "all offers together"
        lines.append(f"pacing: {pacing}" + (f" ({self.pacing_said.where})" if self.pacing_said else " (default)"))
        stacking = "allowed" if self.stacking else "one offer per order"
        lines.append(
            f"stacking: {stacking}" + (f" ({self.stacking_said.where})" if self.stacking_said else " (default)")
        )
        return lines

    def merged(self, other: OfferPlan) -> OfferPlan:
        """This plan, then what `other` adds: offers of new kinds, exclusions and limits, unset settings."""
        return OfferPlan(
            options=self.options + tuple(o for o in other.options if o.kind not in self.kinds),
            exclusions=self.exclusions + other.exclusions,
            limits=self.limits + other.limits,
            pacing=self.pacing if self.pacing_said else other.pacing,
            pacing_said=self.pacing_said or other.pacing_said,
            stacking=self.stacking if self.stacking_said else other.stacking,
            stacking_said=self.stacking_said or other.stacking_said,
            handover_said=self.handover_said or other.handover_said,
            handover_on=self.handover_on if self.handover_said else other.handover_on,
            unread=self.unread + other.unread,
        )

    def effective(self) -> OfferPlan:
        """The offers the policy lets the agent make: excluded kinds dropped, amounts kept within the limits."""
        if any(x.kind is None for x in self.exclusions):
            return replace(self, options=())
        excluded = {x.kind for x in self.exclusions}
        options = []
        for option in self.options:
            if option.kind in excluded:
                continue
            cap = self.limit(option.kind)
            if cap is not None and option.percents:
                kept = tuple(p for p in option.percents if p <= cap) or (cap,)
                option = replace(option, percents=kept)
            options.append(option)
        return replace(self, options=tuple(options))


def _range_text(span: TotalRange) -> str:
    if span.from_ is not None and span.below is not None:
        return f"{span.from_:g} to under {span.below:g}"
    if span.from_ is not None:
        return f"from {span.from_:g}"
    return f"under {span.below:g}" if span.below is not None else "any"


def plan_from_spec(
    spec: PlanSpec, source: str, plan_line: int, tools: dict[OfferKind, str], lines: dict[int, str]
) -> OfferPlan:
    """The plan a front matter's `plan:` states. `plan_line` is where `plan:` starts (for entries without a line);
    `tools` gives the tool that applies each kind; `lines` the policy's lines, by number (an entry's `line` quotes
    its text, as a drafted entry quotes the prose it came from)."""

    def said(line: int | None, text: str) -> PolicyLine:
        return PolicyLine(source, line or plan_line, lines.get(line or 0, text).strip() or text)

    options = []
    for offer in spec.ordered_offers():
        when = offer.when
        statuses = tuple(s for group in (when.order_status or []) for s in STATUS_GROUPS[group]) if when else ()
        percents = tuple(p for p in (offer.percent, offer.max_percent) if p is not None)
        options.append(
            OfferOption(
                kind=offer.kind,
                tools=(tools[offer.kind],) if offer.kind in tools else (),
                percents=percents or tuple(t.percent for t in offer.tiers or []),
                source=source,
                line=offer.line or plan_line,
                text=said(offer.line, f"plan: {offer.kind.value}").text,
                statuses=statuses,
                total=when.order_total if when else None,
                tiers=tuple(offer.tiers or ()),
                ceiling=offer.max_percent,
                groups=tuple(when.customer_group or ()) if when else (),
                request=when.customer_request if when else None,
                tenure=when.days_as_customer if when else None,
                after=tuple(when.after or ()) if when else (),
            )
        )
    explicit_fields = spec.model_fields_set
    handover = spec.handover
    return OfferPlan(
        options=tuple(options),
        exclusions=tuple(Exclusion(kind, said(None, f"plan: excluded {kind.value}")) for kind in spec.excluded),
        pacing=spec.pacing,
        pacing_said=said(None, f"plan: pacing {spec.pacing}") if "pacing" in explicit_fields else None,
        stacking=spec.stacking,
        stacking_said=said(None, f"plan: stacking {spec.stacking}") if "stacking" in explicit_fields else None,
        handover_said=said(handover.line, "plan: handover when " + ", ".join(handover.when)) if handover else None,
        explicit=True,
        confirmations=tuple(spec.confirmations),
        handover_on=tuple(handover.when) if handover else (),
    )


def spec_from_plan(plan: OfferPlan) -> PlanSpec:
    """A drafted plan in the front matter's form (`python -m agent plan` prints it), each entry with its line."""
    offers = []
    for option in plan.options:
        first, top = option.first_percent, option.top_percent
        offers.append(
            {
                "kind": option.kind,
                "percent": first,
                "max_percent": top if top is not None and first is not None and top > first else None,
                "line": option.line,
            }
        )
    everything = any(x.kind is None for x in plan.exclusions)
    excluded = list(OfferKind) if everything else list(dict.fromkeys(x.kind for x in plan.exclusions if x.kind))
    data: dict = {"pacing": plan.pacing, "stacking": plan.stacking, "offers": [] if everything else offers}
    data["excluded"] = [k for k in excluded if k not in {o["kind"] for o in data["offers"]}]
    if plan.handover_said is not None:
        data["handover"] = {"when": list(plan.handover_on) or ["concern", "request"], "line": plan.handover_said.line}
    return PlanSpec.model_validate(data)
