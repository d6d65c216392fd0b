"""The service layer: run, resume or rescore an eval, or an A/B comparison, with progress callbacks.

The CLI (`evals/cli/`) and the app's Evals and A/B pages are thin adapters over these functions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel

from agent.errors import InputFileError, RetentionLabError
from agent.models.settings import ModelSettings, check_model
from agent.store.fixtures import FixtureSet
from evals.reports.compare_report import write_comparison
from evals.reports.report import write_report
from evals.running.config import RunConfig
from evals.running.rescoring import Rescored, rescore_run
from evals.running.runner import RunControls, execute_run
from evals.schema.manifest import load_manifest
from evals.schema.records import RESULTS, ConversationRecord, iter_results
from evals.stats.comparison import Comparison, compare_runs
from evals.stats.decision import parse_gate
from evals.stats.verdicts import metric_extractors


@dataclass(frozen=True)
class Progress:
    """One finished conversation: `done` of `total` in the part of the work called `label`."""

    label: str
    done: int
    total: int
    record: ConversationRecord


ProgressCallback = Callable[[Progress], None]


@dataclass(frozen=True)
class RunSummary:
    out: Path
    records: Sequence[ConversationRecord]  # light records, compressed (see evals.schema.light_records)
    reports: list[Path]
    stopped: str | None = None  # "budget" (--max-cost reached) or "stopped" when conversations are left to run


@dataclass(frozen=True)
class ABResult:
    comparison: Comparison | None  # None when the budget stopped an arm: unfinished arms are not pairs
    arms: tuple[Path, Path]
    reports: list[Path]
    stopped: str | None = None  # "budget" when --max-cost stopped an arm before it finished
    done: tuple[int, int] = (0, 0)  # conversations finished in each arm


class ABConfig(BaseModel):
    """Two policies, run on the same personas, trials and seeds (`template` gives every other setting)."""

    a: Path
    b: Path
    out: Path
    template: RunConfig
    primary: str = "retention"
    gates: tuple[str, ...] = ()

    def arm(self, name: str) -> RunConfig:
        policy = self.a if name == "a" else self.b
        return self.template.model_copy(update={"policies": [policy], "out": self.out / f"arm_{name}"})


def run_eval(
    config: RunConfig,
    progress: ProgressCallback | None = None,
    label: str = "conversations",
    fixtures: FixtureSet | None = None,
    controls: RunControls | None = None,
) -> RunSummary:
    """Run (or resume) an eval and write its reports. Raises RetentionLabError before writing anything if the
    model, a policy, a persona or a data file is unusable. Interrupted (Ctrl+C, the app's Stop), it writes a partial
    report of what finished, then lets the interruption through; the run resumes with --resume."""
    check_model(config.model)
    controls = controls or RunControls()

    def on_result(record: ConversationRecord, done: int, total: int) -> None:
        if progress is not None:
            progress(Progress(label, done, total, record))

    try:
        records = execute_run(config, on_result, fixtures, controls)
    except RetentionLabError:
        raise  # bad input: refused before any conversation ran
    except BaseException:  # Ctrl+C, the app's Stop, or a crash: keep what finished readable
        write_partial_report(config.out)
        raise
    try:
        paths = write_report(config.out, records)
    except KeyboardInterrupt:
        raise ReportInterrupted(config.out, len(records)) from None
    return RunSummary(config.out, records, paths, controls.stop_reason)


class ReportInterrupted(KeyboardInterrupt):
    """Ctrl+C (or SIGTERM) after every conversation finished, while the report was being written: nothing is lost,
    but there is no report yet."""

    def __init__(self, out: Path, done: int) -> None:
        super().__init__(
            f"interrupted while writing the report: all {done} conversation(s) are saved in {out / RESULTS}; "
            f"write the report with: python -m evals report {out}"
        )


def write_partial_report(out: Path) -> None:
    """The report of an interrupted run, from the conversations that finished; nothing when none did."""
    try:
        if (out / RESULTS).exists() and (out / RESULTS).stat().st_size:
            write_report(out)
    except Exception:  # noqa: S110 - the interruption, not a report problem, is what the user must see
        pass


def resume_eval(
    run: Path, model: ModelSettings, progress: ProgressCallback | None = None, controls: RunControls | None = None
) -> RunSummary:
    """Finish an unfinished run with the settings it was started with (the model's key and timeouts from `model`)."""
    identity = load_manifest(run).identity
    config = RunConfig(
        policies=[Path(p) for p in identity.policies],
        personas_dir=Path(identity.personas_dir),
        persona_ids=identity.persona_ids,
        trials=identity.trials,
        model=model.model_copy(update={"spec": identity.model, "base_url": identity.base_url}),
        seed=identity.seed,
        fault_rate=identity.fault_rate,
        out=run,
        resume=True,
        reader=identity.reader,
        judge_model=identity.judge_model,
        judge_samples=identity.judge_samples,
        customer_model=identity.customer_model,
    )
    return run_eval(config, progress, label="Resuming", controls=controls)


def run_ab(config: ABConfig, progress: ProgressCallback | None = None) -> ABResult:
    """Run both arms (each its own resumable, cached run), then compare them pair by pair.

    With a budget (`--max-cost`), arm A may spend half of it and arm B what A left, so neither arm spends the other's
    share. An arm stopped by its share is not compared (its conversations would have no pairs); the same command with
    `--resume` and a higher budget finishes both arms, and the budget counts what each arm spent before."""
    check_gates(config.gates)  # a gate that cannot be read stops the compare before any conversation
    budget = config.template.max_cost_usd
    arms: list[Path] = []
    done: list[int] = []
    spent, stopped = 0.0, None
    for name, policy in (("a", config.a), ("b", config.b)):
        arm = config.arm(name)
        if budget is not None:
            share = budget / 2 if name == "a" else budget - spent
            if share <= 0:  # A spent the whole budget: B starts nothing
                arms.append(arm.out)
                done.append(sum(1 for _ in iter_results(arm.out)))
                stopped = "budget"
                continue
            arm = arm.model_copy(update={"max_cost_usd": share})
        summary = run_eval(arm, progress, label=f"arm {name.upper()}: {policy.name}")
        spent += sum(r.economics.cost_usd or 0 for r in summary.records)
        stopped = stopped or summary.stopped
        arms.append(arm.out)
        done.append(len(summary.records))
    if stopped:
        return ABResult(None, (arms[0], arms[1]), [], stopped, (done[0], done[1]))
    result = compare_existing(arms[0], arms[1], config.out, config.primary, config.gates)
    return ABResult(result.comparison, result.arms, result.reports, None, (done[0], done[1]))


def check_gates(gates: tuple[str, ...]) -> None:
    known = [*metric_extractors(), "value"]
    for text in gates:
        if not text.strip().startswith("judge."):
            parse_gate(text, known)


def compare_existing(
    a_run: Path, b_run: Path, out: Path, primary: str = "retention", gates: tuple[str, ...] = ()
) -> ABResult:
    """Compare two finished runs of one policy each (refused unless they are paired)."""
    check_gates(gates)
    comparison = compare_runs(a_run, b_run, primary, gates)
    return ABResult(comparison, (a_run, b_run), write_comparison(comparison, out))


def rescore(run: Path, out: Path) -> Rescored:
    """Read and score a finished run's records again with the current reader rules and scorers, into `out`, without
    calling a model; the report there opens with what changed."""
    result = rescore_run(run, out)
    if not result.records:
        raise InputFileError(run / RESULTS, "", "holds no finished conversations", "run the eval first")
    header = f"Rescored from {run} with the current reader rules and scorers (no model was called)."
    write_report(out, result.records, [header, *result.notes, *result.changes.lines()])
    return result
