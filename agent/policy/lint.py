"""`python -m agent lint`: check policies and print `file:line: message` for every problem."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from agent.errors import InputFileError
from agent.policy.compiled import CompiledPolicy
from agent.policy.document import Policy, PolicyLibrary, parse_policy, resolve_references
from agent.tools.kinds import OfferKind
from agent.tools.toolkit import tool_names


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
    tools = tool_names()
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
        compiled = CompiledPolicy(policy, resolve_references(policy, library))
    except InputFileError as exc:
        problems.append(_from_error(exc))
        compiled = CompiledPolicy(policy)
    problems.extend(offer_problems(compiled))
    return problems


def offer_problems(compiled: CompiledPolicy) -> list[LintProblem]:
    """Offers the store would refuse, read from the one offer plan (included policies' offers too)."""
    cap = compiled.max_discount_percent
    plan = compiled.offer_plan
    problems = []
    discount = plan.get(OfferKind.DISCOUNT)
    if discount and discount.top_percent is not None and discount.top_percent > cap:
        problems.append(
            LintProblem(
                str(_path_of(compiled, discount.source)),
                discount.line,
                f"offers a {discount.top_percent:g}% discount but limits.max_discount_percent is "
                f"{cap:g} (lower the offer or raise the cap)",
            )
        )
    if discount and cap == 0:
        problems.append(
            LintProblem(
                str(_path_of(compiled, discount.source)),
                discount.line,
                "offers a discount but limits.max_discount_percent is 0 (raise the cap)",
            )
        )
    coupon = plan.get(OfferKind.FUTURE_COUPON)
    if coupon and not coupon.percents:
        problems.append(
            LintProblem(
                str(_path_of(compiled, coupon.source)),
                coupon.line,
                "the future-coupon offer names no percentage (write it, e.g. 'a 20% coupon')",
            )
        )
    return problems


def _path_of(compiled: CompiledPolicy, source: str) -> Path:
    return next((p.path for p in compiled.documents if p.path.name == source), compiled.main.path)


def lint_text(text: str, path: Path) -> list[LintProblem]:
    """Lint policy text as if it were saved at `path` (used for live editing in the app)."""
    try:
        policy = parse_policy(text, path)
    except InputFileError as exc:
        return [_from_error(exc)]
    return lint_policy(policy, PolicyLibrary.from_dir(path.parent).with_policy(policy))


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
