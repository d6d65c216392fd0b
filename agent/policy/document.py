"""A policy document: markdown with YAML front matter. Parsing, loading, `@tool` mentions and `#policy` references."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Annotated

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from agent.datafiles import PROJECT_ROOT
from agent.errors import InputFileError
from agent.policy.plan_spec import PlanSpec

DEFAULT_POLICY_DIR = PROJECT_ROOT / "policies"
DEFAULT_POLICY = DEFAULT_POLICY_DIR / "retention_offers.md"
MAX_POLICY_BYTES = 200_000  # every conversation's prompt holds the policy: a longer one is almost surely a mistake
TOOL_MENTION = re.compile(r"(?<![\w@])@([A-Za-z_][A-Za-z0-9_]*)")
POLICY_REFERENCE = re.compile(r"(?<![\w#&])#([A-Za-z][A-Za-z0-9_-]*)")


class PolicyLimits(BaseModel):
    model_config = ConfigDict(extra="forbid")
    max_discount_percent: float = Field(ge=0, le=100, description="No discount may go above this")
    max_coupon_percent: float | None = Field(
        default=None, ge=0, le=100, description="No future coupon above this (default: the highest the policy offers)"
    )
    max_value_percent: float | None = Field(
        default=None,
        ge=0,
        le=100,
        description="No single offer may give away more than this share of the order's subtotal (a swap's price "
        "difference, a shipping upgrade's cost, a discount); default: no limit beyond each offer's own",
    )


class PolicyMeta(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_-]*$", description="Referenced from other policies as #name")
    version: Annotated[str, BeforeValidator(lambda v: str(v) if isinstance(v, int | float) else v)]
    description: str
    limits: PolicyLimits
    plan: PlanSpec | None = Field(
        default=None, description="the explicit offer plan (agent/policy/plan_spec.py); drafted from prose if absent"
    )


@dataclass(frozen=True)
class Mention:
    name: str
    line: int


@dataclass(frozen=True)
class Policy:
    path: Path
    meta: PolicyMeta
    body: str
    body_first_line: int
    text: str

    @property
    def plan_line(self) -> int:
        """The line of the front matter's `plan:` key (1 when there is none)."""
        for number, line in enumerate(self.text.splitlines()[: self.body_first_line], start=1):
            if re.match(r"plan\s*:", line):
                return number
        return 1

    @property
    def tools(self) -> list[Mention]:
        return self._mentions(TOOL_MENTION)

    @property
    def references(self) -> list[Mention]:
        return self._mentions(POLICY_REFERENCE)

    def _mentions(self, pattern: re.Pattern[str]) -> list[Mention]:
        return [
            Mention(m.group(1), self.body_first_line + number)
            for number, line in enumerate(self.body.splitlines())
            for m in pattern.finditer(line)
        ]


def _front_matter_line(front: str, field_name: str) -> int:
    for number, line in enumerate(front.splitlines(), start=2):
        if re.match(rf"\s*{re.escape(field_name)}\s*:", line):
            return number
    return 1


class PolicyErrors(InputFileError):
    """Every front-matter problem of one policy file: the first is the message, all are in `errors`."""

    def __init__(self, errors: list[InputFileError]) -> None:
        first = errors[0]
        super().__init__(first.path, first.field, first.problem, first.fix)
        self.errors = errors


def _field_fix(error_type: str, key: str, known: list[str]) -> str:
    if error_type == "extra_forbidden":
        close = difflib.get_close_matches(key, known, n=1, cutoff=0.5)
        return (
            f"did you mean '{close[0]}'? otherwise remove it" if close else f"remove it; known keys: {', '.join(known)}"
        )
    if error_type == "missing":
        return "add it; see policies/retention_offers.md"
    return "see policies/retention_offers.md for a valid example"


def _model_at(loc: list[str]) -> type[BaseModel]:
    """The model that holds the last key of `loc` (PolicyMeta, PolicyLimits, or a part of PlanSpec)."""
    model: type[BaseModel] = PolicyMeta
    for part in loc[:-1]:
        field = model.model_fields.get(part)
        if field is None:
            continue  # a list index
        inner = [a for a in (field.annotation, *getattr(field.annotation, "__args__", ())) if isinstance(a, type)]
        inner += [b for a in getattr(field.annotation, "__args__", ()) for b in getattr(a, "__args__", ())]
        found = next((a for a in inner if isinstance(a, type) and issubclass(a, BaseModel)), None)
        model = found or model
    return model


def _meta_errors(exc: ValidationError, front: str, path: Path) -> PolicyErrors:
    errors = []
    for error in exc.errors():
        loc = [str(p) for p in error["loc"]]
        model = _model_at(loc)
        fix = _field_fix(error["type"], loc[-1], [f.alias or n for n, f in model.model_fields.items()])
        errors.append(InputFileError(f"{path}:{_front_matter_line(front, loc[-1])}", ".".join(loc), error["msg"], fix))
    return PolicyErrors(errors)


def parse_policy(text: str, path: Path) -> Policy:
    """Parse a policy's text. Raises InputFileError naming `file:line`, the field and the fix (PolicyErrors when
    the front matter has several problems: all of them are listed). The same text at the same path parses once
    per process (the chat page lints and compiles on every rerun)."""
    return _parsed(text, Path(path))


@lru_cache(maxsize=256)
def _parsed(text: str, path: Path) -> Policy:
    text = text.removeprefix("\ufeff")  # a byte-order mark from an editor is not part of the policy
    if not text.startswith("---"):
        raise InputFileError(
            f"{path}:1",
            "front matter",
            "missing",
            "start the file with a '---' block holding name, version, description and limits",
        )
    parts = text.split("\n---", 1)
    if len(parts) != 2:
        raise InputFileError(f"{path}:1", "front matter", "not closed", "end the front matter with a '---' line")
    front = parts[0][3:].lstrip("\n")
    body = parts[1].split("\n", 1)[1] if "\n" in parts[1] else ""
    body_first_line = front.count("\n") + 4
    try:
        data = yaml.safe_load(front) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 2 if mark is not None else 1
        raise InputFileError(
            f"{path}:{line}",
            "front matter",
            f"is not valid YAML ({getattr(exc, 'problem', exc)})",
            "fix the YAML syntax",
        ) from exc
    if not isinstance(data, dict):
        raise InputFileError(f"{path}:2", "front matter", "must be a mapping", "write it as 'key: value' lines")
    try:
        meta = PolicyMeta.model_validate(data)
    except ValidationError as exc:
        raise _meta_errors(exc, front, path) from exc
    return Policy(path=path, meta=meta, body=body, body_first_line=body_first_line, text=text)


def load_policy(path: Path | str) -> Policy:
    path = Path(path)
    if path.exists() and not path.is_dir() and not path.is_file():
        raise InputFileError(path, "", "is not a regular file (a pipe or a device)", "pass a .md policy file")
    if path.is_file() and path.stat().st_size > MAX_POLICY_BYTES:
        raise InputFileError(path, "", f"is {path.stat().st_size / 1e6:.1f} MB; a policy may be at most "
                             f"{MAX_POLICY_BYTES // 1000} KB", "keep the policy to what the agent needs")  # fmt: skip
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise InputFileError(path, "", "policy file not found", "check the path, or list policies/ for names") from exc
    except IsADirectoryError as exc:
        raise InputFileError(path, "", "is a folder, not a policy file", "name a .md file inside it") from exc
    except UnicodeDecodeError as exc:
        raise InputFileError(path, "", "is not UTF-8 text", "save it as UTF-8 markdown") from exc
    return parse_policy(text, path)


class PolicyLibrary:
    """All policies of a folder, found by their front-matter name or file name for `#references`."""

    def __init__(self, policies: list[Policy]) -> None:
        self.by_key: dict[str, Policy] = {}
        for policy in policies:
            self.by_key.setdefault(policy.meta.name.lower(), policy)
            self.by_key.setdefault(policy.path.stem.lower(), policy)

    @staticmethod
    def files(folder: Path = DEFAULT_POLICY_DIR) -> list[Path]:
        """The files `from_dir` reads: those of `folder`, then those of policies/."""
        folders = [folder] if folder.resolve() == DEFAULT_POLICY_DIR.resolve() else [folder, DEFAULT_POLICY_DIR]
        return [p for f in folders for p in sorted(f.glob("*.md"))]

    @classmethod
    def signature(cls, folder: Path = DEFAULT_POLICY_DIR) -> tuple[tuple[str, int, int], ...]:
        """What `from_dir(folder)` would read, as (file, modification time, size): a key for caches of results that
        depend on a policy's neighbours (lint, compilation)."""
        stamps = []
        for path in cls.files(folder):
            try:
                stat = path.stat()
            except OSError:
                continue
            stamps.append((str(path), stat.st_mtime_ns, stat.st_size))
        return tuple(stamps)

    @classmethod
    def from_dir(cls, folder: Path = DEFAULT_POLICY_DIR) -> PolicyLibrary:
        """The policies of `folder`, then those of policies/ for names the folder does not define."""
        policies = []
        for path in cls.files(folder):
            try:
                policies.append(load_policy(path))
            except InputFileError:
                continue  # a broken neighbour is the linter's business, not a reason to refuse this one
        return cls(policies)

    def find(self, name: str) -> Policy | None:
        return self.by_key.get(name.lower())

    def with_policy(self, policy: Policy) -> PolicyLibrary:
        """This library with `policy` (edited text, say) in place of the file it stands for."""
        library = PolicyLibrary([])
        library.by_key = {**self.by_key, policy.meta.name.lower(): policy, policy.path.stem.lower(): policy}
        return library


class PolicyCycleError(InputFileError):
    pass


def resolve_references(policy: Policy, library: PolicyLibrary) -> list[Policy]:
    """The policies `policy` refers to, directly or not, in first-mention order. Raises on unknown names and cycles."""
    ordered: list[Policy] = []

    def visit(current: Policy, chain: list[str]) -> None:
        for ref in current.references:
            target = library.find(ref.name)
            if target is None:
                raise InputFileError(
                    f"{current.path}:{ref.line}",
                    f"#{ref.name}",
                    "unknown policy",
                    "name a policy in the same folder by its front-matter name or file name",
                )
            if target.meta.name in chain:
                cycle = " -> ".join([*chain, target.meta.name])
                raise PolicyCycleError(
                    f"{current.path}:{ref.line}",
                    f"#{ref.name}",
                    f"reference cycle: {cycle}",
                    "remove one of the references",
                )
            if target.meta.name != policy.meta.name and target not in ordered:
                ordered.append(target)
                visit(target, [*chain, target.meta.name])

    visit(policy, [policy.meta.name])
    return ordered
