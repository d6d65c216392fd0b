"""Runs that cannot be mixed or lost, and a fault soak that stays in the suite."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from agent.errors import InputFileError
from evals.personas.loader import load_personas
from evals.reports.report import write_report
from evals.running.config import RunConfig
from evals.running.runner import execute_run, run_lock
from evals.schema.records import read_results
from tests.conftest import HAND_WRITTEN, POLICIES, ROOT

pytestmark = pytest.mark.slow  # subprocesses or Ray: `make test-fast` leaves them out

RETENTION = POLICIES / "retention_offers.md"


def test_a_second_writer_is_refused_while_the_first_holds_the_run(tmp_path):
    out = tmp_path / "run"
    holder = subprocess.Popen(
        [sys.executable, "-c", f"from pathlib import Path; from evals.running.runner import run_lock\n"
         f"import time\nwith run_lock(Path({str(out)!r})):\n    print('held', flush=True); time.sleep(30)"],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(InputFileError, match="another run is writing here"):
            execute_run(RunConfig(policies=[RETENTION], trials=1, out=out, cache_path=None, resume=True))
    finally:
        holder.kill()
        holder.wait()
    with run_lock(out):  # released when the holder died
        pass


def test_resume_refuses_a_run_whose_policy_text_changed(tmp_path):
    policy = tmp_path / "retention_offers.md"
    policy.write_text(RETENTION.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "single_order_cancellation.md").write_text(
        (POLICIES / "single_order_cancellation.md").read_text(encoding="utf-8"), encoding="utf-8"
    )
    config = RunConfig(
        policies=[policy], trials=1, out=tmp_path / "run", cache_path=None, persona_ids=["discount_at_once"]
    )
    execute_run(config)
    changed = policy.read_text(encoding="utf-8").replace("Then ask the customer", "Then kindly ask the customer")
    policy.write_text(changed, encoding="utf-8")
    with pytest.raises(InputFileError, match="made with other settings"):
        execute_run(config.model_copy(update={"resume": True}))
    assert len(read_results(tmp_path / "run")) == 1


def test_a_broken_run_json_is_one_line_on_resume(tmp_path):
    config = RunConfig(
        policies=[RETENTION], trials=1, out=tmp_path / "run", cache_path=None, persona_ids=["discount_at_once"]
    )
    execute_run(config)
    (tmp_path / "run" / "run.json").write_text('{"identity": {"polic', encoding="utf-8")
    with pytest.raises(InputFileError, match="run.json: is broken"):
        execute_run(config.model_copy(update={"resume": True}))


@pytest.mark.parametrize("signum", [2, 15], ids=["SIGINT", "SIGTERM"])
def test_an_interrupt_leaves_a_resumable_run_with_no_lost_or_duplicated_record(tmp_path, signum):
    """Ctrl+C, and SIGTERM (what timeout, CI and docker stop send), stop the run the same clean way."""
    out = tmp_path / "run"
    argv = [sys.executable, "-m", "evals", "run", "--policy", str(RETENTION), "--trials", "6", "--no-cache",
            "--concurrency", "1", "--out", str(out)]  # fmt: skip
    process = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(read_results(out)) < 5:
        time.sleep(0.2)
    process.send_signal(signum)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130 and "--resume" in err and "Traceback" not in err
    partial = (out / "report.md").read_text(encoding="utf-8")
    assert (
        f"{len(read_results(out))}/{len(load_personas()) * 6} conversations (incomplete)" in partial
    )  # what finished, reported
    finished = subprocess.run([*argv, "--resume"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr
    keys = [r.key for r in read_results(out)]
    assert len(keys) == len(set(keys)) == len(load_personas()) * 6


def test_fault_soak_keeps_the_store_and_the_customer_consistent(tmp_path):
    """210 conversations at 20% backend faults: no corrupted order, no escalation without its tag and note, no
    claim to the customer that the store contradicts, no write to another customer's order."""
    records = execute_run(
        RunConfig(policies=[RETENTION], trials=15, fault_rate=0.2, seed=9, out=tmp_path / "soak", cache_path=None,
                  persona_ids=HAND_WRITTEN)  # the 14 written by hand: 210 conversations
    )  # fmt: skip
    assert len(records) == 210
    full = read_results(tmp_path / "soak")
    affected = sum(r.faults_met > 0 for r in full)
    assert affected > 100
    assert any(c.attempts > 1 for r in full for c in r.trace)  # the tools retried before the model heard of it
    markdown = write_report(tmp_path / "soak")[1].read_text(encoding="utf-8")
    assert "fault-affected" in markdown and f"{affected}/210 (" in markdown
    assert f"{affected} of 210 conversations met at least one" in markdown
    for record in full:
        state = record.final_state
        assert state is not None and state.foreign_orders_changed == []
        for order in state.orders:
            discount = round(order.subtotal * order.discount_percent / 100, 2)
            assert order.discount_amount == -discount, record.key
            assert order.grand_total == round(order.subtotal + order.shipping_amount - discount, 2), record.key
        if state.ticket.assignee_team:
            assert "escalated" in [t.name for t in state.ticket.tags], record.key
            assert any(m.channel == "internal-note" for m in state.ticket.messages), record.key
        scores = {s.name: s.passed for s in record.scores}
        assert scores["adherence.no_false_claims"] is not False, record.key
        assert scores["adherence.own_orders_only"] is True, record.key


def test_reports_are_written_whole_or_not_at_all(tmp_path, monkeypatch):
    from evals.reports import report

    config = RunConfig(
        policies=[RETENTION], trials=1, out=tmp_path / "run", cache_path=None, persona_ids=["discount_at_once"]
    )
    execute_run(config)
    report.write_report(tmp_path / "run")
    before = (tmp_path / "run" / "report.md").read_text(encoding="utf-8")

    def broken_csv(path, records):
        path.write_text("half a fi", encoding="utf-8")
        raise OSError("disk full")

    monkeypatch.setattr(report, "write_csv", broken_csv)
    with pytest.raises(OSError):
        report.write_report(tmp_path / "run")
    assert (tmp_path / "run" / "report.md").read_text(encoding="utf-8") == before
    assert (tmp_path / "run" / "results.csv").read_text(encoding="utf-8").startswith("key,")
    assert not list((tmp_path / "run").glob("*.tmp"))


def test_an_interrupt_while_the_final_report_is_written_says_how_to_write_it(tmp_path, monkeypatch, capsys):
    """Every conversation finished, then Ctrl+C during the report: the message says the results are saved and
    names the command that writes the report (not --resume), and the report command then works."""
    from evals.cli import main as evals_main
    from evals.reports import report

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    out = tmp_path / "run"
    monkeypatch.setattr("evals.service.write_report", interrupted)
    code = evals_main(["run", "--policy", str(RETENTION), "--persona", "discount_at_once", "--trials", "1",
                     "--no-cache", "--out", str(out)])  # fmt: skip
    said = capsys.readouterr()
    assert code == 130 and "interrupted while writing the report" in said.out + said.err
    assert f"python -m evals report {out}" in (said.out + said.err).replace("\n", "")
    assert len(read_results(out)) == 1 and not (out / "report.html").exists()
    monkeypatch.undo()
    assert report.write_report(out)[0].exists()
