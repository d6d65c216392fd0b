"""`python -m evals report DIR`: report.html (self-contained, with charts), report.md and results.csv."""

from __future__ import annotations

import csv
import itertools
import os
import tempfile
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from agent.errors import InputFileError
from evals.reports import charts
from evals.reports.attack_section import attack_rows, worst_cases
from evals.reports.coverage_section import coverage_rows
from evals.reports.escaping import csv_cell, markdown_text
from evals.reports.production import production_rows
from evals.schema.judgement import judged, judged_criteria
from evals.schema.light_records import LightRecords
from evals.schema.manifest import RunManifest, load_manifest
from evals.schema.records import ConversationRecord, iter_results, iter_sorted_results, of_the_run
from evals.scoring.score import adherence_rules
from evals.stats.arms import persona_weights, run_personas
from evals.stats.metrics import OUTCOMES, PolicySummary, persona_outcomes, summarize

TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(enabled_extensions=("html.j2",), default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


def markdown_escape(value: object) -> object:
    """Every value written into a Markdown report (the Jinja finalize step): `escaping.markdown_text`."""
    return markdown_text(value)


MARKDOWN = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=False,
    finalize=markdown_escape,
    trim_blocks=True,
    lstrip_blocks=True,
)
OFFLINE_NOTE = (
    "These results come from the offline reference model. It follows each policy's structure (which offers, "
    "in what order, with which numbers) and is blind to wording: rephrasing a policy changes nothing "
    "here. Use a real model to evaluate wording."
)


def load_run(out: Path) -> tuple[RunManifest, LightRecords]:
    return load_manifest(out), LightRecords(iter_results(out))


def left_out_note(left_out: list[str]) -> str:
    return (
        f"{len(left_out)} record(s) in results.jsonl are not conversations this run planned, or repeat one "
        f"(e.g. {left_out[0]}): they were left out of every figure."
    )


def failures(records: Sequence[ConversationRecord]) -> list[dict[str, Any]]:
    rows = []
    for r in records:
        failed = [s for s in r.scores if s.passed is False]
        if failed or r.error:
            rows.append({"key": r.key, "failed": [f"{s.name}: {s.evidence}" for s in failed], "error": r.error})
    return rows


def csv_rows(records: Sequence[ConversationRecord]) -> Iterator[dict[str, Any]]:
    """One row per conversation, made as the CSV is written (a big run is streamed, not held)."""
    criteria = judged_criteria([r.judgement for r in records if r.judgement is not None])
    for r in records:
        row: dict[str, Any] = {
            "key": r.key,
            "policy": r.policy,
            "persona": r.persona,
            "trial": r.trial,
            "seed": r.seed,
            "model": r.model,
            "outcome": r.outcome,
            "retained_offer": r.retained_offer or "",
            "expected": r.expected.outcome,
            "correct": int(r.correct),
        }
        for rule in adherence_rules():
            score = r.score(rule)
            row[rule] = "" if score is None or score.passed is None else int(score.passed)
        row.update({k: ("" if v is None else v) for k, v in r.economics.model_dump().items()})
        row.update({"latency_ms": r.latency_ms, "stop_reason": r.stop_reason, "error": r.error or ""})
        row.update({"faults_met": r.faults_met, "reader": r.reader})
        for criterion in criteria:
            verdict = judged(r.judgement, criterion)
            row[f"judge.{criterion}"] = "" if verdict is None else int(verdict)
        yield row


def write_csv(path: Path, records: Sequence[ConversationRecord]) -> None:
    rows = csv_rows(records)
    first = next(rows, None)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(first) if first else ["key"])
        writer.writeheader()
        for row in itertools.chain([first] if first else [], rows):
            writer.writerow({key: csv_cell(value) for key, value in row.items()})


def chart_svgs(summaries: dict[str, PolicySummary], records: Sequence[ConversationRecord]) -> dict[str, str]:
    return {
        "overall": charts.to_svg(charts.overall_mix(summaries)),
        "personas": charts.to_svg(charts.outcome_mix(persona_outcomes(records))),
        "adherence": charts.to_svg(charts.adherence(summaries)),
        "economics": charts.to_svg(charts.economics(summaries)),
    }


def rule_lines(records: Sequence[ConversationRecord]) -> dict[str, str]:
    """rule -> the policy line(s) that state it, as `file:line` (several policies: each of their lines)."""
    found: dict[str, list[str]] = {}
    for record in records:
        for score in record.scores:
            if score.where and score.where not in found.setdefault(score.name, []):
                found[score.name].append(score.where)
    return {rule: ", ".join(lines) for rule, lines in found.items()}


def caveats(manifest: RunManifest, summaries: dict[str, PolicySummary]) -> list[str]:
    """Plain words on how far the figures can be trusted."""
    lines = []
    if any(s.weighted for s in summaries.values()):
        lines.append(
            "Rates are weighted by the personas' `weight:` (their share of real requests): each is the weighted mean "
            "of the personas' rates, and the intervals come from the weighted spread."
        )
    for stem, s in summaries.items():
        if s.copied_personas:
            lines.append(
                f"{stem}: the trials of {s.copied_personas} of {s.personas} personas were exact copies of each other, "
                "so they add no evidence; the intervals count personas, not conversations."
            )
        if s.errors:
            lines.append(f"{stem}: {s.errors} conversation(s) ended in a model or connection error and are left out.")
        if s.personas < 10:
            lines.append(f"{stem}: only {s.personas} personas, so every rate is a rough figure.")
    lines += [
        f"{p.stem}: the offer plan was drafted from the policy's text, not confirmed in its front matter; the offline "
        f"model, the expectations and the rules follow that draft (python -m agent plan {p.file} shows it)."
        for p in manifest.policies
        if p.plan_source == "draft"
    ]
    reader_errors = sum(s.reader_errors for s in summaries.values())
    if reader_errors:
        lines.append(
            f"The reader {manifest.identity.reader} could not read {reader_errors} agent repl(ies); the rules reader "
            "read them instead, so the scores of those replies rest on the rules."
        )
    reused = sum(s.reused for s in summaries.values())
    if reused:
        total = sum(s.conversations for s in summaries.values())
        lines.append(
            f"{reused} of {total} conversations were taken from an earlier run with the same code, settings, policy, "
            "persona and data files (the cache file) instead of being played again; their records say "
            '"reused": true. To play every one: --no-cache on the command line (it skips cached model replies too), '
            "or a new cache file (RETENTION_LAB_CACHE) for the app."
        )
    if manifest.identity.fault_rate:
        affected = sum(s.fault_affected for s in summaries.values())
        total = sum(s.conversations for s in summaries.values())
        lines.append(
            f"Backend faults were injected into {manifest.identity.fault_rate:.0%} of store and helpdesk calls: "
            f"{affected} of {total} conversations met at least one (the fault-affected column). The tools retry "
            "with backoff first; a rule that still could not be kept because of them is marked n/a, never failed."
        )
    return lines


def render_context(manifest: RunManifest, records: Sequence[ConversationRecord]) -> dict[str, Any]:
    summaries = summarize(records, persona_weights(run_personas(manifest)))
    offline = manifest.identity.model == "offline"
    return {
        "manifest": manifest,
        "records": records,
        "summaries": summaries,
        "outcomes": OUTCOMES,
        "rules": adherence_rules(),
        "failures": failures(records),
        "offline_note": OFFLINE_NOTE if offline else "",
        "complete": len(records) == manifest.total,
        "caveats": caveats(manifest, summaries),
        "rule_lines": rule_lines(records),
        "judge_criteria": judged_criteria([r.judgement for r in records]),
        "judge_note": judge_note(summaries, manifest),
        "voice_rows": voice_rows(records),
        "production_rows": production_rows(manifest, records),
        "coverage": coverage_rows(manifest, records),
        "attacks": attack_rows(records),
        "attack_worst": [],
    }


def voice_rows(records: Sequence[ConversationRecord]) -> list[dict[str, Any]]:
    """Per persona, how an LLM-voiced customer's messages went: said as decided, right on the second try, or a
    deviation (the scripted line was sent instead). Empty without --customer-model."""
    counts: dict[str, Counter[str]] = {}
    for r in records:
        if r.customer_voice:
            counts.setdefault(r.persona, Counter()).update(r.customer_voice)
    rows = []
    for persona, c in sorted(counts.items()):
        total = sum(c.values())
        rows.append({"persona": persona, "messages": total, "model": c["model"], "regenerated": c["regenerated"],
                     "deviation": c["deviation"], "rate": c["deviation"] / total if total else 0.0})  # fmt: skip
    return rows


def judge_note(summaries: dict[str, PolicySummary], manifest: RunManifest) -> str:
    """How far to trust the judge's figures, in plain words."""
    judge = manifest.identity.judge_model
    if not judge:
        return ""
    unusable = sum(s.judge_unusable for s in summaries.values())
    agreement = [s.judge_self_agreement for s in summaries.values() if s.judge_self_agreement is not None]
    parts = [
        f"Judged by {judge}, {manifest.identity.judge_samples} time(s) per conversation, against "
        "fixtures/judge/rubric.yaml. These verdicts never change an outcome or an adherence check. A rate counts "
        "the conversations where the criterion applied; trust a criterion only as far as "
        f"`python -m evals calibrate --judge-model {judge}` shows it agrees with the labelled conversations."
    ]
    if agreement:
        parts.append(f"The judge agreed with itself on {min(agreement):.0%}-{max(agreement):.0%} of repeated verdicts.")
    if unusable:
        parts.append(
            f"{unusable} verdict(s) were unusable (a failed call, or a quote that is not in the conversation)."
        )
    return " ".join(parts)


def write_report(
    out: Path, records: Sequence[ConversationRecord] | None = None, notes: list[str] | None = None
) -> list[Path]:
    """Write report.html, report.md and results.csv into the run folder; returns their paths. `records`: the run's
    light records in file order when the caller holds them already (read from results.jsonl otherwise), so a big run
    is not held in memory twice. `notes`: lines shown first among the caveats (what a rescore changed)."""
    manifest, records = (load_manifest(out), records) if records is not None else load_run(out)
    records, left_out = of_the_run(records, manifest.keys())
    if left_out:
        notes = [*(notes or []), left_out_note(left_out)]
    if not records:
        raise InputFileError(out / "results.jsonl", "", "holds no finished conversations", "run the eval first")
    context = render_context(manifest, records)
    context["caveats"] = [*(notes or []), *context["caveats"]]
    context["attack_worst"] = worst_cases(out, records)
    paths = [out / "report.html", out / "report.md", out / "results.csv"]
    # conversations are streamed from results.jsonl into the page one at a time, so big runs fit in memory
    with atomic(paths[0]) as tmp:
        TEMPLATES.get_template("report.html.j2").stream(
            **context,
            charts=chart_svgs(context["summaries"], records),
            conversations=iter_sorted_results(out, manifest.keys()),
        ).dump(str(tmp), encoding="utf-8")
    with atomic(paths[1]) as tmp:
        tmp.write_text(MARKDOWN.get_template("report.md.j2").render(**context), encoding="utf-8")
    with atomic(paths[2]) as tmp:
        write_csv(tmp, records)
    return paths


@contextmanager
def atomic(path: Path) -> Iterator[Path]:
    """Write to a temporary file beside `path`, then rename it into place: a kill never leaves half a report."""
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    os.close(handle)  # a unique name: two reports of one run written at once do not share a temporary file
    tmp = Path(name)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
