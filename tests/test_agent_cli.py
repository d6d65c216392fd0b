from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import ROOT


def run_chat(stdin: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agent", "chat", *args],
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_three_piped_lines_end_in_the_expected_state(tmp_path):
    out = tmp_path / "state.json"
    result = run_chat(
        "Hi, I want to cancel my order\nNo thanks\nThank you\n",
        "--policy",
        "policies/retention_offers.md",
        "--customer",
        "7",
        "--state-out",
        str(out),
    )
    assert result.returncode == 0, result.stderr
    assert "[tool] cancel_order" in result.stdout
    data = json.loads(out.read_text())
    assert [(o["increment_id"], o["status"]) for o in data["final_state"]["orders"]] == [("000000113", "canceled")]
    assert len(data["transcript"]) == 6 and data["trace"][-1]["tool"] == "cancel_order"


@pytest.mark.slow
def test_bad_arguments_give_one_line_errors():
    for args, needle in [
        (("--policy", "nope.md", "--customer", "1"), "nope.md: policy file not found"),
        (("--policy", "policies/retention_offers.md", "--customer", "99"), "no customer 99"),
        (
            ("--policy", "policies/retention_offers.md", "--customer", "1", "--model", "openai:gpt-x"),
            "OPENAI_API_KEY is not set",
        ),
        (
            ("--policy", "policies/retention_offers.md", "--customer", "1", "--model", "claude"),
            "unknown model 'claude'",
        ),
    ]:
        result = run_chat("", *args)
        assert result.returncode == 2 and needle in result.stderr and "Traceback" not in result.stderr, result.stderr
