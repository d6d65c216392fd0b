"""The one redaction step: API keys, bearer tokens, URL credentials and the values of the environment's secrets are
masked before anything is written, shown or logged (records, reports, exports, the app, the CLI)."""

from __future__ import annotations

import os
import re
from urllib.parse import urlsplit, urlunsplit

MASK = "[redacted]"
SECRET_NAME = re.compile(r"(KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL)", re.IGNORECASE)
PATTERNS = [
    re.compile(r"\b(sk|gsk|hf|ghp|gho|xox[abp])[-_][A-Za-z0-9_\-]{6,}"),
    re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=\-]{4,}"),
    re.compile(
        r"(?i)(authorization|api[-_]?key|x-api-key|password|passwd|secret|token)([\"']?\s*[:=]\s*[\"']?)"
        r"((?:bearer\s+|basic\s+)?[^\s\"',}]{4,})"
    ),
    re.compile(r"(?<=://)[^/\s]+@"),  # user info of a URL, up to the last @ before the host
]


def _environment_secrets() -> list[str]:
    return [v for k, v in os.environ.items() if SECRET_NAME.search(k) and len(v) >= 6]


def redact(text: str | None) -> str | None:
    """`text` with every secret masked (None stays None)."""
    if not text:
        return text
    for value in sorted(_environment_secrets(), key=len, reverse=True):
        text = text.replace(value, MASK)
    for pattern in PATTERNS:
        if pattern.groups == 3:
            text = pattern.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)
        elif "://" in pattern.pattern:
            text = pattern.sub(lambda m: f"{MASK}@", text)
        else:
            text = pattern.sub(MASK, text)
    return text


def redact_url(url: str | None) -> str | None:
    """A URL without what may hold a secret: its user name and password, its query values and its fragment."""
    if not url:
        return url
    try:
        parts = urlsplit(url)
    except ValueError:
        return MASK  # not even a URL: keep nothing of it
    netloc = f"{MASK}@{parts.netloc.rsplit('@', 1)[1]}" if "@" in parts.netloc else parts.netloc
    query = "&".join(f"{pair.split('=', 1)[0]}={MASK}" if "=" in pair else MASK for pair in parts.query.split("&"))
    return urlunsplit((parts.scheme, netloc, parts.path, query if parts.query else "", MASK if parts.fragment else ""))


# Personal data (the ticket import): what an export says about people is masked before anything is written.
PERSONAL_MASKS = {"email": "[email]", "phone": "[phone]", "card": "[card]", "name": "[name]", "name_part": "[name]",
                  "address": "[address]"}  # fmt: skip
STREET = re.compile(  # "1187 Larchmont Avenue", "12 rue des Lilas", "Calle Mayor 5", "Hauptstraße 12"
    r"\b\d{1,5}[a-z]?\s+(?:[A-ZÀ-Ý][\w'.-]*\s+){0,3}(?:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Way|"
    r"Court|Ct|Place|Pl|Terrace|Crescent|Close|Parkway|Pkwy|Highway|Hwy)\b\.?"
    r"|\b\d{1,5}\s+(?:rue|avenue|boulevard|chemin|allée|place)\s+[\w'’ -]{2,40}"
    r"|\b(?:Calle|Avenida|Av\.|Paseo|Plaza)\s+[\w'’ -]{2,40}?\s+\d{1,5}\b"
    r"|\b[A-ZÄÖÜ][\wäöüß-]*(?:straße|strasse|weg|gasse|platz|allee)\s+\d{1,5}[a-z]?\b"
)
EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")
CARD = re.compile(r"(?<![\d\w])\d(?:[ \-]?\d){12,18}(?![\d\w])")
PHONE = re.compile(r"(?<![\w#/])(?:\+|00)?\(?\d[\d\s().\-/]{5,}\d(?![\w%])")
# "card ending 1234", "tarjeta terminación 1234", "Karte endet auf 1234", "carte finissant par 1234"
CARD_TAIL = re.compile(r"(?i)\b(card|visa|mastercard|amex|tarjeta|karte|carte|cb)\b([^\d\n]{0,30})(\d{4})(?!\d)")
DATE_OR_AMOUNT = re.compile(r"^\d{4}[-/.]\d{1,2}[-/.]\d{1,2}$|^\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}$|^\d+[.,]\d{1,2}$")


def _luhn(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char) * (2 if index % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def _phone_or_keep(match: re.Match[str], keep: frozenset[str]) -> str:
    text = match.group(0)
    digits = re.sub(r"\D", "", text)
    plain = text.strip()
    if plain in keep or digits in keep or DATE_OR_AMOUNT.match(plain) or not 7 <= len(digits) <= 15:
        return text
    if text.isdigit() and len(text) <= 9:  # a bare number this short is an order or an id, not a phone
        return text
    return PERSONAL_MASKS["phone"]


def redact_personal(text: str | None, known: dict[str, list[str]], keep: frozenset[str] = frozenset()) -> str | None:
    """`text` with secrets masked (as `redact`), then every known personal value (`known`: kind -> values, e.g. the
    names, emails, phones and street lines an export holds) and whatever looks like an email, a card number (Luhn)
    or a phone number. `keep`: numbers that must stay (order numbers)."""
    text = redact(text)
    if not text:
        return text
    text = EMAIL.sub(PERSONAL_MASKS["email"], text)  # first: a name inside an address would leave the rest of it
    values = sorted(((v.strip(), kind) for kind, vs in known.items() for v in vs if v and len(v.strip()) >= 2),
                    key=lambda pair: len(pair[0]), reverse=True)  # fmt: skip
    for value, kind in values:
        if value in keep:
            continue
        flags = 0 if kind == "name_part" else re.IGNORECASE  # "Will" the name, not "will" the word
        pattern = re.compile(rf"(?<!\w){re.escape(value)}(?!\w)", flags)
        text = pattern.sub(PERSONAL_MASKS.get(kind, "[redacted]"), text)
    text = STREET.sub(PERSONAL_MASKS["address"], text)
    text = CARD_TAIL.sub(lambda m: f"{m.group(1)}{m.group(2)}{PERSONAL_MASKS['card']}", text)
    text = CARD.sub(lambda m: PERSONAL_MASKS["card"] if _luhn(re.sub(r"\D", "", m.group(0))) else m.group(0), text)
    return PHONE.sub(lambda m: _phone_or_keep(m, keep), text)
