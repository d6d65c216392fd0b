"""`python -m evals read` and `python -m evals calibrate`: what a reader takes from one reply, and how far to trust
a reader and a judge on the labelled sets."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from agent.models.cache import DiskCache
from agent.models.settings import ModelSettings
from evals.calibration.calibration import (
    CONVERSATIONS,
    FIELDS,
    REPLY_SETS,
    load_conversations,
    load_replies,
    score_judge,
    score_reader,
)
from evals.judging.judge import Judge
from evals.judging.rubric import load_rubric
from evals.reading.readers import judging_model, make_reader
from evals.schema.reading import Reading


def _plain_numbers(value: Any) -> Any:
    """10.0 -> 10 in printed JSON, so a reading reads as people write it."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _plain_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain_numbers(v) for v in value]
    return value


def reading_json(reading: Reading) -> str:
    data = reading.model_dump(mode="json", exclude_none=True)
    return json.dumps(_plain_numbers(data), indent=2, ensure_ascii=False)


def read_command(text: str, reader_spec: str, settings: ModelSettings, cache: DiskCache | None) -> str:
    reader = make_reader(settings.model_copy(update={"spec": reader_spec}), cache)
    return reading_json(reader.read(text))


def _percent(n: int, total: int) -> str:
    return f"{n}/{total} ({100 * n / total:.1f}%)" if total else "0/0"


def reader_table(reader_spec: str, sets: list[str], settings: ModelSettings, cache: DiskCache | None,
                 progress: Callable[[str, int], Callable[[], None]], limit: int | None = None,
                 ) -> tuple[Table, list[str]]:  # fmt: skip
    reader = make_reader(settings.model_copy(update={"spec": reader_spec}), cache)
    table = Table(title=f"Reader '{reader.name}': share of labelled replies read exactly right")
    for column in ["set", "replies", "exact (all fields)", *FIELDS, "reader errors"]:
        table.add_column(column)
    misses: list[str] = []
    totals = [0, 0]
    for name in sets:
        replies = load_replies(REPLY_SETS[name])[:limit]
        score = score_reader(reader, replies, progress(f"reading {name}", len(replies)))
        totals[0] += score.exact
        totals[1] += score.total
        fields = [_percent(score.per_field[f], score.total) for f in FIELDS]
        table.add_row(name, str(score.total), _percent(score.exact, score.total), *fields, str(score.errors))
        misses += [f"{name}/{item}: {', '.join(wrong)}" for item, wrong in score.misses]
    if len(sets) > 1:
        table.add_row("all", str(totals[1]), _percent(*totals), *[""] * (len(FIELDS) + 1))
    return table, misses


def judge_table(judge_spec: str, samples: int, settings: ModelSettings, cache: DiskCache | None,
                progress: Callable[[str, int], Callable[[], None]], limit: int | None = None,
                path: Path = CONVERSATIONS) -> Table:  # fmt: skip
    judge = Judge(judging_model(settings.model_copy(update={"spec": judge_spec}), cache), judge_spec, samples)
    labelled = load_conversations(path)[:limit]
    tick = progress(f"judging {len(labelled)} conversations", len(labelled))
    judgements = []
    for item in labelled:
        judgements.append(judge.judge(item.transcript))
        tick()
    score = score_judge(judgements, labelled, load_rubric().names)
    table = Table(title=f"Judge '{judge_spec}' against {score.total} labelled conversations ({samples} sample(s) each)")
    for column in ["criterion", "Cohen's kappa", "agreement", "unusable verdicts", "judge self-agreement"]:
        table.add_column(column)
    for name, kappa in score.kappa.items():
        table.add_row(
            name,
            "n/a" if kappa is None else f"{kappa:.2f}",
            f"{score.agreement[name]:.0%}",
            str(score.unusable[name]),
            f"{score.self_agreement[name]:.0%}" if samples > 1 else "-",
        )
    table.caption = "kappa: 1 = agrees with the labels beyond chance, 0 = chance, < 0.4 = do not trust that criterion."
    return table


def print_calibration(console: Console, reader_spec: str, judge_spec: str | None, samples: int, sets: list[str],
                      settings: ModelSettings, cache: DiskCache | None,
                      progress: Callable[[str, int], Callable[[], None]], limit: int | None = None,
                      ) -> None:  # fmt: skip
    table, misses = reader_table(reader_spec, sets, settings, cache, progress, limit)
    console.print(table)
    if misses:
        console.print("misread: " + "; ".join(misses), highlight=False)
    if judge_spec:
        console.print(judge_table(judge_spec, samples, settings, cache, progress, limit))
    if limit:
        console.print(f"(the first {limit} item(s) of each set only: a rough figure)", highlight=False)
