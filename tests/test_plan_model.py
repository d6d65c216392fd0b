"""A model drafts the plan (`python -m agent plan FILE --plan-model SPEC`) over the real OpenAI path, against a stub
server: a valid plan is printed (and checked against the text like any plan), written into the front matter on
--write, cached by the policy's text; a reply that is not a plan, and the offline model, are one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import yaml

from agent.policy.plan_spec import PlanSpec
from testing.openai_stub import OpenAIStub, text_reply
from tests.conftest import POLICIES, ROOT, prose_only

PLAN = {
    "pacing": "together",
    "stacking": False,
    "offers": [
        {"kind": "discount", "percent": 10, "max_percent": 15, "line": 24},
        {"kind": "shipping_upgrade", "line": 25},
        {"kind": "swap", "line": 26},
        {"kind": "future_coupon", "percent": 20, "line": 27},
    ],
    "excluded": [],
    "handover": {"when": ["concern", "request"], "line": 46},
}


def plan_command(stub: OpenAIStub, policy, *extra: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "agent", "plan", str(policy), "--plan-model", "openai:stub", "--base-url",
            stub.base_url, *extra]  # fmt: skip
    return subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "OPENAI_API_KEY": "sk-test"})  # fmt: skip


@pytest.fixture
def drafted_policy(tmp_path):
    policy = tmp_path / "retention_offers.md"
    policy.write_text(prose_only((POLICIES / "retention_offers.md").read_text(encoding="utf-8")), encoding="utf-8")
    return policy


def test_a_models_plan_is_printed_checked_and_cached(tmp_path, drafted_policy):
    cache = tmp_path / "cache.sqlite"
    with OpenAIStub([text_reply(json.dumps(PLAN))]) as stub:
        first = plan_command(stub, drafted_policy, "--cache", str(cache))
        again = plan_command(stub, drafted_policy, "--cache", str(cache))
        calls = len(stub.requests)
    assert first.returncode == 0, first.stderr
    assert "drafted by openai:stub" in first.stdout and "lines this plan does not hold" not in first.stdout
    printed = yaml.safe_load(first.stdout)["plan"]
    assert PlanSpec.model_validate(printed) == PlanSpec.model_validate(PLAN)
    assert again.stdout == first.stdout and calls == 1  # the second answer came from the cache
    system, user = (m["content"] for m in stub.requests[0]["messages"][:2])
    assert "retention policy" in system and "24: - A discount on this order" in user  # the policy's numbered lines


def test_a_models_plan_that_leaves_out_an_offer_is_named_line_by_line(drafted_policy):
    partial = {**PLAN, "offers": PLAN["offers"][:2]}
    with OpenAIStub([text_reply(json.dumps(partial))]) as stub:
        done = plan_command(stub, drafted_policy, "--no-cache")
    assert done.returncode == 0
    assert "#   line 26: swap (not in the plan)" in done.stdout
    assert "#   line 27: future_coupon (not in the plan)" in done.stdout


def test_write_puts_the_models_plan_into_the_front_matter(drafted_policy):
    with OpenAIStub([text_reply(json.dumps(PLAN))]) as stub:
        done = plan_command(stub, drafted_policy, "--no-cache", "--write")
    assert done.returncode == 0, done.stderr
    assert drafted_policy.read_text(encoding="utf-8") == (POLICIES / "retention_offers.md").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("reply", "needle"),
    [
        (text_reply("The policy offers a discount and a coupon."), "not a valid PlanSpec"),
        (text_reply(json.dumps({"offers": [{"kind": "cashback"}]})), "not a valid PlanSpec"),
    ],
)
def test_an_answer_that_is_not_a_plan_is_one_line(drafted_policy, reply, needle):
    with OpenAIStub([reply]) as stub:
        done = plan_command(stub, drafted_policy, "--no-cache")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and needle in done.stderr and "--plan-model" in done.stderr
