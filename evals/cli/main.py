"""`python -m evals run|report|rescore|compare|read|calibrate`: batch evaluations, rescoring without a model, A/B
comparisons, and the reader and judge's calibration, from the terminal."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from agent.cli import OneLineParser
from agent.errors import InputFileError, RetentionLabError
from agent.models.settings import ModelSettings
from agent.options import add_field_options, values_from_args
from agent.redact import redact
from evals.cli.options import (
    add_model_call_options,
    add_run_options,
    check_cache_path,
    folder,
    run_config,
    validated,
)
from evals.cli.progress import StatusLine, progress_bar, show_progress
from evals.running.config import DEFAULT_PERSONA_DIR, RunConfig
from evals.stats.budget import PRIMARY_METRICS

if TYPE_CHECKING:
    from evals.schema.records import ConversationRecord

console = Console(stderr=True, width=None if sys.stderr.isatty() else 160)


def summary_table(records: Sequence[ConversationRecord], weights: dict[str, float] | None = None) -> Table:
    from evals.stats.metrics import OUTCOMES, summarize

    table = Table(title="Eval summary (95% CI" + (", weighted by the personas' weight:)" if weights else ")"))
    columns = ["policy", *OUTCOMES, "correct", "pass^1", "adherence (min rule)", "value kept", "offer cost", "errors"]
    for column in columns:
        table.add_column(column)
    for stem, s in summarize(records, weights).items():
        rules = [r for r in s.adherence.values() if r.n]
        worst = min(rules, key=lambda r: r.rate or 0).fmt() if rules else "n/a"
        table.add_row(
            stem,
            *(s.outcomes[o].fmt() for o in OUTCOMES),
            s.correct.fmt(),
            f"{s.pass_k.get(1, 0):.2f}",
            worst,
            f"${s.value_kept:,.2f}",
            f"${s.offer_cost:,.2f}",
            f"[bold red]{s.errors}[/]" if s.errors else "0",
        )
    table.caption = "Rates leave out conversations that ended in an error; intervals treat personas as clusters."
    return table


def _weights(config: RunConfig) -> dict[str, float] | None:
    from evals.personas.loader import load_personas
    from evals.stats.arms import persona_weights

    return persona_weights(load_personas(config.personas_dir, config.persona_ids))


def error_exit(records: Sequence[ConversationRecord], max_errors: int) -> int:
    """1 (with a line saying why) when more conversations errored than --max-errors allows, else 0."""
    errored = [r for r in records if r.error]
    if len(errored) <= max_errors:
        return 0
    console.print(
        f"[bold red]{len(errored)} conversation(s) ended in a model or connection error[/] (allowed: {max_errors}); "
        f"first: {escape(errored[0].key)}: {escape(errored[0].error or '')}. They are left out of every rate.",
        highlight=False,
    )
    return 1


def _run(args: argparse.Namespace) -> int:
    from evals.running.runner import RunControls
    from evals.service import run_eval

    config = run_config(args, args.policy, args.out)
    with progress_bar(console) as progress:
        status = StatusLine(console, "conversations")
        controls = RunControls(on_tick=status.tick)
        summary = run_eval(config, status.wrap(show_progress(progress, {})), controls=controls)
        status.maybe_print(force=True)
    console.print(summary_table(summary.records, _weights(config)))
    if reused := sum(r.reused for r in summary.records):
        console.print(f"{reused} of {len(summary.records)} conversation(s) reused from the cache: their settings, "
                      "inputs and code are unchanged since they were played (--no-cache plays every one)")  # fmt: skip
    console.print(f"results: {args.out / 'results.jsonl'}  report: {summary.reports[0]}")
    if summary.stopped == "budget":
        console.print(f"[bold]stopped at the --max-cost budget (${config.max_cost_usd:g})[/]: "
                      f"{len(summary.records)} conversation(s) done; rerun with --resume and a higher --max-cost "
                      "to finish", highlight=False)  # fmt: skip
        return 3
    return error_exit(summary.records, args.max_errors)


def _report(args: argparse.Namespace) -> int:
    from evals.reports.report import left_out_note, write_report
    from evals.schema.records import run_records

    _, left_out = run_records(args.run)
    if left_out:
        print(f"warning: {args.run / 'results.jsonl'}: {left_out_note(left_out)}", file=sys.stderr)
    for path in write_report(args.run):
        print(path)
    return 0


def _rescore(args: argparse.Namespace) -> int:
    from evals.service import rescore

    out = args.out if args.out is not None else args.run.with_name(args.run.name + "-rescored")
    result = rescore(args.run, out)
    for line in [*result.notes, *result.changes.lines()]:
        console.print(line, highlight=False, markup=False)
    console.print(f"rescored run: {out}  report: {out / 'report.html'}  changes: {out / 'rescore.json'}")
    return 0


def _compare(args: argparse.Namespace) -> int:
    from evals.service import ABConfig, compare_existing, run_ab
    from evals.stats.decision import gate_exit_code

    gates = tuple(args.gate or ())
    if args.runs:
        result = compare_existing(args.runs[0], args.runs[1], args.out, args.primary, gates)
    elif args.a and args.b:
        template = run_config(args, [args.a], args.out)
        with progress_bar(console) as progress:
            status = StatusLine(console, "conversations")
            ab = ABConfig(a=args.a, b=args.b, out=args.out, template=template, primary=args.primary, gates=gates)
            result = run_ab(ab, status.wrap(show_progress(progress, {})))
    else:
        raise InputFileError("compare", "--a/--b", "both policies are needed", "pass --a FILE --b FILE, or --runs A B")
    if result.comparison is None:  # only a budget stops a compare without raising (Ctrl+C raises)
        console.print(f"[bold]stopped at the --max-cost budget (${args.max_cost_usd:g}: arm A may spend half, arm B "
                      f"what A left)[/]: arm A {result.done[0]}, arm B {result.done[1]} conversation(s) done, so no "
                      "comparison yet; rerun the same command with --resume and a higher --max-cost to finish both "
                      "arms", highlight=False)  # fmt: skip
        return 3
    console.print(f"Ship B? {result.comparison.ship}. {result.comparison.ship_why}", highlight=False, markup=False)
    for line in result.comparison.summary:
        console.print(line, highlight=False, markup=False)
    for metric in result.comparison.metrics:
        if metric.pairs:
            console.print(f"{metric.metric:40s} {metric.verdict}", highlight=False, markup=False)
    for gate in result.comparison.gates:
        console.print(f"gate {gate.text}: {gate.result} ({gate.why})", highlight=False, markup=False)
    console.print(f"report: {result.reports[0]}  data: {result.reports[2]}")
    errors = result.comparison.errors_a + result.comparison.errors_b
    if errors > args.max_errors:
        console.print(
            f"[bold red]{errors} conversation(s) ended in a model or connection error[/] (allowed: {args.max_errors})"
        )
        return 1
    return gate_exit_code(result.comparison.gates) if gates else 0


def _model_options(args: argparse.Namespace) -> tuple[ModelSettings, Any]:
    from agent.models.cache import DiskCache

    check_cache_path(args.cache_path)
    config = validated(RunConfig, {**values_from_args(args, RunConfig), "policies": [Path("-")]})
    return config.model, None if args.no_cache else DiskCache(args.cache_path)


def _read(args: argparse.Namespace) -> int:
    from evals.calibration.commands import read_command

    text = sys.stdin.read()
    if not text.strip():
        raise RetentionLabError(
            "stdin: read: no reply given (pipe one in: echo 'I can offer 10% off' | python -m evals read)"
        )
    settings, cache = _model_options(args)
    print(read_command(text, args.reader, settings, cache))
    return 0


def _calibrate(args: argparse.Namespace) -> int:
    from evals.calibration.calibration import REPLY_SETS
    from evals.calibration.commands import print_calibration

    sets = list(REPLY_SETS) if args.set == "all" else [args.set]
    if args.limit is not None and args.limit < 1:
        raise RetentionLabError(f"--limit: must be at least 1 (got {args.limit})")
    if args.judge_samples < 1:
        raise RetentionLabError(f"--judge-samples: must be at least 1 (got {args.judge_samples})")
    validated(RunConfig, {**values_from_args(args, RunConfig), "policies": [Path("-")]})
    settings, cache = _model_options(args)
    with progress_bar(console) as progress:

        def counter(label: str, total: int) -> Callable[[], None]:
            task = progress.add_task(label, total=total, last="")
            return lambda: progress.advance(task)

        print_calibration(
            console, args.reader, args.judge_model, args.judge_samples, sets, settings, cache, counter, args.limit
        )
    return 0


def _plan_ab(args: argparse.Namespace) -> int:
    from evals.personas.loader import load_personas
    from evals.stats.planner import parse_effect, plan_ab

    effect = parse_effect(args.effect)
    if not 1 <= args.trials <= 100:
        raise InputFileError("plan-ab", "--trials", f"is {args.trials}", "give 1 to 100")
    personas = load_personas(args.personas_dir, args.persona_ids)
    with console.status("simulating comparisons through the report's verdict code"):
        planned = plan_ab(personas, args.trials, effect)
    for line in planned.lines():
        console.print(line, highlight=False, markup=False)
    table = Table("personas", "trials", "power")
    for row in planned.rows:
        table.add_row(str(row.personas), str(row.trials), f"{row.power:.0%}")
    console.print(table)
    return 0


def _persona_from_chat(args: argparse.Namespace) -> int:
    from evals.growing.saving import save_chat_persona

    text, path = save_chat_persona(args.export, args.id, args.out, args.force)
    print(text, end="")
    if path is not None:
        console.print(f"saved: {path}", highlight=False, markup=False)
    return 0


def _import_tickets(args: argparse.Namespace) -> int:
    from evals.growing.ticket_import import import_tickets

    with console.status("reading tickets"):
        summary = import_tickets(args.tickets, args.orders, args.out, args.force)
    made = f"{len(summary.personas)} became personas in {args.out / 'personas'}"
    console.print(f"{summary.tickets} ticket(s) read: {made}", highlight=False, markup=False)
    table = Table("skipped because", "tickets")
    for reason, count in summary.reasons().most_common():
        table.add_row(reason, str(count))
    if summary.skipped:
        console.print(table)
    if summary.personas:
        console.print(f"replay them: python -m evals run --policy POLICY --personas {args.out / 'personas'} "
                      f"--fixtures {args.out / 'fixtures'}", highlight=False, markup=False)  # fmt: skip
    return 0


def _generate_personas(args: argparse.Namespace) -> int:
    from evals.growing.generating import generate_into

    written, table, impossible = generate_into(args.policy, args.out, args.per_branch, args.force)
    for path in written:
        console.print(f"wrote {path}", highlight=False, markup=False)
    grid = Table("plan branch", "personas that exercise it")
    for says, ids in table:
        grid.add_row(says, ", ".join(ids) if ids else "UNCOVERED")
    console.print(grid)
    for branch in impossible:
        console.print(f"uncovered: {branch.says} (no order in the fixtures allows it)", highlight=False, markup=False)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="python -m evals", description="Retention Lab batch evals and A/B tests.")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="replay personas against one or more policies and score them")
    run.add_argument("--policy", type=Path, action="append", required=True, help="policy file (repeatable)")
    run.add_argument("--out", type=folder, default=Path("runs/latest"), help="run folder (default runs/latest)")
    add_run_options(run)
    run.set_defaults(handler=_run)
    report = sub.add_parser("report", help="write report.html, report.md and results.csv for a run folder")
    report.add_argument("run", type=Path)
    report.set_defaults(handler=_report)
    rescore = sub.add_parser("rescore", help="read and score a run's records again with the current rules, no model")
    rescore.add_argument("run", type=Path, help="a run folder (the --out of `python -m evals run`)")
    rescore.add_argument("--out", type=folder, default=None, help="new run folder (default: RUN-rescored beside RUN)")
    rescore.set_defaults(handler=_rescore)
    compare = sub.add_parser("compare", help="A/B: two policies on the same personas and seeds, or two existing runs")
    compare.add_argument("--a", type=Path, help="policy A")
    compare.add_argument("--b", type=Path, help="policy B")
    compare.add_argument("--runs", type=Path, nargs=2, metavar=("RUN_A", "RUN_B"), help="compare two finished runs")
    compare.add_argument(
        "--out", type=folder, default=Path("runs/compare"), help="output folder (default runs/compare)"
    )
    compare.add_argument(
        "--primary", choices=PRIMARY_METRICS, default="retention",
        help="the metric that decides 'Ship B?', named before the run (default retention)",
    )  # fmt: skip
    compare.add_argument(
        "--gate", action="append", metavar="RULE",
        help='a guard rail, e.g. "retention>=-5pp" or "adherence>=-2pp" (repeatable); with gates the exit code is '
        "0 every gate passed, 1 a gate failed, 2 not enough evidence; gate.md and gate.junit.xml are written",
    )  # fmt: skip
    add_run_options(compare)
    compare.set_defaults(handler=_compare)
    planner = sub.add_parser("plan-ab", help="before an A/B: the power of its test with these personas and trials")
    planner.add_argument("--personas", dest="personas_dir", type=Path, default=DEFAULT_PERSONA_DIR,
                         help="folder of persona YAML files (default fixtures/personas)")  # fmt: skip
    planner.add_argument("--persona", dest="persona_ids", action="append", help="only this persona id (repeatable)")
    planner.add_argument("--trials", type=int, default=3, help="trials per persona (default 3)")
    planner.add_argument("--effect", default="20pp", help="the true retention effect to detect (default 20pp)")
    planner.set_defaults(handler=_plan_ab)
    from_chat = sub.add_parser("persona-from-chat", help="turn an exported chat into a test customer (persona YAML)")
    from_chat.add_argument("export", type=Path, help="a chat export (agent chat --state-out, or the chat lab's JSON)")
    from_chat.add_argument("--id", default=None, help="the persona's id (default: from the customer and first line)")
    from_chat.add_argument("--out", type=folder, default=None, help="write ID.yaml into this personas folder")
    from_chat.add_argument("--force", action="store_true", help="write even over a file, or when the oracle disagrees")
    from_chat.set_defaults(handler=_persona_from_chat)
    tickets = sub.add_parser("import-tickets", help="turn helpdesk tickets (Gorgias export) into personas")
    tickets.add_argument("tickets", type=Path, help="tickets as Gorgias's GET /api/tickets returns them (JSON)")
    tickets.add_argument(
        "--orders", type=Path, default=None, help="the orders as Magento's GET /V1/orders returns them"
    )
    tickets.add_argument("--out", type=folder, required=True, help="folder for personas/, fixtures/ and the summary")
    tickets.add_argument("--force", action="store_true", help="write over persona files already there")
    tickets.set_defaults(handler=_import_tickets)
    generating = sub.add_parser("generate-personas", help="write personas for the plan branches a library misses")
    generating.add_argument("--policy", type=Path, required=True, help="the policy whose plan to cover")
    generating.add_argument("--out", type=folder, default=DEFAULT_PERSONA_DIR,
                            help="the personas folder to grow (default fixtures/personas)")  # fmt: skip
    generating.add_argument("--per-branch", type=int, default=1, help="personas wanted per branch (default 1)")
    generating.add_argument("--force", action="store_true", help="write over persona files already there")
    generating.set_defaults(handler=_generate_personas)
    read = sub.add_parser("read", help="read one agent reply from stdin and print what a reader takes from it (JSON)")
    add_model_call_options(read)
    read.set_defaults(handler=_read)
    calibrate = sub.add_parser("calibrate", help="accuracy of a reader, and agreement of a judge, on labelled sets")
    add_model_call_options(calibrate)
    add_field_options(calibrate, RunConfig, only={"judge_model", "judge_samples"})
    calibrate.add_argument(
        "--set", choices=["all", "dev", "heldout", "heldout2", "heldout3", "heldout4"], default="all", help="reply set"
    )
    calibrate.add_argument("--limit", type=int, default=None, help="only the first N items of each set (slow models)")
    calibrate.set_defaults(handler=_calibrate)
    return parser


def main(argv: list[str] | None = None) -> int:
    # a shell starts background jobs with SIGINT ignored, and children inherit that: `kill -INT` on a run started with
    # `nohup ... &` must still stop it cleanly and leave it resumable
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, _terminated)  # what timeout, CI and docker stop send: the same clean stop
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except RetentionLabError as exc:
        print(f"error: {redact(str(exc))}", file=sys.stderr)  # one line, never wrapped
        return 2
    except OSError as exc:  # a full disk, a read-only folder, a folder where a file belongs
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"error: {where}{exc.strerror or exc} (check the path, free space and write permission; "
              "finished conversations are kept)", file=sys.stderr)  # fmt: skip
        return 2
    except KeyboardInterrupt as exc:
        from evals.service import ReportInterrupted

        said = str(exc) if isinstance(exc, ReportInterrupted) else ""
        said = said or "interrupted: finished conversations are saved; rerun with --resume to finish"
        console.print(said, markup=False)
        return 130


def _terminated(signum: int, frame: object) -> None:
    """SIGTERM takes Ctrl+C's own path: whatever handles SIGINT now (asyncio's runner, which cancels the running
    task cleanly, or Python's default) handles it. Raising KeyboardInterrupt here instead could land inside the event
    loop and leave a task pending, with a traceback on the way out."""
    signal.raise_signal(signal.SIGINT)


if __name__ == "__main__":
    sys.exit(main())
