"""The async runner against a real OpenAI-compatible server (the stub, offline): rate limits and Retry-After, a
server that hangs, a conversation over its wall-clock limit, a budget, and traffic limits."""

from __future__ import annotations

import asyncio
import io
import os
import subprocess
import sys
import time
import types

import pytest
from rich.console import Console

from agent.models.settings import ModelSettings, make_chat_model
from evals.cli import progress
from evals.running.config import RunConfig
from evals.running.limits import TrafficLimits
from evals.running.runner import RunControls, execute_run
from evals.schema.records import read_results
from testing.openai_stub import OpenAIStub, reference_brain, text_reply
from tests.conftest import POLICIES, ROOT

RETENTION = POLICIES / "retention_offers.md"


@pytest.fixture(autouse=True)
def _fake_key(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key")


def stub_config(stub: OpenAIStub, tmp_path, **update) -> RunConfig:
    settings = ModelSettings(spec="openai:gpt-4o-mini", base_url=stub.base_url, max_retries=2, timeout_s=10)
    fields = {"policies": [RETENTION], "trials": 1, "cache_path": None, "out": tmp_path / "run", "model": settings,
              "persona_ids": ["declines_everything", "discount_at_once", "insists_from_the_start"]}  # fmt: skip
    return RunConfig(**{**fields, **update})


def evals_cli(stub: OpenAIStub, *args: str) -> subprocess.CompletedProcess[str]:
    """`python -m evals ARGS` against the stub, one conversation at a time, no cache."""
    argv = [sys.executable, "-m", "evals", *args, "--trials", "1", "--no-cache", "--model", "openai:gpt-4o-mini",
            "--base-url", stub.base_url, "--concurrency", "1"]  # fmt: skip
    return subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "OPENAI_API_KEY": "sk-test"})  # fmt: skip


def test_a_429_with_retry_after_is_retried_and_the_run_finishes(tmp_path):
    with OpenAIStub(reference_brain(RETENTION), errors=[(429, {"Retry-After": "1"})]) as stub:
        start = time.monotonic()
        records = execute_run(stub_config(stub, tmp_path))
        waited = time.monotonic() - start
    assert len(records) == 3 and all(r.error is None for r in records)
    assert waited >= 1.0  # the client waited as the server asked before trying again


@pytest.mark.slow
def test_a_server_that_never_answers_times_out_per_call_and_the_conversation_is_an_error(tmp_path):
    with OpenAIStub([text_reply("too late")], hang_s=30) as stub:
        settings = ModelSettings(spec="openai:gpt-4o-mini", base_url=stub.base_url, max_retries=0, timeout_s=1)
        config = stub_config(stub, tmp_path, model=settings, persona_ids=["declines_everything"])
        start = time.monotonic()
        records = execute_run(config)
        elapsed = time.monotonic() - start
    assert [r.outcome for r in records] == ["error"] and "Timeout" in (records[0].error or "")
    assert elapsed < 25  # far less than the server's 30 s: the call was cut off, the run did not hang


def test_a_conversation_over_its_wall_clock_limit_is_cut_off_as_an_error_with_what_it_played(tmp_path):
    with OpenAIStub(reference_brain(RETENTION), latency_s=0.4) as stub:
        config = stub_config(stub, tmp_path, conversation_timeout_s=1.5, persona_ids=["declines_everything"])
        records = execute_run(config)
    full = read_results(config.out)
    assert [r.outcome for r in records] == ["error"] and "wall-clock limit" in (records[0].error or "")
    assert full[0].trace or full[0].turns  # what it played before the limit is kept


def test_max_cost_stops_starting_conversations_and_resume_finishes_the_run(tmp_path):
    with OpenAIStub(reference_brain(RETENTION)) as stub:
        controls = RunControls()
        config = stub_config(stub, tmp_path, max_cost_usd=0.00001, concurrency=1)
        first = execute_run(config, controls=controls)
        assert controls.stop_reason == "budget" and 1 <= len(first) < 3
        assert sum(r.economics.cost_usd or 0 for r in first) >= 0.00001
        finished = execute_run(config.model_copy(update={"resume": True, "max_cost_usd": None}))
    keys = [r.key for r in read_results(config.out)]
    assert len(finished) == 3 and len(keys) == len(set(keys)) == 3


@pytest.mark.slow
def test_max_cost_from_the_command_line_exits_3_with_one_line_saying_how_to_finish(tmp_path):
    with OpenAIStub(reference_brain(RETENTION)) as stub:
        done = evals_cli(stub, "run", "--policy", str(RETENTION), "--max-cost", "0.00001",
                         "--out", str(tmp_path / "run"))  # fmt: skip
    assert done.returncode == 3, done.stderr[-2000:]
    assert "--max-cost" in done.stderr and "--resume" in done.stderr and "Traceback" not in done.stderr
    assert (tmp_path / "run" / "report.html").exists()


@pytest.mark.slow
def test_progress_is_a_line_every_few_seconds_when_output_is_not_a_terminal(tmp_path):
    with OpenAIStub(reference_brain(RETENTION), latency_s=0.3) as stub:
        done = evals_cli(stub, "run", "--policy", str(RETENTION), "--persona", "declines_everything",
                         "--persona", "discount_at_once", "--out", str(tmp_path / "run"))  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    lines = [line for line in done.stderr.splitlines() if line.startswith("conversations: ")]
    assert lines and "done" in lines[0] and "ETA" in lines[0] and "spent $" in lines[0]


def test_the_status_line_gives_no_rate_for_one_record_and_then_the_rate_since_it(monkeypatch):
    clock = [100.0]
    monkeypatch.setattr(progress.time, "monotonic", lambda: clock[0])
    out = Console(file=io.StringIO(), force_terminal=False, width=200)
    line = progress.StatusLine(out, "conversations", every_s=5.0)
    update = line.wrap(lambda event: None)

    def finished(done: int) -> None:
        record = types.SimpleNamespace(error=None, economics=types.SimpleNamespace(cost_usd=0.0))
        update(types.SimpleNamespace(done=done, total=31, record=record))

    clock[0] = 106.0  # the first record, 6 s in (Ray's actors took that long to start)
    finished(1)
    for done in range(2, 22):  # then 20 more in 10 s, one every half second: 120 a minute, 10 left, 5 s to go
        clock[0] += 0.5
        finished(done)
    lines = out.file.getvalue().splitlines()  # one line every 5 s
    first, last = lines[0], lines[-1]
    assert len(lines) == 3
    assert "1/31 done" in first and "rate not known yet, ETA unknown" in first and "6 s elapsed" in first
    assert "21/31 done" in last and "120.0/min, ETA 5 s" in last and "16 s elapsed" in last


@pytest.mark.slow
def test_requests_per_minute_and_tokens_per_minute_hold_calls_back():
    with OpenAIStub([text_reply("hi")]) as stub:
        model = make_chat_model(ModelSettings(spec="openai:stub", base_url=stub.base_url))
        TrafficLimits(rpm=120, tpm=None).apply(model)  # two requests a second

        async def four_calls() -> float:
            start = time.monotonic()
            await asyncio.gather(*(model.ainvoke("x") for _ in range(4)))
            return time.monotonic() - start

        assert asyncio.run(four_calls()) >= 1.0
        limited = make_chat_model(ModelSettings(spec="openai:stub", base_url=stub.base_url))
        traffic = TrafficLimits(rpm=None, tpm=150)  # the stub spends 110 tokens per call
        traffic.apply(limited)
        traffic.tokens.used.append((time.monotonic() - 59.5, 110))  # the last minute already used 110

        async def one_call() -> None:
            await limited.ainvoke("x")
            await limited.ainvoke("x")

        asyncio.run(one_call())
        assert traffic.tokens is not None and traffic.tokens.waited_s >= 0.3


def test_a_conversation_that_fails_unexpectedly_is_an_error_record_and_the_run_goes_on(tmp_path, monkeypatch):
    from evals.running import play

    real = play.aplay

    async def breaks_once(job, *args):
        if job.persona.id == "discount_at_once":
            raise RuntimeError("a bug in one conversation")
        return await real(job, *args)

    monkeypatch.setattr(play, "aplay", breaks_once)
    config = RunConfig(policies=[RETENTION], trials=1, cache_path=None, out=tmp_path / "run",
                       persona_ids=["declines_everything", "discount_at_once", "insists_from_the_start"])  # fmt: skip
    records = {r.persona: r for r in execute_run(config)}
    assert records["discount_at_once"].outcome == "error"
    assert "a bug in one conversation" in (records["discount_at_once"].error or "")
    assert records["declines_everything"].outcome == records["insists_from_the_start"].outcome == "cancelled"


def test_the_judge_runs_outside_the_conversations_wall_clock_limit(tmp_path, monkeypatch):
    """A slow judge must not turn a finished conversation into an error: the judge is called after the conversation's
    `asyncio.wait_for`, never inside it. Checked without timing: the limit's scope is a context variable that the
    judge's worker thread inherits (asyncio.to_thread copies the context)."""
    import contextvars

    import evals.running.runner as runner
    from evals.judging.judge import Judge
    from evals.judging.rubric import load_rubric
    from evals.reading.rules import RulesReader
    from evals.running.helpers import RunHelpers
    from testing.scripted_model import ScriptedChatModel

    inside_limit = contextvars.ContextVar("inside_limit", default=False)
    real_wait_for = asyncio.wait_for
    judged_inside: list[bool] = []

    async def wait_for_marked(coroutine, timeout):
        token = inside_limit.set(True)
        try:
            return await real_wait_for(coroutine, timeout)
        finally:
            inside_limit.reset(token)

    def answer(messages):
        judged_inside.append(inside_limit.get())
        return {"verdicts": [{"criterion": n, "verdict": "n/a"} for n in load_rubric().names]}

    judge = Judge(ScriptedChatModel(responder=answer), "scripted")
    monkeypatch.setattr(asyncio, "wait_for", wait_for_marked)
    monkeypatch.setattr(runner, "build_helpers", lambda *args: RunHelpers(RulesReader(), judge))
    config = RunConfig(policies=[RETENTION], trials=1, cache_path=None, out=tmp_path / "run",
                       conversation_timeout_s=60, persona_ids=["declines_everything"])  # fmt: skip
    [record] = execute_run(config)
    assert judged_inside == [False]  # judged once, outside the limit
    assert record.error is None and read_results(config.out)[0].judgement is not None


def test_a_callback_that_raises_loses_no_finished_record(tmp_path):
    config = RunConfig(policies=[RETENTION], trials=2, cache_path=None, out=tmp_path / "run", concurrency=8,
                       persona_ids=["declines_everything", "discount_at_once", "insists_from_the_start"])  # fmt: skip

    def stop_pressed(record, done, total):
        raise KeyboardInterrupt  # what Streamlit's Stop does inside a progress callback

    with pytest.raises(KeyboardInterrupt):
        execute_run(config, on_result=stop_pressed)
    written = read_results(config.out)
    keys = [r.key for r in written]
    assert written and len(keys) == len(set(keys))


def test_compare_with_a_budget_stops_both_arms_unpaired_and_resume_finishes_the_comparison(tmp_path):
    from evals.service import ABConfig, run_ab

    other = POLICIES / "retention_offers_lean.md"
    with OpenAIStub(reference_brain(RETENTION)) as stub:
        template = stub_config(stub, tmp_path, max_cost_usd=0.00002, concurrency=1)
        ab = ABConfig(a=RETENTION, b=other, out=tmp_path / "ab", template=template)
        stopped = run_ab(ab)
        assert stopped.stopped == "budget" and stopped.comparison is None and stopped.reports == []
        assert 1 <= stopped.done[0] < 3 and stopped.done[1] < 3  # each arm kept to its share
        finished = run_ab(ab.model_copy(update={"template": template.model_copy(
            update={"resume": True, "max_cost_usd": 1.0})}))  # fmt: skip
    assert finished.stopped is None and finished.comparison is not None and finished.comparison.pairs == 3
    for arm in finished.arms:
        keys = [r.key for r in read_results(arm)]
        assert len(keys) == len(set(keys)) == 3


@pytest.mark.slow
def test_compare_with_a_budget_from_the_command_line_exits_3_saying_how_to_finish(tmp_path):
    with OpenAIStub(reference_brain(RETENTION)) as stub:
        done = evals_cli(stub, "compare", "--a", str(RETENTION), "--b", str(POLICIES / "retention_offers_lean.md"),
                         "--persona", "declines_everything", "--persona", "discount_at_once",
                         "--max-cost", "0.00001", "--out", str(tmp_path / "ab"))  # fmt: skip
    assert done.returncode == 3, done.stderr[-2000:]
    assert "arm A 1, arm B" in done.stderr and "--resume" in done.stderr and "Traceback" not in done.stderr
