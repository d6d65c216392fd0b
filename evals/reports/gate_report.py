"""The gate's outputs for CI: a Markdown summary fit for a pull-request comment (gate.md) and a JUnit XML file
(gate.junit.xml), one test case per gate: a failed gate is a failure, an undecided one is skipped with its reason."""

from __future__ import annotations

from pathlib import Path
from xml.etree import ElementTree

from evals.reports.escaping import markdown_text
from evals.reports.report import atomic
from evals.stats.comparison import Comparison

MARK = {"pass": "✅ pass", "fail": "❌ fail", "not enough evidence": "⚠️ not enough evidence"}


def _md(value: str) -> str:
    return str(markdown_text(value))


def gate_markdown(c: Comparison) -> str:
    lines = [
        f"### Retention Lab A/B gate: {_md(c.a_label)} → {_md(c.b_label)}",
        "",
        f"**Ship B? {c.ship}.** {_md(c.ship_why)}",
        "",
        "| gate | result | why |",
        "|---|---|---|",
        *(f"| {_md(g.text)} | {MARK[g.result]} | {_md(g.why)} |" for g in c.gates),
        "",
        f"{c.personas} personas × {c.trials} trials, model {_md(c.model)}. Claims are about these personas, "
        f"{_md(c.weighting)}; one 5% error budget covers every claim in the report.",
    ]
    return "\n".join(lines) + "\n"


def gate_junit(c: Comparison) -> str:
    suite = ElementTree.Element(
        "testsuite",
        name="retention-lab-ab-gate",
        tests=str(len(c.gates)),
        failures=str(sum(g.result == "fail" for g in c.gates)),
        skipped=str(sum(g.result == "not enough evidence" for g in c.gates)),
    )
    for gate in c.gates:
        case = ElementTree.SubElement(suite, "testcase", classname="ab_gate", name=gate.text)
        if gate.result == "fail":
            ElementTree.SubElement(case, "failure", message=gate.why, type="gate_failed").text = gate.why
        elif gate.result == "not enough evidence":
            ElementTree.SubElement(case, "skipped", message=f"not enough evidence: {gate.why}")
    return ElementTree.tostring(suite, encoding="unicode", xml_declaration=True) + "\n"


def write_gate(c: Comparison, out: Path) -> list[Path]:
    paths = [out / "gate.md", out / "gate.junit.xml"]
    for path, text in zip(paths, (gate_markdown(c), gate_junit(c)), strict=True):
        with atomic(path) as tmp:
            tmp.write_text(text, encoding="utf-8")
    return paths
