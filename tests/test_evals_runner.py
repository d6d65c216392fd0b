"""The runner: correct outcomes on every persona, resume after SIGKILL, and a cache that makes reruns free."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from agent.models.offline.model import ReferenceChatModel
from evals.personas.loader import load_personas
from evals.reports.report import write_report
from evals.running.config import RunConfig
from evals.running.runner import execute_run
from evals.schema.records import read_results
from tests.conftest import POLICIES, ROOT

RETENTION = POLICIES / "retention_offers.md"


def test_default_policy_all_personas_three_trials_are_all_correct(tmp_path):
    records = execute_run(RunConfig(policies=[RETENTION], trials=3, out=tmp_path / "run", cache_path=None))
    personas = load_personas()
    assert len(records) == len(personas) * 3
    wrong = [(r.key, r.outcome, r.expected.outcome) for r in records if not r.correct]
    assert wrong == []
    broken = [(r.key, s.name, s.evidence) for r in records for s in r.scores if s.passed is False]
    assert broken == []
    lines = (tmp_path / "run" / "results.jsonl").read_text().splitlines()
    assert len(lines) == len(records) and len({json.loads(line)["key"] for line in lines}) == len(lines)


@pytest.mark.slow
def test_sigkill_then_resume_gives_exactly_one_record_per_conversation(tmp_path):
    out = tmp_path / "run"
    command = [
        sys.executable,
        "-m",
        "evals",
        "run",
        "--policy",
        str(RETENTION),
        "--policy",
        str(POLICIES / "retention_offers_lean.md"),
        "--trials",
        "4",
        "--concurrency",
        "2",
        "--out",
        str(out),
        "--no-cache",
    ]
    process = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    results = out / "results.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and (not results.exists() or len(results.read_text().splitlines()) < 10):
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    partial = len(read_results(out))
    total = len(load_personas()) * 2 * 4
    assert 10 <= partial < total, "the kill should land halfway"
    refused = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    assert refused.returncode == 2 and "pass --resume" in refused.stderr
    resumed = subprocess.run([*command, "--resume"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    keys = [json.loads(line)["key"] for line in results.read_text().splitlines()]
    assert len(keys) == total and len(set(keys)) == total


def test_rerun_of_an_unchanged_eval_makes_zero_model_calls(tmp_path, monkeypatch):
    """The model-reply cache alone (finished conversations are not reused here: see tests/test_result_cache.py)."""
    from evals.running.result_cache import FinishedConversations

    monkeypatch.setattr(FinishedConversations, "for_run", classmethod(lambda cls, config, policies: None))
    calls = {"n": 0}
    original = ReferenceChatModel._generate

    def counting(self, *args, **kwargs):
        calls["n"] += 1
        return original(self, *args, **kwargs)

    monkeypatch.setattr(ReferenceChatModel, "_generate", counting)
    config = {"policies": [RETENTION], "trials": 2, "cache_path": tmp_path / "cache.sqlite", "concurrency": 3}
    first = execute_run(RunConfig(**config, out=tmp_path / "first"))
    first_calls = calls["n"]
    calls["n"] = 0
    second = execute_run(RunConfig(**config, out=tmp_path / "second"))
    assert first_calls > 100 and calls["n"] == 0
    assert sum(r.model_calls for r in first) == first_calls  # per-conversation counts are exact under concurrency
    assert sum(r.model_calls for r in second) == 0
    assert [(r.key, r.outcome) for r in sorted(first, key=lambda r: r.key)] == [
        (r.key, r.outcome) for r in sorted(second, key=lambda r: r.key)
    ]


def test_resume_with_other_settings_is_refused(tmp_path):
    out = tmp_path / "run"
    execute_run(RunConfig(policies=[RETENTION], trials=1, out=out, cache_path=None, persona_ids=["discount_at_once"]))
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "evals",
            "run",
            "--policy",
            str(RETENTION),
            "--trials",
            "2",
            "--persona",
            "discount_at_once",
            "--out",
            str(out),
            "--resume",
            "--no-cache",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2 and "made with other settings" in result.stderr


def test_report_escapes_customer_text_and_writes_three_files(tmp_path):
    out = tmp_path / "run"
    execute_run(
        RunConfig(
            policies=[RETENTION],
            trials=1,
            out=out,
            cache_path=None,
            persona_ids=["discount_at_once", "declines_everything"],
        )
    )
    lines = (out / "results.jsonl").read_text().splitlines()
    record = json.loads(lines[0])
    record["transcript"][0]["content"] = "<script>alert('x')</script>"
    lines[0] = json.dumps(record)
    (out / "results.jsonl").write_text("\n".join(lines) + "\n")
    html, md, csv = write_report(out)
    page = html.read_text()
    assert "<script>alert" not in page and "&lt;script&gt;alert" in page
    assert page.count("<details") == 2 and "<svg" in page and "http" not in page.split("<body>")[0]
    assert "| retention_offers |" in md.read_text()
    assert csv.read_text().splitlines()[0].startswith("key,policy,persona,trial,seed")


@pytest.mark.slow
def test_bad_cli_arguments_get_one_line_errors(tmp_path):
    for args, needle in [
        (["--policy", "nope.md"], "nope.md: --policy: no such file"),
        (["--policy", str(RETENTION), "--trials", "0"], "--trials: Input should be greater than or equal to 1"),
        (["--policy", str(RETENTION), "--persona", "nobody"], "unknown: nobody"),
        (["--policy", str(RETENTION), "--model", "openai:gpt-4o-mini"], "OPENAI_API_KEY is not set"),
    ]:
        env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "OPENAI_BASE_URL")}
        result = subprocess.run(
            [sys.executable, "-m", "evals", "run", *args, "--out", str(tmp_path / "o"), "--no-cache"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            env=env,
        )
        assert result.returncode == 2 and needle in result.stderr and "Traceback" not in result.stderr, result.stderr


def test_a_run_freezes_what_exists_out_of_the_collector_and_gives_it_back_after():
    import gc

    from evals.running.heap import long_lived_objects_frozen

    assert gc.get_freeze_count() == 0
    with long_lived_objects_frozen():
        frozen = gc.get_freeze_count()
        assert frozen > 0  # the modules, fixtures and graphs that exist are out of its walks
        with long_lived_objects_frozen():  # a second run at once (the app's sessions run on threads)
            pass
        assert gc.get_freeze_count() >= frozen  # the first run's objects stay frozen until it ends too
    assert gc.get_freeze_count() == 0  # collected as usual once no run is active
