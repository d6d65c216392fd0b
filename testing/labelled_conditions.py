"""Measuring lint on conditions it may not read: policies labelled with whether an offer depends on who the customer
is, on a worry the customer voices, or on a refusal (`fixtures/labelled/policy_conditions_heldout.yaml`, written by a
helper without sight of the cues). A drafted plan holds none of these conditions, so each must be named by lint on a
labelled line, or (a refusal) be read as one-offer-at-a-time pacing; a policy without them must draw no such warning."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from agent.datafiles import DEFAULT_FIXTURES, read_yaml
from agent.policy.compiled import compile_policy_text
from agent.policy.lint import lint_text

CONDITIONS = DEFAULT_FIXTURES / "labelled" / "policy_conditions_heldout.yaml"
SAID = {  # what lint's message says for each label
    "customer_condition": "condition on the customer",
    "concern_condition": "after a concern",
    "refusal_condition": "pacing",
}
FRONT = (
    "---\nname: Heldout_{n}\nversion: 1.0.0\ndescription: labelled layout\nlimits:\n  max_discount_percent: 100\n---\n"
)


@dataclass(frozen=True)
class ConditionRow:
    id: str
    language: str
    label: str
    truth: bool
    named_on_line: bool  # lint names the condition on a labelled line (or the draft paces the offers, for a refusal)
    named_anywhere: bool  # lint names the condition somewhere in the policy
    any_problem_on_line: bool  # lint names something on a labelled line (the misread is not silent)


def measure(path: Path = CONDITIONS) -> list[ConditionRow]:
    rows = []
    for n, case in enumerate(read_yaml(path)["policies"]):
        front = FRONT.format(n=n)
        offset = front.count("\n")
        text = front + case["text"]
        where = Path(tempfile.gettempdir()) / f"heldout_{n}.md"
        problems = lint_text(text, where)
        paced = _paced(text, where)
        for label, said in SAID.items():
            lines = {offset + line for line in case.get("lines", {}).get(label, [])}
            named = [p for p in problems if said in p.message]
            on_line = any(p.line in lines for p in named) or (label == "refusal_condition" and paced)
            rows.append(
                ConditionRow(
                    case["id"], case["language"], label, bool(case[label]), on_line, bool(named) or on_line,
                    any(p.line in lines for p in problems),
                )
            )  # fmt: skip
    return rows


def _paced(text: str, where: Path) -> bool:
    try:
        return compile_policy_text(text, where).read_plan.pacing == "one_at_a_time"
    except Exception:  # noqa: BLE001 - a policy that does not compile is reported by lint
        return False
