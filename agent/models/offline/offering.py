"""The offline model's retention step: present the policy's offers, answer questions about them, haggle within the
policy's limits, and apply an offer only when the customer explicitly accepts that offer."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from agent.models.offline.actions import cancel, escalate, finish_order, leave_as_is, remember
from agent.models.offline.situation import Call, Offer, OrderNote, Say, Situation, replies
from agent.numbers import find_bare_numbers
from agent.policy.plan import OfferOption
from agent.tools.kinds import OfferKind
from agent.tools.results import CouponCreated, DiscountApplied, SwapOptions, ToolError, ToolResult
from agent.tools.toolkit import apply_tool


def _facts(offer: Offer, order: OrderNote | None = None) -> dict[str, Any]:
    facts: dict[str, Any] = {
        "percent": f"{offer.percent or 0:g}",
        "item": offer.item,
        "new_item": offer.new_item,
        "price": f"{offer.price:.2f}",
        "new_price": f"{offer.new_price:.2f}",
    }
    if order is not None:
        new_total = order.total - order.subtotal * (offer.percent or 0) / 100
        facts.update(
            order_id=order.order_id,
            total=f"{order.total:.2f} {order.currency}",
            new_total=f"{new_total:.2f} {order.currency}",
        )
    return facts


def offer_line(offer: Offer) -> str:
    return replies()["offer_lines"][offer.kind.value].format(**_facts(offer))


def _choices(offers: tuple[Offer, ...]) -> str:
    return ", ".join(offer_line(o) for o in offers)


def _where(s: Situation, kind: str) -> str:
    option = s.plan.get(kind)
    return option.where if option else "?"


def _swap_offer(s: Situation, order: OrderNote, sku: str, item: str, price: float) -> Call | Offer | None:
    if not s.called("list_swap_options", order_id=order.order_id):
        return Call("list_swap_options", {"order_id": order.order_id, "sku": sku})
    found = s.result("list_swap_options", order_id=order.order_id)
    if not isinstance(found, SwapOptions) or not found.options:
        return None  # no swap (or the lookup failed): the other offers still stand
    best = min(found.options, key=lambda c: c.price)
    return Offer(OfferKind.SWAP, None, sku, item, price, best.sku, best.name, best.price)


def present_offers(s: Situation, order: OrderNote, swap_item: tuple[str, str, float] | None) -> Call | Say:
    """Make the policy's offers for this order: all together, or the first one when the policy paces them; an offer
    the policy makes only after a refusal or a concern is held back until then."""
    customer = s.customer
    if s.plan.asks_about_customer and customer is None and not s.called("list_customer_orders"):
        return Call("list_customer_orders", {})  # the plan asks who the customer is: the order list shows it
    offers: list[Offer] = []
    for option in s.plan.options:
        if not option.applies_to(order.status, order.total, customer):
            continue  # the policy makes this offer only on other orders or for other customers
        made = _made(s, option, order, swap_item)
        if isinstance(made, Call):
            return made
        if made is not None:
            offers.append(replace(made, after=option.after))
    memory = remember(s, stage="offered", order=order, customer=customer)
    now, held = [o for o in offers if not o.after], tuple(o for o in offers if o.after)
    if not now and s.reading.question and not (s.reading.has("cancel") or s.reading.has("insist")):
        text = replies()["confirm_cancel_order"].format(order_id=order.order_id, items=", ".join(order.items))
        return Say(text, replace(memory, stage="confirm_cancel"), "a question about the order, not a request: ask")
    if not now:
        why = "the policy makes no offer that fits this order" + (
            " (its others come only after a refusal or a concern)" if held else ""
        )
        return cancel(replace(s, memory=memory), why)
    paced = s.plan.pacing == "one_at_a_time"
    shown, pending = (tuple(now[:1]), (*now[1:], *held)) if paced else (tuple(now), held)
    why = f"offers from the policy ({', '.join(_where(s, o.kind) for o in shown)})" + (
        f"; one at a time ({s.plan.pacing_said.where})" if paced and s.plan.pacing_said else ""
    )
    if held:
        why += "; held back until " + ", ".join(f"a {'/'.join(o.after)} ({_where(s, o.kind)})" for o in held)
    return Say(offers_text(order.order_id, shown), replace(memory, offers=shown, pending=tuple(pending)), why)


def _made(
    s: Situation, option: OfferOption, order: OrderNote, swap_item: tuple[str, str, float] | None
) -> Call | Offer | None:
    """The offer this option makes on the order (None when it cannot: no percent, expedited already, no swap)."""
    first = option.first_percent_for(order.total)
    if option.kind in (OfferKind.DISCOUNT, OfferKind.FUTURE_COUPON) and first is not None:
        return Offer(option.kind, percent=min(first, _cap(s, option.kind, order)))
    if option.kind == OfferKind.SHIPPING_UPGRADE and not order.expedited:
        return Offer(option.kind)
    if option.kind == OfferKind.SWAP and swap_item is not None:
        return _swap_offer(s, order, *swap_item)
    return None


def offers_text(order_id: str, offers: tuple[Offer, ...], intro: str = "") -> str:
    if len(offers) == 1:
        head = intro or replies()["offer_intro_single"].format(order_id=order_id)
        return f"{head}\n\n{offer_line(offers[0])}.\n\n{replies()['offer_question_single']}"
    lines = "\n".join(f"{n}. {offer_line(o)}" for n, o in enumerate(offers, start=1))
    head = intro or replies()["offers_intro"].format(order_id=order_id)
    return f"{head}\n\n{lines}\n\n{replies()['offers_question']}"


def _cap(s: Situation, kind: str, order: OrderNote | None = None) -> float:
    """The most the policy lets this offer reach on the order being discussed (its tier's, when tiered)."""
    option, order = s.plan.get(kind), order or s.memory.order
    top = (option.top_percent_for(order.total) if order else option.top_percent) if option else None
    top = top if top is not None else 0.0
    return min(top, s.brief.max_discount_percent) if kind == OfferKind.DISCOUNT else top


def on_offers(s: Situation) -> Call | Say:
    """The customer's answer to the offers on the table."""
    r, m = s.reading, s.memory
    table = {o.kind.value: o for o in m.offers}
    accepted = [k for k in dict.fromkeys(r.kinds("accept")) if k in table]
    by_percent = [o.kind.value for o in m.offers if o.percent is not None and o.percent in r.percents]
    if r.has("concern") and not accepted:
        held = next((n for n, o in enumerate(m.pending) if "concern" in o.after), None)
        if held is not None:  # an offer the policy makes after a concern comes before any hand-over
            return _release(s, held, "concern_offer_intro", "a concern; an offer for it")
        if s.brief.hands_over_concerns:
            return escalate(s, "raised a concern about the retention offer")
        return Say(
            replies()["concern_no_handover"].format(order_id=m.order_id), m, "concern; the policy has no hand-over"
        )
    if r.has("negotiate") and r.percents and not r.has("insist"):  # "50% or I cancel" is a haggle, not a refusal
        return _negotiate(s, r.requested_percent)
    if r.has("total") and r.question:
        return _total(s, table)
    if r.has("conditional"):
        return _conditional(s, [table[k] for k in dict.fromkeys(r.offers) if k in table])
    if r.has("correction"):  # "the money off one… wait, sorry, wrong order": nothing is decided in this message
        return Say(replies()["after_correction"].format(order_id=m.order_id), m, "a correction: no write, ask again")
    if r.has("insist") or (r.has("cancel") and (not accepted or r.has("cancel_last"))):
        return cancel(s, "the customer insists on cancelling; the policy cancels")
    if len(set(accepted) | ({*by_percent} if accepted else set())) > 1:
        return Say(replies()["which_offer"].format(choices=_choices(m.offers)), m, "accepted several offers at once")
    haggles = r.has("negotiate") and (not accepted or (accepted == ["discount"] and not r.percents))
    if accepted and not haggles:
        return _accept(s, table[accepted[0]])
    named_elsewhere = [k for k in r.kinds("accept") if k not in table]
    if named_elsewhere and not r.kinds("decline"):
        return Say(
            replies()["not_offered"].format(choices=_choices(m.offers)), m, f"{named_elsewhere[0]} is not offered"
        )
    if haggles or ("discount" in r.kinds("ask") and r.percents):
        return _negotiate(s, r.requested_percent if r.percents else _bare_percent(r.plain))
    if r.has("goodbye") and not r.kinds("accept"):
        return leave_as_is(s)
    asked = [k for k in r.kinds("ask") if k in table]
    if not asked and r.question and r.percents:
        asked = [o.kind.value for o in m.offers if o.percent in r.percents]
    if asked:
        return _answer(s, [table[k] for k in asked])
    discount = table.get("discount")
    if discount is not None and discount.percent in r.percents and r.has("accept") and not r.kinds("decline"):
        return _apply(s, discount, f"a yes to {discount.percent:g}% off")
    position = r.ordinal
    picks = position is not None and not r.question and not r.kinds("decline") and not r.has("decline")
    index = (position - 1 if position > 0 else len(m.offers) + position) if position is not None else -1
    agrees = 0 <= index < len(m.offers) and m.offers[index].kind.value in r.offers  # "the third, the swap"
    short = len(r.text.split()) <= 6
    if position is not None and picks and 0 <= index < len(m.offers) and (short or r.has("accept") or agrees):
        return _apply(s, m.offers[index], f"picked option {r.ordinal}")
    if r.has("accept") and not r.kinds("decline") and not r.has("decline"):
        if s.focus in table:
            said = r.requested_percent or _bare_percent(r.plain)  # "fifteen works for me": the level they name
            focused = table[s.focus]
            if said is not None and focused.kind != OfferKind.DISCOUNT and focused.percent not in (None, said):
                return Say(replies()["reask"].format(order_id=m.order_id), m, f"a yes, but to {said:g}%: ask again")
            return _accept(s, focused, said)
        lone = r.requested_percent
        if lone is not None and not by_percent and "discount" in table:  # "alright, just the 15% then"
            return _accept(s, table["discount"], lone)
        if len(m.offers) == 1:
            return _apply(s, m.offers[0], "a yes to the one offer on the table")
        return Say(replies()["which_offer"].format(choices=_choices(m.offers)), m, "a yes, but to which offer?")
    declined = [k for k in r.kinds("decline") if k in table] or (by_percent if r.has("decline") else [])
    if r.kinds("decline") and not declined:  # "no swap" when no swap is on offer: not a refusal of the offers
        return Say(replies()["reask"].format(order_id=m.order_id), m, "refused an offer that is not on the table")
    if declined or r.has("decline"):
        return _after_refusal(s, declined)
    if r.has("goodbye"):
        return leave_as_is(s)
    return Say(replies()["reask"].format(order_id=m.order_id), m, "no decision in the message: ask again")


def _allowed_levels(s: Situation) -> list[float]:
    """The discount levels the policy names that are within its cap (the cap itself when none is)."""
    option, order = s.plan.get(OfferKind.DISCOUNT), s.memory.order
    cap = _cap(s, OfferKind.DISCOUNT)
    if option is not None and option.tiers and order is not None:
        named: tuple[float | None, ...] = (option.first_percent_for(order.total), option.top_percent_for(order.total))
    else:
        named = option.percents if option else ()
    return sorted({p for p in named if p is not None and p <= cap}) or [cap]


def _accept(s: Situation, offer: Offer, said: float | None = None) -> Call | Say:
    """Apply the accepted offer; a discount at the percent the customer named, when the policy names that level."""
    stated = (max(x.percents) for x in s.reading.stances if x.kind == offer.kind.value and x.percents)
    wanted = next(stated, said if offer.kind == OfferKind.DISCOUNT else None)
    if offer.kind != OfferKind.DISCOUNT or wanted is None or wanted == offer.percent:
        return _apply(s, offer, f"the customer accepted {offer.kind.value}")
    if wanted in _allowed_levels(s):
        return _apply(s, replace(offer, percent=wanted), f"the customer accepted {wanted:g}%, a level the policy names")
    return _negotiate(s, wanted)


def _answer(s: Situation, offers: list[Offer]) -> Say:
    m = s.memory
    texts = []
    for offer in offers:
        option = s.plan.get(offer.kind)
        facts = {**_facts(offer, m.order), "policy_line": option.text if option else ""}
        texts.append(replies()["offer_details"][offer.kind.value].format(**facts))
    question = replies()["details_question"].format(order_id=m.order_id)
    why = (
        "a question about " + ", ".join(f"{o.kind.value} ({_where(s, o.kind)})" for o in offers) + ": answer, no write"
    )
    focus = offers[0].kind.value if len(offers) == 1 else ""
    return Say(" ".join(texts) + " " + question, replace(m, focus=focus), why)


def _negotiate(s: Situation, wanted: float | None) -> Say:
    """Counter a haggle with a level the policy names within its cap; nothing is applied until a yes to it."""
    option, m = s.plan.get(OfferKind.DISCOUNT), s.memory
    if option is None or not option.percents:
        return Say(replies()["no_discount_available"], m, "the policy offers no discount")
    allowed = _allowed_levels(s)
    top = allowed[-1]
    on_table = next((o for o in m.offers if o.kind == OfferKind.DISCOUNT), None)
    if wanted is not None and on_table is not None and on_table.percent is not None and wanted <= on_table.percent:
        wanted = next((p for p in allowed if p > on_table.percent), top)  # nobody haggles for what is offered
    if wanted is not None and wanted <= top:
        offered = min(p for p in allowed if p >= wanted)
        text = replies()["counter_offer_yes"].format(percent=f"{offered:g}")
    elif on_table is not None and on_table.percent == top:
        text, offered = replies()["counter_offer_final"].format(percent=f"{top:g}"), top
    elif wanted is None:  # "can you do better?": the policy's next level, nothing applied yet
        text, offered = replies()["counter_offer_yes"].format(percent=f"{top:g}"), top
    else:
        text, offered = replies()["counter_offer"].format(percent=f"{top:g}"), top
    offers = tuple(o for o in m.offers if o.kind != OfferKind.DISCOUNT)
    memory = replace(m, offers=(Offer(OfferKind.DISCOUNT, percent=offered), *offers), focus=OfferKind.DISCOUNT.value)
    return Say(text, memory, f"haggling: at most {top:g}% ({option.where}); nothing applied until a yes")


def _after_refusal(s: Situation, declined: list[str]) -> Call | Say:
    m = s.memory
    remaining = tuple(o for o in m.offers if o.kind.value not in declined) if declined else ()
    if remaining:
        names = " or ".join(k.replace("_", " ") for k in declined)
        text = replies()["remaining_offers"].format(declined=names, choices=_choices(remaining), order_id=m.order_id)
        return Say(text, replace(m, offers=remaining), f"declined {', '.join(declined)}; others remain")
    due = next((n for n, o in enumerate(m.pending) if not o.after or "refusal" in o.after), None)
    if declined and due is None:
        names = " or ".join(k.replace("_", " ") for k in declined)
        text = replies()["confirm_cancel"].format(declined=names, order_id=m.order_id)
        return Say(text, replace(m, stage="confirm_cancel"), f"declined {names}, the last offer: ask before cancelling")
    if due is not None:
        return _release(s, due, "next_offer_intro", "refusal; next offer")
    return cancel(s, "the customer declined the offers; the policy cancels on refusal")


def _release(s: Situation, index: int, intro_key: str, what: str) -> Say:
    """Present the pending offer at `index`: the next one of a paced plan, or one held back until now."""
    m = s.memory
    shown, pending = (m.pending[index],), m.pending[:index] + m.pending[index + 1 :]
    intro = replies()[intro_key].format(order_id=m.order_id)
    held = shown[0].after
    rule = f"made after a {'/'.join(held)} ({_where(s, shown[0].kind)})" if held else "one at a time"
    said = s.plan.pacing_said.where if s.plan.pacing_said and not held else _where(s, shown[0].kind)
    return Say(
        offers_text(m.order_id, shown, intro), replace(m, offers=shown, pending=pending), f"{what}, {rule} ({said})"
    )


def _bare_percent(text: str) -> float | None:
    """A number said while haggling without a percent sign ("can you do 15?", "fifteen works for me")."""
    found = find_bare_numbers(text)
    return max(found) if found else None


def _total(s: Situation, table: dict[str, Offer]) -> Say:
    """What the order would cost: with the discount on the table when there is one, else as it stands."""
    if "discount" in table:
        return _answer(s, [table["discount"]])
    m = s.memory
    total = f"{m.order.total:.2f} {m.order.currency}" if m.order else "?"
    text = replies()["order_total"].format(order_id=m.order_id, total=total)
    return Say(f"{text} {replies()['details_question'].format(order_id=m.order_id)}", m, "a question about the total")


def _conditional(s: Situation, named: list[Offer]) -> Say:
    """An answer that waits on a condition ("if it arrives by Friday I'll keep it", "if you give me a discount, will
    I be charged twice?") is never a decision: the model answers about the offers it names, or asks again."""
    if named:
        return _answer(s, named)
    return Say(replies()["reask"].format(order_id=s.memory.order_id), s.memory, "a condition, not a decision: no write")


def on_confirm_cancel(s: Situation) -> Call | Say:
    """After "Shall I cancel the order then?": a plain yes cancels, a plain no leaves the order as it is, and
    anything else is read as an answer to the offers."""
    r, m = s.reading, s.memory
    offered = replace(s, memory=replace(m, stage="offered"))
    if r.has("accept") and not r.offers and not r.has("decline") and not r.has("conditional"):
        return cancel(offered, "the customer confirmed the cancellation")
    if (r.has("decline") or r.has("keep")) and not r.offers and not r.has("cancel"):
        return leave_as_is(offered)
    return on_offers(offered)


def apply_call(order_id: str, offer: Offer) -> Call:
    by_kind: dict[OfferKind, dict[str, Any]] = {
        OfferKind.DISCOUNT: {"order_id": order_id, "percent": offer.percent},
        OfferKind.SHIPPING_UPGRADE: {"order_id": order_id},
        OfferKind.SWAP: {"order_id": order_id, "sku": offer.sku, "new_sku": offer.new_sku},
        OfferKind.FUTURE_COUPON: {"percent": offer.percent},
    }
    return Call(apply_tool(offer.kind), by_kind[offer.kind])


def _benefit(offer: Offer, result: ToolResult | None) -> str:
    """Describe the applied offer using the facts the tool result confirmed."""
    facts = _facts(offer)
    facts["total"] = f"{result.new_total:.2f} {result.currency}" if isinstance(result, DiscountApplied) else "updated"
    facts["code"] = result.code if isinstance(result, CouponCreated) else ""
    return replies()["benefits"][offer.kind.value].format(**facts)


def _apply(s: Situation, offer: Offer, why: str) -> Call | Say:
    m = s.memory
    call = apply_call(m.order_id, offer)
    if not s.called(call.name):
        return call
    result = s.result(call.name)
    if isinstance(result, ToolError):
        remaining = tuple(o for o in m.offers if o.kind != offer.kind)
        text = replies()["apply_failed"].format(error=result.message)
        return Say(text, replace(m, offers=remaining), f"{call.name} failed")
    benefit = _benefit(offer, result)
    if not s.called("send_async_message"):
        message = replies()["async_confirmation"].format(order_id=m.order_id, benefit=benefit)
        return Call("send_async_message", {"message": message})
    memory = finish_order(s, f"retained:{offer.kind.value}: {benefit}")
    text = replies()["retained"].format(order_id=m.order_id, benefit=benefit)
    return Say(text, memory, f"{why}; applied with {call.name} ({_where(s, offer.kind)}) and confirmed")
