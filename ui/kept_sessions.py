"""The chat lab's work kept across a browser reload: one small JSON file per browser tab, named by an id the page
keeps in its URL (`?lab=<id>`), under $RETENTION_LAB_SESSIONS (default .cache/lab-sessions/ in the project).

What is kept: the policy file open, the editor's text, the policy text the agent runs, the customer, and the customer's
messages. Restoring replays those messages through the model selected now (the offline model gives the same
conversation back). No model setting is kept, so no API key ever reaches the disk.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from agent.datafiles import PROJECT_ROOT

SESSION_ID = re.compile(r"^[0-9a-f]{16,64}$")
MAX_KEPT_BYTES = 1_000_000


def sessions_dir() -> Path:
    return Path(os.environ.get("RETENTION_LAB_SESSIONS", PROJECT_ROOT / ".cache" / "lab-sessions"))


def new_session_id() -> str:
    return secrets.token_hex(8)


@dataclass(frozen=True)
class KeptSession:
    policy_file: str
    editor_text: str
    policy_in_use: str
    customer_id: int
    messages: list[str] = field(default_factory=list)
    saved_at: float = 0.0

    @property
    def worth_restoring(self) -> bool:
        """A conversation was under way, or the policy was being edited."""
        return bool(self.messages) or self.editor_text != self.policy_in_use

    def describe(self) -> str:
        parts = [f"{len(self.messages)} customer message(s) with customer #{self.customer_id}"]
        if self.editor_text != self.policy_in_use:
            parts.append("unsaved edits in the policy editor")
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(self.saved_at)) if self.saved_at else "earlier"
        return f"{self.policy_file}: " + ", ".join(parts) + f" (kept {when})"


def _path(session_id: str, folder: Path | None = None) -> Path | None:
    return (folder or sessions_dir()) / f"{session_id}.json" if SESSION_ID.match(session_id) else None


def load_kept(session_id: str, folder: Path | None = None) -> KeptSession | None:
    """The session kept under `session_id`; None when there is none, or it is unreadable (never an error: a
    broken file only means nothing to restore)."""
    path = _path(session_id, folder)
    try:
        if path is None or path.stat().st_size > MAX_KEPT_BYTES:
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
        return KeptSession(
            str(data["policy_file"]),
            str(data["editor_text"]),
            str(data["policy_in_use"]),
            int(data["customer_id"]),
            [str(m) for m in data.get("messages", [])],
            float(data.get("saved_at", 0.0)),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def keep(session_id: str, kept: KeptSession, folder: Path | None = None) -> bool:
    """Write `kept` atomically; False when it could not be written (a read-only disk must not break the page)."""
    path = _path(session_id, folder)
    if path is None:
        return False
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(dir=path.parent, prefix=path.stem, suffix=".tmp")
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump({**asdict(kept), "saved_at": time.time()}, out, ensure_ascii=False)
        os.replace(temp, path)
        return True
    except OSError:
        return False


def forget(session_id: str, folder: Path | None = None) -> None:
    path = _path(session_id, folder)
    if path is not None:
        path.unlink(missing_ok=True)
