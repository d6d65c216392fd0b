"""Saving a chat as a test customer, for the CLI and the chat lab: read the export (one clear line when it cannot be
read), build the contract, check it against the oracle, and write it into a personas folder only when it replays the
chat's outcome (or when forced), never over another file unless forced."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import ValidationError

from agent.conversation import ConversationExport
from agent.errors import InputFileError
from evals.growing.from_chat import SavedChat, oracle_disagrees, persona_from_chat, persona_yaml


def read_export(path: Path) -> ConversationExport:
    try:
        return ConversationExport.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError as exc:
        raise InputFileError(path, "", "no such file", "pass the JSON a chat export wrote") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputFileError(path, "", f"is not JSON ({exc})", "pass the JSON a chat export wrote") from exc
    except ValidationError as exc:
        where = ".".join(str(p) for p in exc.errors()[0]["loc"])
        fix = "export the chat again (agent chat --state-out, or Download conversation in the chat lab)"
        raise InputFileError(path, where, exc.errors()[0]["msg"], fix) from exc


def build_chat_persona(export: ConversationExport, persona_id: str | None, source: Path | str) -> SavedChat:
    try:
        return persona_from_chat(export, persona_id)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        fix = "an id is lower-case letters, digits and _" if field == "id" else "export the chat again"
        raise InputFileError(source, field, first["msg"], fix) from exc
    except ValueError as exc:
        raise InputFileError(source, "", str(exc), "save a chat in which the customer asked about an order") from exc


def save_chat_persona(source: Path, persona_id: str | None, out: Path | None, force: bool) -> tuple[str, Path | None]:
    """(the persona YAML, the file written or None)."""
    export = read_export(source)
    saved = build_chat_persona(export, persona_id, source)
    problem = oracle_disagrees(saved, export)
    if problem:
        saved.notes.append(problem)
    text = persona_yaml(saved)
    if out is None:
        return text, None
    if problem and not force:
        fix = "review the persona printed by a run without --out, or pass --force"
        raise InputFileError(source, "outcome", problem, fix)
    return text, write_persona(text, saved.persona.id, out, force)


def write_persona(text: str, persona_id: str, folder: Path, force: bool = False) -> Path:
    """Write a persona file `folder/ID.yaml`, never over another unless `force`."""
    target = folder / f"{persona_id}.yaml"
    if target.is_symlink():
        raise InputFileError(target, "", "is a symbolic link", "save into a folder of plain persona files")
    if target.exists() and not force:
        raise InputFileError(target, "", "already exists", "choose another id, or replace it on purpose (--force)")
    folder.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    return target
