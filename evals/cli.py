"""`python -m evals run|report|compare`: batch evaluations and A/B comparisons from the terminal."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from agent.errors import RetentionLabError
from agent.models import DEFAULT_MODEL, ModelSettings
from evals.personas import DEFAULT_PERSONA_DIR
from evals.runner import DEFAULT_CACHE, RunConfig

console = Console(stderr=True, width=None if sys.stderr.isatty() else 160)


def progress_bar() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[last]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    )


def add_run_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--personas", type=Path, default=DEFAULT_PERSONA_DIR, help="folder of persona YAML files")
    parser.add_argument("--persona", action="append", dest="persona_ids", help="only this persona id (repeatable)")
    parser.add_argument("--trials", type=int, default=3, help="trials per persona and policy (default 3)")
    parser.add_argument("--model", default=DEFAULT_MODEL, help="offline (default) or openai:<model>")
    parser.add_argument("--base-url", default=None, help="OpenAI-compatible server URL (or OPENAI_BASE_URL)")
    parser.add_argument("--concurrency", type=int, default=4, help="conversations in flight at once (default 4)")
    parser.add_argument("--seed", type=int, default=0, help="base seed; each persona and trial derives its own")
    parser.add_argument("--resume", action="store_true", help="finish a killed run in --out without redoing anything")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="model response cache (SQLite file)")
    parser.add_argument("--no-cache", action="store_true", help="call the model for every request")
    parser.add_argument("--fault-rate", type=float, default=0.0, help="share of backend calls that fail transiently")


def run_config(args: argparse.Namespace, policies: list[Path], out: Path) -> RunConfig:
    if args.trials < 1 or args.concurrency < 1:
        raise RetentionLabError("--trials and --concurrency must be at least 1")
    for policy in policies:
        if not policy.is_file():
            raise RetentionLabError(f"{policy}: --policy: no such file (list policies/ for the available ones)")
    return RunConfig(
        policies=policies,
        personas_dir=args.personas,
        persona_ids=args.persona_ids,
        trials=args.trials,
        model=ModelSettings(spec=args.model, base_url=args.base_url),
        concurrency=args.concurrency,
        seed=args.seed,
        out=out,
        resume=args.resume,
        cache_path=None if args.no_cache else args.cache,
        fault_rate=args.fault_rate,
    )


def execute(config: RunConfig, label: str = "conversations") -> list:
    from agent.models import make_chat_model
    from evals.runner import run_eval

    make_chat_model(config.model)  # fail fast on a missing key, before anything is written
    with progress_bar() as progress:
        task = progress.add_task(label, total=None, last="")

        def on_result(record, done: int, total: int) -> None:
            mark = "ok" if record.correct and record.adherence_ok else "CHECK"
            progress.update(task, completed=done, total=total, last=f"{record.key}: {record.outcome} [{mark}]")

        return run_eval(config, on_result)


def summary_table(records: list) -> Table:
    from evals.metrics import OUTCOMES, summarize

    table = Table(title="Eval summary (95% CI)")
    for column in ["policy", *OUTCOMES, "correct", "pass^1", "adherence (min rule)", "value kept", "offer cost"]:
        table.add_column(column)
    for stem, s in summarize(records).items():
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
        )
    return table


def _run(args: argparse.Namespace) -> int:
    from evals.report import write_report

    records = execute(run_config(args, args.policy, args.out))
    console.print(summary_table(records))
    paths = write_report(args.out)
    console.print(f"results: {args.out / 'results.jsonl'}  report: {paths[0]}")
    return 0


def _report(args: argparse.Namespace) -> int:
    from evals.report import write_report

    for path in write_report(args.run):
        print(path)
    return 0


def _compare(args: argparse.Namespace) -> int:
    from evals.compare import compare_command

    return compare_command(args, execute, console)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m evals", description="Retention Lab batch evals and A/B tests.")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="replay personas against one or more policies and score them")
    run.add_argument("--policy", type=Path, action="append", required=True, help="policy file (repeatable)")
    run.add_argument("--out", type=Path, default=Path("runs/latest"), help="run folder (default runs/latest)")
    add_run_options(run)
    run.set_defaults(handler=_run)
    report = sub.add_parser("report", help="write report.html, report.md and results.csv for a run folder")
    report.add_argument("run", type=Path)
    report.set_defaults(handler=_report)
    compare = sub.add_parser("compare", help="A/B: two policies on the same personas and seeds, or two existing runs")
    compare.add_argument("--a", type=Path, help="policy A")
    compare.add_argument("--b", type=Path, help="policy B")
    compare.add_argument("--runs", type=Path, nargs=2, metavar=("RUN_A", "RUN_B"), help="compare two finished runs")
    compare.add_argument("--out", type=Path, default=Path("runs/compare"), help="output folder (default runs/compare)")
    add_run_options(compare)
    compare.set_defaults(handler=_compare)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except RetentionLabError as exc:
        print(f"error: {exc}", file=sys.stderr)  # one line, never wrapped
        return 2
    except KeyboardInterrupt:
        console.print("interrupted: finished conversations are saved; rerun with --resume to finish")
        return 130


if __name__ == "__main__":
    sys.exit(main())
