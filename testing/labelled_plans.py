"""The labelled policy layouts (`fixtures/labelled/policy_plans_heldout.yaml`, written without sight of the reader's
rules): each body wrapped as a policy, its drafted plan compared with the label, and lint's problems on it. A misread
is *silent* when lint says nothing about it. `benchmarks`-style figures come from `scripts/plan_accuracy.py`; the
tests keep the silent-misread count at zero."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from agent.datafiles import DEFAULT_FIXTURES, read_yaml
from agent.policy.compiled import CompiledPolicy, compile_policy_text
from agent.policy.coverage import unexplained_lines
from agent.policy.lint import LintProblem, lint_text
from agent.policy.plan import OfferPlan
from agent.policy.plan_spec import PlanSpec
from agent.store.domain import STATUS_GROUPS

HELDOUT = DEFAULT_FIXTURES / "labelled" / "policy_plans_heldout.yaml"
HELDOUT2 = DEFAULT_FIXTURES / "labelled" / "policy_plans_heldout2.yaml"  # written after the coverage check
FRONT = (
    "---\nname: Labelled_{index}\nversion: 1.0.0\ndescription: a labelled layout\n"
    "limits:\n  max_discount_percent: 100\n---\n"
)


@dataclass(frozen=True)
class PlanCase:
    name: str
    language: str
    hard: bool
    body: str
    label: PlanSpec
    handover: bool

    def text(self, index: int) -> str:
        return FRONT.format(index=index) + self.body


@dataclass(frozen=True)
class PlanRow:
    case: PlanCase
    differences: list[str]
    problems: list[LintProblem]

    @property
    def exact(self) -> bool:
        return not self.differences

    @property
    def silent(self) -> bool:
        return not self.exact and not self.problems


@cache
def load_cases(path: Path = HELDOUT) -> tuple[PlanCase, ...]:
    cases = []
    for raw in read_yaml(path)["cases"]:
        plan = dict(raw["plan"])
        handover = bool(plan.pop("handover", False))
        cases.append(PlanCase(raw["name"], raw.get("language", "en"), bool(raw.get("hard")), raw["body"],
                              PlanSpec.model_validate(plan), handover))  # fmt: skip
    return tuple(cases)


def _statuses(groups: Sequence[str] | None) -> set[str]:
    return {s for g in groups or [] for s in STATUS_GROUPS[g]}


def _tiers(tiers: Any) -> list[tuple[float | None, float | None, float]]:
    return [(t.from_, t.below, t.percent) for t in tiers or ()]


def differences(label: PlanSpec, handover: bool, plan: OfferPlan) -> list[str]:
    """What the plan gets wrong against the label: offers (order, numbers, conditions), exclusions, pacing,
    stacking and hand-over. Empty when the plan is read exactly."""
    found: list[str] = []
    want = [o.kind.value for o in label.ordered_offers()]
    got = [o.kind.value for o in plan.options]
    if want != got:
        found.append(f"offers {got} (want {want})")
    for offer in label.ordered_offers():
        option = plan.get(offer.kind)
        if option is None:
            continue
        first = option.first_percent if not option.tiers else None
        top = option.ceiling if option.tiers else option.top_percent
        top = top if top != first else None
        wanted_first = offer.percent
        wanted_top = offer.max_percent if offer.max_percent != offer.percent else None
        if wanted_first is None and wanted_top is not None and not offer.tiers:
            wanted_first, wanted_top = wanted_top, None  # "up to 15%": one figure either way
        if (first, top) != (wanted_first, wanted_top):
            found.append(f"{offer.kind.value} percents {first}/{top} (want {wanted_first}/{wanted_top})")
        if _tiers(option.tiers) != _tiers(offer.tiers):
            found.append(f"{offer.kind.value} tiers {_tiers(option.tiers)} (want {_tiers(offer.tiers)})")
        wanted_statuses = _statuses(offer.when.order_status if offer.when else None)
        if set(option.statuses) != wanted_statuses:
            found.append(f"{offer.kind.value} statuses {sorted(option.statuses)} (want {sorted(wanted_statuses)})")
    everything = any(x.kind is None for x in plan.exclusions)
    excluded = {k.value for k in label.excluded}
    got_excluded = (
        {"discount", "shipping_upgrade", "swap", "future_coupon"}
        if everything
        else {x.kind.value for x in plan.exclusions if x.kind}
    )
    if excluded - set(got) != got_excluded - set(got):
        found.append(f"excluded {sorted(got_excluded)} (want {sorted(excluded)})")
    if len(want) > 1 and plan.pacing != label.pacing:
        found.append(f"pacing {plan.pacing} (want {label.pacing})")
    if plan.stacking != label.stacking:
        found.append(f"stacking {plan.stacking} (want {label.stacking})")
    if (plan.handover_said is not None) != handover:
        found.append(f"handover {plan.handover_said is not None} (want {handover})")
    return found


Drafter = Callable[[CompiledPolicy], PlanSpec | None]


def measure(path: Path = HELDOUT, drafter: Drafter | None = None, limit: int | None = None) -> list[PlanRow]:
    """Each case's plan against its label: the rules' draft, or `drafter`'s (a model's; None when it gave no plan,
    which counts as a misread named by its error). Lint's problems are those of the plan measured."""
    rows = []
    for index, case in enumerate(load_cases(path)[:limit]):
        text, where = case.text(index), Path(f"labelled/{case.name.replace(' ', '_')}.md")
        compiled: CompiledPolicy = compile_policy_text(text, where)
        if drafter is None:
            plan, problems = compiled.read_plan, lint_text(text, where)
        else:
            spec = drafter(compiled)
            if spec is None:
                rows.append(PlanRow(case, ["the model gave no plan"], [LintProblem(str(where), 1, "no plan")]))
                continue
            plan = compiled.plan_from(spec)
            problems = [
                LintProblem(str(where), u.line, "; ".join(u.what)) for u in unexplained_lines(compiled.main, plan)
            ]
        rows.append(PlanRow(case, differences(case.label, case.handover, plan), problems))
    return rows
