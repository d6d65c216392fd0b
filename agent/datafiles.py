"""Where the project's data lives, and the one reader for each data format (JSON, YAML).

A broken data file becomes an InputFileError naming the file, the line or field, and the fix, never a traceback.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from agent.errors import InputFileError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_FIXTURES = PROJECT_ROOT / "fixtures"

M = TypeVar("M", bound=BaseModel)


# PyYAML's safe loader in C when it was built with libyaml (about 6x faster on the persona library), else in Python
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def describe_validation_error(path: Path, error: ValidationError, prefix: str = "") -> InputFileError:
    """Turn the first pydantic error into a one-line `file: field: problem (fix)` error."""
    first = error.errors()[0]
    field = prefix + ".".join(str(part) for part in first["loc"])
    fixes = {"extra_forbidden": "remove this field", "missing": "add this field"}
    fix = fixes.get(first["type"], "fix the value")
    return InputFileError(path, field, first["msg"], fix)


def validate(model: type[M], path: Path, data: object, prefix: str = "") -> M:
    """`model.model_validate(data)`, with a failure reported against `path`."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise describe_validation_error(path, exc, prefix) from exc


def read_json(path: Path) -> object:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise InputFileError(path, "", "file not found", "restore it from git or point --fixtures elsewhere") from exc
    except json.JSONDecodeError as exc:
        raise InputFileError(path, f"line {exc.lineno}", exc.msg, "make it valid JSON") from exc


def read_yaml(path: Path, fix_missing: str = "restore it from git") -> dict:
    """A YAML file that holds a mapping. Raises InputFileError naming the file and the line, never a traceback."""
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=SAFE_LOADER)
    except FileNotFoundError as exc:
        raise InputFileError(path, "", "file not found", fix_missing) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InputFileError(path, f"line {mark.line + 1 if mark else 1}", "is not valid YAML", "fix the YAML") from exc
    if not isinstance(data, dict):
        raise InputFileError(path, "", "must hold a YAML mapping (key: value lines)", "restore it from git")
    return data
