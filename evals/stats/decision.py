"""From verdicts to a decision: guard rails as gates (`--gate "retention>=-5pp"`), each passed, failed or not
decided by the interval of its metric, and the "Ship B?" answer in one paragraph.

A gate `METRIC>=MARGIN` passes when the whole interval of B − A lies above the margin (B is shown to be no worse than
that), fails when the whole interval lies below it, and otherwise there is not enough evidence; `<=` the other way.
The interval is the one the report prints, at the metric's share of the error budget.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel

from agent.errors import InputFileError
from evals.stats.verdicts import MetricComparison

GATE = re.compile(
    r"^\s*(?P<metric>[a-z_.]+)\s*(?P<op>>=|<=)\s*(?P<margin>[+-]?\d+(?:\.\d+)?)\s*(?P<unit>pp|usd)\s*$", re.IGNORECASE
)
GateResult = Literal["pass", "fail", "not enough evidence"]
GOOD_DIRECTION = {"retention": 1, "cancellation": -1, "value": 1}


class Gate(BaseModel):
    text: str
    metric: str
    op: str
    margin: float  # a fraction for rates (-5pp is -0.05), dollars for value (-5usd is -5.0)
    result: GateResult = "not enough evidence"
    why: str = ""


def parse_gate(text: str, known: list[str]) -> Gate:
    found = GATE.match(text)
    if not found:
        fix = "write it as METRIC>=-5pp, METRIC<=+2pp or value>=-3usd"
        raise InputFileError("compare", "--gate", f"cannot read {text!r}", fix)
    metric, unit = found["metric"].lower(), found["unit"].lower()
    if metric not in known:
        names = ", ".join(k for k in known if "." not in k)
        fix = f"use one of {names}, or adherence.RULE"
        raise InputFileError("compare", "--gate", f"{text!r} names no metric of the report ({metric})", fix)
    if (metric == "value") != (unit == "usd"):
        fix = "value is in dollars (value>=-3usd); rates are in points (retention>=-5pp)"
        raise InputFileError("compare", "--gate", f"{text!r} gives {metric} in {unit}", fix)
    margin = float(found["margin"]) / (100 if unit == "pp" else 1)
    return Gate(text=text.strip(), metric=metric, op=found["op"], margin=margin)


def judge_gate(gate: Gate, metric: MetricComparison | None) -> Gate:
    if metric is None or not metric.pairs:
        return gate.model_copy(update={"why": f"{gate.metric} did not come up in these conversations"})
    low = -float("inf") if metric.open_low else metric.diff_low or 0.0
    high = float("inf") if metric.open_high else metric.diff_high or 0.0
    shown = (
        f"B − A = {metric.amount(metric.diff or 0)}, {metric.interval}"
        if metric.spread
        else f"B − A = {metric.amount(metric.diff or 0)} for every persona"
    )
    margin = metric.amount(gate.margin)
    above, below = low > gate.margin, high < gate.margin
    passed, failed = (above, below) if gate.op == ">=" else (below, above)
    result: GateResult = "pass" if passed else "fail" if failed else "not enough evidence"
    side = "above" if gate.op == ">=" else "below"
    whole = ", the whole interval" if metric.spread else ""
    why = {
        "pass": f"{shown}: {side} {margin}{whole}",
        "fail": f"{shown}: on the wrong side of {margin}{whole}",
        "not enough evidence": f"{shown}: the interval straddles {margin}",
    }[result]
    return gate.model_copy(update={"result": result, "why": why})


def gate_exit_code(gates: list[Gate]) -> int:
    """0 every gate passed, 1 some gate failed, 2 otherwise (not enough evidence)."""
    if any(g.result == "fail" for g in gates):
        return 1
    return 0 if all(g.result == "pass" for g in gates) else 2


def ship_decision(
    primary: MetricComparison | None, gates: list[Gate], personas: int, weighting: str = "each weighted once"
) -> tuple[str, str]:
    """("yes" | "no" | "not enough evidence", one paragraph saying why and what to do next)."""
    failed = [g for g in gates if g.result == "fail"]
    unsure = [g for g in gates if g.result == "not enough evidence"]
    if primary is None or not primary.pairs:
        return "not enough evidence", "The primary metric did not come up in these conversations."
    good = GOOD_DIRECTION.get(primary.metric, 1) * (primary.diff or 0) > 0
    name = primary.metric
    head = f"On {name}, the primary metric, {primary.verdict}."
    if failed:
        return "no", f"{head} Guard rail(s) failed: " + "; ".join(f"{g.text} ({g.why})" for g in failed) + "."
    if primary.significant and not good:
        return "no", f"{head} B is worse than A on {name} across these {personas} personas."
    if primary.significant and good and not unsure:
        held = f" Every guard rail held: {', '.join(g.text for g in gates)}." if gates else " No guard rail was set."
        return "yes", f"{head}{held} The claim is about these {personas} personas, {weighting}."
    todo = []
    if not primary.significant:
        todo.append(f"{name} shows no difference at its level: add personas that the two wordings could treat "
                    "differently (or, where trials can vary, more trials)")  # fmt: skip
    if unsure:
        todo.append("guard rail(s) undecided: " + "; ".join(f"{g.text} ({g.why})" for g in unsure))
    text = "; ".join(todo)
    return "not enough evidence", f"{head} {text[0].upper()}{text[1:]}."
