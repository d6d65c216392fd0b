"""The layouts different model families give the same reply, for the misbehaving agent double: numbered offers as
bold markdown items, bullets, one prose sentence, a table or emoji numbers; order numbers shortened; claims marked.
The words around them are in `fixtures/misbehaving_agent/wording.yaml` (`styles`)."""

from __future__ import annotations

import re

from testing.misbehaving_wording import wording

STYLES = ("plain", "markdown", "bullets", "prose", "table", "emoji")
NUMBERED = re.compile(r"^(\d+)\. (.+)$", re.MULTILINE)
ORDER_NUMBER = re.compile(r"\border (0*(\d{3,9}))\b")


def restyle(text: str, style: str) -> str:
    """The reply laid out as `style` writes: numbered offers as bold items, bullets, one sentence, a table or emoji
    numbers; order numbers shortened; claims marked."""
    layout = wording()["styles"][style]
    if not layout or not text:
        return text
    text = _lay_out_offers(text, layout)
    if "order_ref" in layout:
        text = ORDER_NUMBER.sub(lambda m: layout["order_ref"].format(short=m.group(2)), text)
    if "claim_prefix" in layout and not NUMBERED.search(text):
        text = layout["claim_prefix"] + text
    return text


def _lay_out_offers(text: str, layout: dict[str, str]) -> str:
    items = NUMBERED.findall(text)
    if not items:
        return text
    first, last = NUMBERED.search(text), list(NUMBERED.finditer(text))[-1]
    assert first is not None
    offers = [offer for _, offer in items]
    if "joined" in layout:
        joined = ", ".join(offers[:-1]) + layout["last_joiner"] + offers[-1] if len(offers) > 1 else offers[0]
        block = layout["joined"].format(offers=joined)
    else:
        rows = [layout["item"].format(n=n, offer=offer) for n, offer in items]
        block = "\n".join([layout["head"], *rows] if "head" in layout else rows)
    return text[: first.start()] + block + text[last.end() :]
