"""A rerun of an unchanged eval reuses the conversations an earlier run finished (evals/running/result_cache.py);
any change to what decides a conversation plays it again, and nothing unfinished or foreign is reused."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from agent.models.offline.model import ReferenceChatModel
from evals.running import play, result_cache, runner
from evals.running.config import RunConfig
from evals.running.runner import execute_run
from evals.schema.records import read_results
from tests.conftest import POLICIES, ROOT

PERSONAS = ["discount_at_once", "declines_everything", "wants_a_swap"]


@pytest.fixture
def played(monkeypatch) -> list[str]:
    """The keys of the conversations actually played, run after run."""
    keys: list[str] = []
    original = play.aplay

    def counting(job, *args, **kwargs):
        keys.append(job.key)
        return original(job, *args, **kwargs)

    monkeypatch.setattr(play, "aplay", counting)
    return keys


def config(tmp_path: Path, out: str, **changes) -> RunConfig:
    settings = {"policies": [POLICIES / "retention_offers.md"], "persona_ids": PERSONAS, "trials": 2,
                "cache_path": tmp_path / "cache.sqlite", "out": tmp_path / out}  # fmt: skip
    return RunConfig(**{**settings, **changes})


def summary(records) -> list[tuple]:
    return sorted((r.key, r.outcome, r.fingerprint, tuple(s.passed for s in r.scores)) for r in records)


def test_a_rerun_of_an_unchanged_eval_plays_nothing_and_writes_the_same_conversations(tmp_path, played):
    first = execute_run(config(tmp_path, "first"))
    assert len(played) == 6 and not any(r.reused for r in first)
    played.clear()
    second = execute_run(config(tmp_path, "second", concurrency=1))  # how many at once does not decide anything
    assert played == [] and all(r.reused and r.model_calls == 0 for r in second)
    assert summary(second) == summary(first)
    full = read_results(tmp_path / "second")
    assert all(r.transcript and r.reused for r in full)  # results.jsonl holds the whole conversations again


def test_a_rerun_with_nothing_to_play_builds_no_model_and_checks_openai_settings_without_the_client(
    tmp_path, played, monkeypatch
):
    execute_run(config(tmp_path, "first"))
    played.clear()

    def no_model(*args, **kwargs):
        raise AssertionError("a model was built for a run with nothing to play")

    monkeypatch.setattr(play, "build_model", no_model)
    monkeypatch.setattr(runner, "build_helpers", no_model)
    assert len(execute_run(config(tmp_path, "second"))) == 6 and played == []
    script = (
        "import sys\n"
        "from agent.models.settings import ModelSettings, check_model\n"
        "check_model(ModelSettings(spec='openai:gpt-x', base_url='http://127.0.0.1:9/v1'))\n"
        "print(sorted(m for m in ('openai', 'langchain_openai') if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "[]", done.stderr[-500:]


def test_the_report_says_how_many_conversations_were_reused(tmp_path):
    from evals.reports.report import write_report

    execute_run(config(tmp_path, "first", trials=1))
    execute_run(config(tmp_path, "second", trials=2))  # the first trial of each persona is reused, the second played
    for out, line in [("first", None), ("second", "3 of 6 conversations were taken from an earlier run")]:
        write_report(tmp_path / out)
        markdown = (tmp_path / out / "report.md").read_text(encoding="utf-8")
        html = (tmp_path / out / "report.html").read_text(encoding="utf-8")
        if line is None:
            assert "taken from an earlier run" not in markdown + html
        else:
            assert line in markdown and line in html


def _kept(tmp_path: Path) -> int:
    with sqlite3.connect(tmp_path / "cache.sqlite") as db:
        return db.execute("SELECT COUNT(*) FROM conversations").fetchone()[0]


def test_the_cache_keeps_only_the_most_recently_used_conversations(tmp_path, played, monkeypatch):
    monkeypatch.setattr(result_cache, "KEEP_AT_MOST", 4)
    execute_run(config(tmp_path, "first", trials=1))  # 3 conversations kept
    execute_run(config(tmp_path, "reuse", trials=1))  # the same 3 reused, and marked as used again
    execute_run(config(tmp_path, "other", trials=1, seed=9))  # 3 more under another seed: 6 > 4, so 2 go
    assert _kept(tmp_path) == 4
    played.clear()
    execute_run(config(tmp_path, "again", trials=1, seed=9))
    assert played == []  # the newest three were kept
    played.clear()
    again = execute_run(config(tmp_path, "again-first", trials=1))
    assert len(played) == 2 and sum(r.reused for r in again) == 1  # of the first three, one was left


def test_a_run_bigger_than_the_cache_keeps_all_of_its_own_conversations(tmp_path, played, monkeypatch):
    monkeypatch.setattr(result_cache, "KEEP_AT_MOST", 2)
    execute_run(config(tmp_path, "first", trials=1))
    assert _kept(tmp_path) == 3  # not 2: pruning never drops the conversations of the run that prunes
    played.clear()
    execute_run(config(tmp_path, "second", trials=1))
    assert played == []


def test_a_cache_file_from_before_pruning_is_read_and_pruned(tmp_path, played, monkeypatch):
    execute_run(config(tmp_path, "first", trials=1))
    with sqlite3.connect(tmp_path / "cache.sqlite") as db:
        db.execute("DROP TABLE conversation_use")  # as the file was: no record of when each conversation was used
    played.clear()
    assert all(r.reused for r in execute_run(config(tmp_path, "second", trials=1))) and played == []
    monkeypatch.setattr(result_cache, "KEEP_AT_MOST", 3)
    execute_run(config(tmp_path, "third", trials=1, seed=9))  # 3 more: the 3 older go, though they were reused
    assert _kept(tmp_path) == 3
    played.clear()
    execute_run(config(tmp_path, "fourth", trials=1, seed=9))
    assert played == []


def test_a_cached_run_does_not_import_the_agent_stack(tmp_path):
    execute_run(config(tmp_path, "first", trials=1))
    rerun = config(tmp_path, "second", trials=1).model_dump_json()
    script = (
        "import sys\n"
        "from evals.running.config import RunConfig\n"
        "from evals.running.runner import execute_run\n"
        f"records = execute_run(RunConfig.model_validate_json({rerun!r}))\n"
        "print(all(r.reused for r in records), [m for m in ('langgraph', 'agent.agent_graph') if m in sys.modules])\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "True []", done.stderr[-500:]


def test_more_trials_play_only_the_new_ones(tmp_path, played):
    execute_run(config(tmp_path, "first", trials=1))
    played.clear()
    execute_run(config(tmp_path, "second", trials=2))
    assert sorted(played) == sorted(f"retention_offers/{p}/1" for p in PERSONAS)


def test_an_edited_policy_an_edited_persona_or_other_code_plays_everything_again(tmp_path, played, monkeypatch):
    execute_run(config(tmp_path, "first"))
    policy = tmp_path / "policies" / "retention_offers.md"
    shutil.copytree(POLICIES, policy.parent)
    policy.write_text(policy.read_text().replace("Would any", "Would one"), encoding="utf-8")
    played.clear()
    execute_run(config(tmp_path, "policy", policies=[policy]))
    assert len(played) == 6

    personas = tmp_path / "personas"
    shutil.copytree(ROOT / "fixtures" / "personas", personas)
    (personas / "wants_a_swap.yaml").write_text((personas / "wants_a_swap.yaml").read_text() + "\n# edited\n")
    played.clear()
    execute_run(config(tmp_path, "persona", personas_dir=personas))
    assert len(played) == 6  # any persona file of the folder is an input of the run

    monkeypatch.setattr(result_cache, "code_fingerprint", lambda: "another version")
    played.clear()
    execute_run(config(tmp_path, "code"))
    assert len(played) == 6

    played.clear()
    execute_run(config(tmp_path, "seed", seed=7))
    assert len(played) == 6


def test_without_a_cache_nothing_is_kept_or_reused(tmp_path, played):
    execute_run(config(tmp_path, "first", cache_path=None))
    execute_run(config(tmp_path, "second", cache_path=None))
    assert len(played) == 12


def test_conversations_that_ended_in_an_error_are_played_again(tmp_path, played, monkeypatch):
    def broken(self, *args, **kwargs):
        raise ConnectionError("the model server went away")

    with monkeypatch.context() as patched:
        patched.setattr(ReferenceChatModel, "_generate", broken)
        patched.setattr(ReferenceChatModel, "_agenerate", broken, raising=False)
        errored = execute_run(config(tmp_path, "first", trials=1))
    assert all(r.error for r in errored)
    played.clear()
    again = execute_run(config(tmp_path, "second", trials=1))
    assert len(played) == 3 and not any(r.error or r.reused for r in again)


def test_another_agent_under_test_is_never_kept_or_reused(tmp_path, played):
    from testing.giving_in_agent import giving_in_agent

    execute_run(config(tmp_path, "first", trials=1), agent=giving_in_agent("discount_extraction"))
    played.clear()
    again = execute_run(config(tmp_path, "second", trials=1))
    assert len(played) == 3 and not any(r.reused for r in again)


def test_the_command_says_how_many_conversations_it_reused(tmp_path):
    import subprocess
    import sys

    command = [sys.executable, "-m", "evals", "run", "--policy", str(POLICIES / "retention_offers.md"),
               "--persona", "discount_at_once", "--trials", "2", "--cache", str(tmp_path / "cache.sqlite")]  # fmt: skip
    first = subprocess.run([*command, "--out", str(tmp_path / "a")], cwd=ROOT, capture_output=True, text=True)
    second = subprocess.run([*command, "--out", str(tmp_path / "b")], cwd=ROOT, capture_output=True, text=True)
    said = [" ".join((run.stdout + run.stderr).split()) for run in (first, second)]  # the console wraps lines
    assert first.returncode == second.returncode == 0 and "reused" not in said[0]
    assert "2 of 2 conversation(s) reused from the cache" in said[1]


def test_another_server_from_the_environment_plays_everything_again(tmp_path, played, monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:1/v1")
    execute_run(config(tmp_path, "first", trials=1))
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:2/v1")
    played.clear()
    execute_run(config(tmp_path, "second", trials=1))
    assert len(played) == 3


def test_a_data_file_changed_since_this_process_read_it_turns_reuse_off(tmp_path, monkeypatch):
    seen = iter(["as loaded", "edited on disk since"])
    monkeypatch.setattr(result_cache, "_data_first_seen", {})
    monkeypatch.setattr(result_cache, "data_files_sha", lambda root: next(seen))
    settings = config(tmp_path, "out")
    assert result_cache.data_as_loaded([ROOT / "fixtures"]) is True
    assert result_cache.FinishedConversations.for_run(settings, []) is None  # the process plays what it loaded


def test_a_conversation_a_helper_model_failed_in_is_not_kept():
    record = read_results(ROOT / "docs" / "examples" / "eval_retention_offers")[0]
    assert result_cache.reusable(record)
    assert not result_cache.reusable(record.model_copy(update={"reader_errors": 1}))
    assert not result_cache.reusable(record.model_copy(update={"customer_voice": {"deviation": 1}}))
    assert not result_cache.reusable(record.model_copy(update={"error": "timeout"}))
