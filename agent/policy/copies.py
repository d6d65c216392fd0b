"""Saving a policy under a new file: a file name and a policy name nobody uses yet, a bumped version, and a refusal
of a name another policy already has (two policies with one name break `agent lint policies/` and the reports)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from agent.errors import InputFileError
from agent.policy.document import load_policy

FRONT_FIELD = "^{field}:[ \\t]*(.*)$"
VERSION = re.compile(r"^(\d+)\.(\d+)(?:\.(\d+))?")


@dataclass(frozen=True)
class CopyIdentity:
    """What a copy of a policy is saved as: its file stem, its `name:` and its `version:`."""

    stem: str
    name: str
    version: str


def names_in(folder: Path) -> set[str]:
    """The `name:` (lower case, as references match it) of every policy in `folder` that parses."""
    names = set()
    for path in sorted(folder.glob("*.md")):
        try:
            names.add(load_policy(path).meta.name.lower())
        except InputFileError:
            continue  # a broken neighbour is lint's business
    return names


def bumped(version: str) -> str:
    """The next minor version: 1.0.0 → 1.1.0; a version that is not numbers gets "-copy"."""
    match = VERSION.match(version.strip())
    if not match:
        return f"{version.strip()}-copy"
    return f"{match[1]}.{int(match[2]) + 1}.0"


def propose_copy(stem: str, name: str, version: str, folder: Path) -> CopyIdentity:
    """The first free `<stem>_vN` file and `<name>_vN` policy name (N from 2), with the version bumped."""
    taken = names_in(folder)
    base_stem, base_name = re.sub(r"_v\d+$", "", stem), re.sub(r"_v\d+$", "", name)
    for n in range(2, 1000):
        candidate = CopyIdentity(f"{base_stem}_v{n}", f"{base_name}_v{n}", bumped(version))
        if not (folder / f"{candidate.stem}.md").exists() and candidate.name.lower() not in taken:
            return candidate
    raise InputFileError(folder, "policies", "has no free copy name left", "remove old copies")


def with_identity(text: str, name: str, version: str) -> str:
    """`text` with its front matter's `name:` and `version:` set (added when missing)."""
    if not text.startswith("---"):
        return text
    end = text.find("\n---", 3)
    front, rest = (text[:end], text[end:]) if end != -1 else (text, "")
    for field, value in (("name", name), ("version", version)):
        pattern = re.compile(FRONT_FIELD.format(field=field), re.MULTILINE)
        if pattern.search(front):
            front = pattern.sub(f"{field}: {value}", front, count=1)
        else:
            front = front.replace("---", f"---\n{field}: {value}", 1)
    return front + rest


def check_name_free(name: str, folder: Path) -> None:
    if name.lower() in names_in(folder):
        raise InputFileError(
            folder / "*.md", "name", f"'{name}' is already the name of a policy in {folder.name}/", "pick another name"
        )
