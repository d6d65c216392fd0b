"""`python -m agent lint`: check policies and print `file:line: message` for every problem, all at once.

Errors stop a policy from running (unknown tools or policies, cycles, broken front matter, offers the store would
refuse). Warnings say where the offer reader could not follow the text, so what the offline model does may differ from
what the author meant.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

from agent.errors import InputFileError
from agent.policy.compiled import CompiledPolicy
from agent.policy.coverage import kinds_named, unexplained_lines, unmentioned_offers
from agent.policy.document import (
    MAX_POLICY_BYTES,
    Policy,
    PolicyErrors,
    PolicyLibrary,
    parse_policy,
    resolve_references,
)
from agent.store.fixtures import default_fixtures
from agent.tools.kinds import OfferKind
from agent.tools.toolkit import offer_tools, tool_names

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class LintProblem:
    path: str
    line: int
    message: str
    severity: Severity = "error"

    def __str__(self) -> str:
        marker = "" if self.severity == "error" else "warning: "
        return f"{self.path}:{self.line}: {marker}{self.message}"


def errors_only(problems: list[LintProblem]) -> list[LintProblem]:
    return [p for p in problems if p.severity == "error"]


def _from_error(error: InputFileError) -> LintProblem:
    path, _, line = error.path.rpartition(":")
    if not line.isdigit():
        path, line = error.path, "1"
    detail = f"{error.field}: {error.problem}" if error.field else error.problem
    return LintProblem(path, int(line), f"{detail} ({error.fix})" if error.fix else detail)


def _from_errors(error: InputFileError) -> list[LintProblem]:
    return [_from_error(e) for e in error.errors] if isinstance(error, PolicyErrors) else [_from_error(error)]


def lint_policy(policy: Policy, library: PolicyLibrary) -> list[LintProblem]:
    """Every problem in one parsed policy: unknown tools and policies, cycles, offers the reader or store refuse."""
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
    problems.extend(coverage_problems(compiled))
    return problems


def coverage_problems(compiled: CompiledPolicy) -> list[LintProblem]:
    """Lines that say more about offers than the plan holds, and an explicit plan's offers the text never mentions."""
    plan, main, path = compiled.read_plan, compiled.main, str(compiled.main.path)
    fix = (
        "correct the plan in the front matter" if plan.explicit
        else f"confirm the plan: python -m agent plan {path} drafts it for the front matter"
    )  # fmt: skip
    problems = []
    for found in unexplained_lines(main, plan):
        severity: Severity = "error" if plan.explicit and found.numbers_differ else "warning"
        which = "the plan" if plan.explicit else "the drafted plan"
        message = f"says {'; '.join(found.what)}, which {which} does not hold ({fix})"
        problems.append(LintProblem(path, found.line, message, severity))
    if plan.explicit:
        for kind in unmentioned_offers(main, plan):
            message = f"the plan offers {kind.value} but the text never mentions it (a real model reads only the text)"
            problems.append(LintProblem(path, main.plan_line, message, "warning"))
    return problems


def _problem(compiled: CompiledPolicy, source: str, line: int, message: str, severity: Severity) -> LintProblem:
    path = next((p.path for p in compiled.documents if p.path.name == source), compiled.main.path)
    return LintProblem(str(path), line, message, severity)


def past_the_end(what: str, line: int, last: int, fix: str) -> str:
    return f"plan: {what} says line {line}, but the policy has {last} lines ({fix})"


def plan_line_problems(compiled: CompiledPolicy) -> list[LintProblem]:
    """An explicit plan's `line:` must point at a line of the policy (it is the line the reports quote)."""
    plan = compiled.main.meta.plan
    if plan is None:
        return []
    last = len(compiled.main.text.splitlines())
    entries = [(f"the {o.kind.value} entry", o.line) for o in plan.offers]
    entries += [("the handover", plan.handover.line)] if plan.handover else []
    fix = "point it at the line that says it"
    problems = [
        _problem(
            compiled, compiled.main.path.name, compiled.main.plan_line, past_the_end(what, line, last, fix), "error"
        )
        for what, line in entries
        if line is not None and not 1 <= line <= last
    ]
    lines = compiled.main.text.splitlines()
    for offer in plan.offers:
        if offer.line is not None and 1 <= offer.line <= last and offer.kind not in kinds_named(lines[offer.line - 1]):
            quoted = lines[offer.line - 1].strip()[:60]
            message = f"plan: the {offer.kind.value} entry says line {offer.line} («{quoted}»), which does not name it"
            problems.append(_problem(compiled, compiled.main.path.name, compiled.main.plan_line, message, "warning"))
    return problems


def condition_problems(compiled: CompiledPolicy) -> list[LintProblem]:
    """An explicit plan's conditions that can never hold: a customer group the store does not have, an offer held
    back until a refusal when no offer comes before it."""
    plan = compiled.read_plan
    groups = {g.code.casefold(): g.code for g in default_fixtures().groups.values()}
    problems = []
    for option in plan.options:
        unknown = [g for g in option.groups if g.casefold() not in groups]
        if unknown:
            known = ", ".join(groups.values())
            message = (
                f"plan: the {option.kind.value} entry names customer group {unknown[0]!r}, which the store does not "
                f"have (known: {known})"
            )
            problems.append(_problem(compiled, option.source, option.line, message, "error"))
        if option.after and all(o.after for o in plan.options):
            message = (
                f"plan: the {option.kind.value} entry comes only after a {'/'.join(option.after)}, but every offer "
                "is held back: none is ever made (let one offer come first)"
            )
            problems.append(_problem(compiled, option.source, option.line, message, "warning"))
    return problems


def offer_problems(compiled: CompiledPolicy) -> list[LintProblem]:
    """Offers the store would refuse, and text the offer reader could not follow (from the one offer plan)."""
    read, cap = compiled.read_plan, compiled.max_discount_percent
    problems = []
    discount = read.get(OfferKind.DISCOUNT)
    if discount and discount.top_percent is not None and discount.top_percent > cap:
        message = f"offers a {discount.top_percent:g}% discount but limits.max_discount_percent is {cap:g}"
        problems.append(
            _problem(compiled, discount.source, discount.line, message + " (lower the offer or raise the cap)", "error")
        )
    if discount and cap == 0 and not any(x.kind in (None, OfferKind.DISCOUNT) for x in read.exclusions):
        message = "offers a discount but limits.max_discount_percent is 0 (raise the cap)"
        problems.append(_problem(compiled, discount.source, discount.line, message, "error"))
    coupon = compiled.offer_plan.get(OfferKind.FUTURE_COUPON)
    if coupon and not coupon.percents:
        message = "the future-coupon offer names no percentage (write it, e.g. 'a 20% coupon')"
        problems.append(_problem(compiled, coupon.source, coupon.line, message, "error"))
    for option in read.options:
        limit = read.limit(option.kind)
        if limit is not None and option.top_percent is not None and option.top_percent > limit:
            message = (
                f"offers {option.top_percent:g}% but the policy also says at most {limit:g}% (the lower one is used)"
            )
            problems.append(_problem(compiled, option.source, option.line, message, "warning"))
        excluded = next((x for x in read.exclusions if x.kind == option.kind), None)
        if excluded:
            message = f"{option.kind.value} is offered here and excluded at {excluded.said.where} (it is not offered)"
            problems.append(_problem(compiled, option.source, option.line, message, "warning"))
    problems += plan_line_problems(compiled) + condition_problems(compiled)
    read_kinds = set(read.kinds) | {x.kind for x in read.exclusions}
    for mention in read.unread:
        if offer_tools()[mention.tool] not in read_kinds:
            message = (
                f"names @{mention.tool} but the offer reader could not read an offer here (write one offer per line)"
            )
            problems.append(_problem(compiled, mention.said.source, mention.said.line, message, "warning"))
    if read.unread and not read.options and not read.exclusions:
        message = "names offer tools but the offer reader found no offer: the offline model will make none"
        problems.append(LintProblem(str(compiled.main.path), read.unread[0].said.line, message, "error"))
    return problems


def lint_text(text: str, path: Path) -> list[LintProblem]:
    """Lint policy text as if it were saved at `path` (used for live editing in the app). The same text, at the same
    path, among the same neighbouring files, is linted once per process."""
    path = Path(path)
    return list(_lint_text(text, path, PolicyLibrary.signature(path.parent)))


@lru_cache(maxsize=64)
def _lint_text(text: str, path: Path, _neighbours: tuple[tuple[str, int, int], ...]) -> tuple[LintProblem, ...]:
    return tuple(_lint_text_now(text, path))


def _lint_text_now(text: str, path: Path) -> list[LintProblem]:
    try:
        policy = parse_policy(text, path)
    except InputFileError as exc:
        return _from_errors(exc)
    return lint_policy(policy, PolicyLibrary.from_dir(path.parent).with_policy(policy))


def expand_paths(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        files.extend(sorted(path.glob("*.md")) if path.is_dir() else [path])
    return files


def _read(path: Path) -> str | LintProblem:
    if not path.exists():
        return LintProblem(str(path), 0, "no such file (check the path)")
    if not path.is_dir() and not path.is_file():
        return LintProblem(str(path), 0, "is not a regular file (a pipe or a device; pass a .md file)")
    if path.is_file() and path.stat().st_size > MAX_POLICY_BYTES:
        return LintProblem(str(path), 0, f"is larger than {MAX_POLICY_BYTES // 1000} KB (a policy must fit a prompt)")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return LintProblem(str(path), 1, "is not UTF-8 text (save it as UTF-8 markdown)")
    except IsADirectoryError:
        return LintProblem(str(path), 0, "is a folder (pass the folder itself to lint every .md in it)")


def duplicate_names(found: dict[str, list[Path]]) -> list[LintProblem]:
    return [
        LintProblem(
            str(path),
            2,
            f"name '{name}' is also used by {', '.join(str(p) for p in paths if p != path)} (names must be unique)",
        )
        for name, paths in found.items()
        if len(paths) > 1
        for path in paths
    ]


def lint_paths(paths: list[Path]) -> list[LintProblem]:
    problems: list[LintProblem] = []
    names: dict[str, list[Path]] = defaultdict(list)
    for path in expand_paths(paths):
        text = _read(path)
        if isinstance(text, LintProblem):
            problems.append(text)
            continue
        problems.extend(lint_text(text, path))
        try:
            names[parse_policy(text, path).meta.name.lower()].append(path)
        except InputFileError:
            continue
    return problems + duplicate_names(names)
