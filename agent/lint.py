"""`python -m agent lint`: check policies and print `file:line: message` for every problem."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from agent.errors import InputFileError
from agent.offer_plan import read_offer_plan
from agent.policy import Policy, PolicyLibrary, parse_policy, resolve_references
from agent.toolspec import known_tool_names, offer_tool_kinds


@dataclass(frozen=True)
class LintProblem:
    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


def _from_error(error: InputFileError) -> LintProblem:
    path, _, line = error.path.rpartition(":")
    if not line.isdigit():
        path, line = error.path, "1"
    detail = f"{error.field}: {error.problem}" if error.field else error.problem
    return LintProblem(path, int(line), f"{detail} ({error.fix})" if error.fix else detail)


def lint_policy(policy: Policy, library: PolicyLibrary) -> list[LintProblem]:
    """Every problem in one parsed policy: unknown tools and policies, cycles, offers beyond the cap."""
    problems = []
    tools = known_tool_names()
    for mention in policy.tools:
        if mention.name not in tools:
            problems.append(
                LintProblem(
                    str(policy.path),
                    mention.line,
                    f"@{mention.name}: unknown tool (known tools: {', '.join(sorted(tools))})",
                )
            )
    try:
        resolve_references(policy, library)
    except InputFileError as exc:
        problems.append(_from_error(exc))
    problems.extend(_offer_problems(policy))
    return problems


def _offer_problems(policy: Policy) -> list[LintProblem]:
    cap = policy.meta.limits.max_discount_percent
    plan = read_offer_plan(policy.body, offer_tool_kinds(), policy.body_first_line)
    problems = []
    discount = plan.get("discount")
    if discount and discount.top_percent is not None and discount.top_percent > cap:
        problems.append(
            LintProblem(
                str(policy.path),
                discount.line,
                f"offers a {discount.top_percent:g}% discount but limits.max_discount_percent is "
                f"{cap:g} (lower the offer or raise the cap)",
            )
        )
    if discount and cap == 0:
        problems.append(
            LintProblem(
                str(policy.path),
                discount.line,
                "offers a discount but limits.max_discount_percent is 0 (raise the cap)",
            )
        )
    coupon = plan.get("future_coupon")
    if coupon and not coupon.percents:
        problems.append(
            LintProblem(
                str(policy.path),
                coupon.line,
                "the future-coupon offer names no percentage (write it, e.g. 'a 20% coupon')",
            )
        )
    return problems


def lint_text(text: str, path: Path) -> list[LintProblem]:
    """Lint policy text as if it were saved at `path` (used for live editing in the app)."""
    try:
        policy = parse_policy(text, path)
    except InputFileError as exc:
        return [_from_error(exc)]
    library = PolicyLibrary.from_dir(path.parent)
    library.by_key[policy.meta.name.lower()] = policy
    library.by_key[path.stem.lower()] = policy
    return lint_policy(policy, library)


def expand_paths(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        files.extend(sorted(path.glob("*.md")) if path.is_dir() else [path])
    return files


def lint_paths(paths: list[Path]) -> list[LintProblem]:
    problems: list[LintProblem] = []
    for path in expand_paths(paths):
        if not path.exists():
            problems.append(LintProblem(str(path), 0, "no such file (check the path)"))
            continue
        problems.extend(lint_text(path.read_text(encoding="utf-8"), path))
    return problems
