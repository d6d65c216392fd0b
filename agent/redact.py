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
