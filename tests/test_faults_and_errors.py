"""Faults and errors are kept apart from the policy: a dead model server makes every conversation an `error`
(counted, shown, excluded from every rate, exit status 1), and transient backend faults that were retried never
fail a rule."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from evals.running.config import RunConfig
from evals.running.runner import execute_run
from evals.schema.records import read_results
from evals.stats.metrics import summarize
from tests.conftest import POLICIES, ROOT


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_a_model_server_that_refuses_connections_makes_errors_not_outcomes(tmp_path):
    out = tmp_path / "run"
    result = subprocess.run(
        [sys.executable, "-m", "evals", "run", "--policy", str(POLICIES / "retention_offers.md"),
         "--persona", "discount_at_once", "--persona", "declines_everything", "--trials", "2", "--no-cache",
         "--model", "openai:local", "--base-url", f"http://127.0.0.1:{free_port()}/v1", "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
        env={"PATH": "/usr/bin:/bin", "OPENAI_API_KEY": "sk-test-not-a-real-key", "HOME": str(tmp_path)},
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    assert "4 conversation(s) ended in a model or connection error" in result.stderr
    assert "errors" in result.stderr and "Traceback" not in result.stderr
    records = read_results(out)
    assert [r.outcome for r in records] == ["error"] * 4
    summary = summarize(records)["retention_offers"]
    assert summary.errors == 4
    assert all(rate.n == 0 for rate in summary.outcomes.values()) and summary.correct.n == 0
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "error" in report


def test_transient_backend_faults_that_were_retried_fail_no_rule(tmp_path):
    config = RunConfig(policies=[POLICIES / "retention_offers.md"], trials=4, fault_rate=0.2, seed=5,
                       out=tmp_path / "faults", cache_path=None)  # fmt: skip
    records = execute_run(config)
    assert sum(r.faults_met > 0 for r in read_results(tmp_path / "faults")) >= 10
    failures = [(r.key, s.name, s.evidence) for r in records for s in r.scores if s.passed is False]
    assert failures == []
