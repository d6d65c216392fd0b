"""A helpdesk message reduced to what the customer wrote this time: quoted earlier replies, forwarded headers and the
signature cut off (so a persona's lines are the customer's own words, and less personal data is carried along)."""

from __future__ import annotations

import re

QUOTE_HEAD = re.compile(
    r"^\s*(on\b.+\bwrote:?|am\b.+\bschrieb.*:?|le\b.+\ba [ée]crit\s*:?|el\b.+\bescribi[óo]:?|"
    r"-{2,}\s*(forwarded|original|urspr[üu]ngliche|weitergeleitete|message d'origine|mensaje (original|reenviado)).*|"
    r"_{5,}|-{5,}|begin forwarded message:?)\s*$",
    re.IGNORECASE,
)
HEADER = re.compile(r"^\s*(from|to|sent|date|subject|cc|von|an|gesendet|datum|betreff|de|para|enviado|asunto|"
                    r"à|envoy[ée]|objet)\s*:", re.IGNORECASE)  # fmt: skip
SIGN_OFF = re.compile(
    r"^\s*(thanks|thank you|thx|many thanks|best|all the best|regards|kind regards|best regards|warm regards|cheers|"
    r"sincerely|yours|gracias|muchas gracias|saludos|un saludo|atentamente|danke|vielen dank|viele gr[üu](ß|ss)e|"
    r"mit freundlichen gr[üu](ß|ss)en|gr[üu](ß|ss)e|lg|merci|merci beaucoup|cordialement|bien [àa] vous|"
    r"bonne journ[ée]e)\b[\s,!.\-]*(\w+[\s,!.]*)?$",
    re.IGNORECASE,
)
TRAILING_NAME = re.compile(  # "…on impulse. Thanks! Abby": a sign-off and a capitalised name closing the text
    r"(\b(?i:thanks|thank you|thx|ty|cheers|regards|best|gracias|saludos|danke|gr[üu](ß|ss)e|merci|bisous)\b[!,.]*)"
    r"\s*[-–—]?\s*[A-ZÀ-Ý][\w.'’-]*(\s+[A-ZÀ-Ý][\w.'’-]*)?\s*$"
)
SENT_FROM = re.compile(r"^\s*(sent from my|envoy[ée] de mon|enviado desde mi|von meinem)\b", re.IGNORECASE)


def own_words(text: str) -> str:
    """The lines the customer wrote in this message, up to a quote, a forwarded header or a sign-off. A message that
    is nothing but a forwarded email keeps the forwarded text (without its headers)."""
    lines = text.replace("\r\n", "\n").split("\n")
    kept = _until_quote(lines)
    if not any(line.strip() for line in kept):  # only a forward: its body is what the customer sends
        kept = _until_quote([line for line in lines if not QUOTE_HEAD.match(line) and not HEADER.match(line)])
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip()
    return TRAILING_NAME.sub(lambda m: m.group(1), text)


def _until_quote(lines: list[str]) -> list[str]:
    kept: list[str] = []
    for line in lines:
        if QUOTE_HEAD.match(line) or SENT_FROM.match(line) or line.strip() == "--":
            break
        if SIGN_OFF.match(line) and any(k.strip() for k in kept):
            break
        if line.lstrip().startswith(">") or HEADER.match(line):
            continue
        kept.append(line)
    return kept
