"""The version of the stored formats (`run.json` and each line of `results.jsonl`).

Formats change by adding fields; the version goes up when a reader needs to tell the difference. A file without the
field was written before it existed and reads as version 1. A file from a newer Retention Lab is refused in one line
rather than misread.
"""

from __future__ import annotations

from pathlib import Path

from agent.errors import InputFileError

SCHEMA_VERSION = 2
UNVERSIONED = 1


def check_version(found: int, where: Path | str) -> None:
    """Raise InputFileError (one line) when `found` is newer than this code reads."""
    if found > SCHEMA_VERSION:
        raise InputFileError(
            where,
            "schema_version",
            f"is {found}, newer than this Retention Lab reads ({SCHEMA_VERSION})",
            "upgrade Retention Lab (pip install -U retention-lab), or rerun into a new --out",
        )
