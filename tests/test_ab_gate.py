"""The A/B gate for CI, end to end: `evals compare --gate` exits 0 when every guard rail passed, 1 when one failed,
2 when there is not enough evidence, and writes a pull-request summary and a JUnit file; "Ship B?" follows the
primary metric and the gates; `plan-ab` gives the power of the report's own test before a run."""

from __future__ import annotations

import json
import subprocess
import sys
from xml.etree import ElementTree

import pytest

from evals.running.config import RunConfig
from evals.running.runner import execute_run
from tests.conftest import HAND_WRITTEN, POLICIES, ROOT

EXAMPLE = ROOT / "docs" / "examples" / "ab_shipping_first_vs_lean"  # 45 personas x 5 trials; B retains less


def compare(tmp_path, a, b, *gates: str) -> tuple[subprocess.CompletedProcess, object]:
    out = tmp_path / "cmp"
    args = [sys.executable, "-m", "evals", "compare", "--runs", str(a), str(b), "--out", str(out)]
    for gate in gates:
        args += ["--gate", gate]
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True), out


def junit(out) -> ElementTree.Element:
    return ElementTree.parse(out / "gate.junit.xml").getroot()


def test_a_gate_that_holds_exits_0_and_one_that_cannot_be_decided_exits_2(tmp_path):
    result, out = compare(tmp_path, EXAMPLE / "arm_a", EXAMPLE / "arm_b", "adherence>=-2pp")
    assert result.returncode == 0, result.stderr
    assert (
        "gate adherence>=-2pp: pass" in (result.stdout + result.stderr) and "✅ pass" in (out / "gate.md").read_text()
    )
    assert junit(out).attrib == {"name": "retention-lab-ab-gate", "tests": "1", "failures": "0", "skipped": "0"}
    result, out = compare(tmp_path, EXAMPLE / "arm_a", EXAMPLE / "arm_b", "adherence>=-2pp", "retention>=-5pp")
    assert result.returncode == 2, result.stderr
    suite = junit(out)
    assert (suite.attrib["tests"], suite.attrib["skipped"]) == ("2", "1")
    skipped = suite.find("testcase[@name='retention>=-5pp']/skipped")
    assert skipped is not None and "straddles" in skipped.attrib["message"]
    assert "Ship B? no" in (result.stdout + result.stderr)  # retention is significantly worse under B


@pytest.fixture(scope="module")
def retention_and_none(tmp_path_factory):
    root = tmp_path_factory.mktemp("arms")
    arms = {}
    policies = {"offers": POLICIES / "retention_offers.md", "none": POLICIES / "cancel_without_retention.md"}
    for name, policy in policies.items():
        config = RunConfig(policies=[policy], trials=5, out=root / name, cache_path=None, persona_ids=HAND_WRITTEN)
        execute_run(config)
        arms[name] = root / name
    return arms


@pytest.mark.slow
def test_dropping_retention_fails_its_gate_and_is_no_ship(tmp_path, retention_and_none):
    result, out = compare(tmp_path, retention_and_none["offers"], retention_and_none["none"], "retention>=-5pp")
    assert result.returncode == 1, result.stdout + result.stderr
    failure = junit(out).find("testcase[@name='retention>=-5pp']/failure")
    assert failure is not None and "wrong side of -5 pp" in failure.attrib["message"]
    assert "Ship B? no." in (result.stdout + result.stderr) and "❌ fail" in (out / "gate.md").read_text()


@pytest.mark.slow
def test_adding_retention_with_guard_rails_that_hold_is_a_ship(tmp_path, retention_and_none):
    result, out = compare(tmp_path, retention_and_none["none"], retention_and_none["offers"], "escalation<=+30pp")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Ship B? yes." in (result.stdout + result.stderr)
    assert "Every guard rail held: escalation&lt;=+30pp" in (out / "gate.md").read_text()  # Markdown-escaped


@pytest.mark.parametrize(
    ("gate", "needle"),
    [
        ("retention>-5pp", "cannot read 'retention>-5pp'"),
        ("happiness>=0pp", "names no metric of the report"),
        ("value>=-5pp", "gives value in pp"),
        ("retention>=-5usd", "gives retention in usd"),
    ],
)
def test_a_gate_that_cannot_be_read_is_refused_in_one_line_before_anything_is_written(tmp_path, gate, needle):
    result, out = compare(tmp_path, EXAMPLE / "arm_a", EXAMPLE / "arm_b", gate)
    assert result.returncode == 2 and needle in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and not out.exists()


def test_value_kept_net_of_offer_cost_can_be_the_primary_metric_with_a_dollar_gate(tmp_path):
    out = tmp_path / "cmp"
    result = subprocess.run(
        [sys.executable, "-m", "evals", "compare", "--runs", str(EXAMPLE / "arm_a"), str(EXAMPLE / "arm_b"),
         "--out", str(out), "--primary", "value", "--gate", "value>=-50usd"],
        cwd=ROOT, capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    data = json.loads((out / "comparison.json").read_text())
    value = next(m for m in data["metrics"] if m["metric"] == "value")
    assert (data["primary"], value["role"], value["unit"], value["alpha"]) == ("value", "primary", "USD", 0.025)
    assert value["diff"] < 0 and value["a_mean"] > value["b_mean"]  # lean keeps less net of cost on these personas
    assert "USD (97.5% interval" in value["interval"] and data["gates"][0]["result"] == "pass"
    assert "On value, the primary metric" in data["ship_why"]


def test_plan_ab_says_more_trials_add_nothing_when_the_setup_cannot_vary():
    result = subprocess.run(
        [sys.executable, "-m", "evals", "plan-ab", "--persona", "declines_everything", "--persona", "wants_a_swap",
         "--trials", "3", "--effect", "50pp"],
        cwd=ROOT, capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Power now: 0%" in (result.stdout + result.stderr) and "More trials add nothing here" in (
        result.stdout + result.stderr
    )
    assert "needs at least 7 moving the same way, so about 14 personas" in (result.stdout + result.stderr)
