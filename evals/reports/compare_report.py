"""Write an A/B comparison: report.html (self-contained), report.md and comparison.json."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from agent.store.trace import TurnResult
from evals.reports import charts
from evals.reports.gate_report import write_gate
from evals.reports.report import MARKDOWN, TEMPLATES, atomic
from evals.schema.manifest import load_manifest
from evals.schema.records import ConversationRecord, iter_results, read_results
from evals.stats.comparison import Comparison, Flip, policy_diff_html
from evals.stats.metrics import OUTCOMES, summarize_policy


def _policy_text(run: str) -> str:
    return load_manifest(Path(run)).policies[0].text


def _flipped_records(comparison: Comparison) -> dict[str, list]:
    keys_a = {f.a_key for f in comparison.flips}
    keys_b = {f.b_key for f in comparison.flips}
    return {
        "a": [r for r in iter_results(Path(comparison.a_run)) if r.key in keys_a],
        "b": [r for r in iter_results(Path(comparison.b_run)) if r.key in keys_b],
    }


@dataclass(frozen=True)
class TurnRow:
    number: int
    a: TurnResult | None
    b: TurnResult | None
    first_divergence: bool


def _same(x: TurnResult | None, y: TurnResult | None) -> bool:
    if x is None or y is None:
        return x is y
    calls = [[(c.tool, sorted(c.args.items()), c.ok) for c in t.tool_calls] for t in (x, y)]
    return (x.customer, x.reply, calls[0]) == (y.customer, y.reply, calls[1])


def side_by_side(a: ConversationRecord, b: ConversationRecord) -> list[TurnRow]:
    """The two arms' turns aligned by turn number, the first turn where they differ marked."""
    rows, diverged = [], False
    for number in range(1, max(len(a.turns), len(b.turns)) + 1):
        x = a.turns[number - 1] if number <= len(a.turns) else None
        y = b.turns[number - 1] if number <= len(b.turns) else None
        first = not diverged and not _same(x, y)
        diverged = diverged or first
        rows.append(TurnRow(number, x, y, first))
    return rows


def rules_at_stake(a: ConversationRecord, b: ConversationRecord) -> list[str]:
    """The adherence rules that failed in either conversation of a pair (what the rule filter offers)."""
    failed = {s.name for s in [*a.scores, *b.scores] if s.name.startswith("adherence.") and s.passed is False}
    return sorted(name.removeprefix("adherence.") for name in failed)


def _flipped_pairs(comparison: Comparison) -> list[tuple[Flip, ConversationRecord, ConversationRecord, list[TurnRow]]]:
    flipped = _flipped_records(comparison)
    by_key_a = {r.key: r for r in flipped["a"]}
    by_key_b = {r.key: r for r in flipped["b"]}
    pairs = []
    for flip in comparison.flips:
        a, b = by_key_a.get(flip.a_key), by_key_b.get(flip.b_key)
        if a is not None and b is not None:
            pairs.append((flip, a, b, side_by_side(a, b)))
    return pairs


def write_comparison(comparison: Comparison, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    summaries = {
        f"A: {comparison.a_label}": summarize_policy(read_results(Path(comparison.a_run), light=True)),
        f"B: {comparison.b_label}": summarize_policy(read_results(Path(comparison.b_run), light=True)),
    }
    svgs = {
        "overall": charts.to_svg(charts.overall_mix(summaries)),
        "adherence": charts.to_svg(charts.adherence(summaries)),
        "economics": charts.to_svg(charts.economics(summaries)),
    }
    a_text, b_text = _policy_text(comparison.a_run), _policy_text(comparison.b_run)
    context = {
        "c": comparison,
        "summaries": summaries,
        "outcomes": OUTCOMES,
        "charts": svgs,
        "diff": policy_diff_html(a_text, b_text, f"A: {comparison.a_label}", f"B: {comparison.b_label}"),
        "same_text": a_text == b_text,
        "pairs": (pairs := _flipped_pairs(comparison)),
        "rules_at_stake": {f.a_key: rules_at_stake(a, b) for f, a, b, _ in pairs},
    }
    paths = [out / "report.html", out / "report.md", out / "comparison.json"]
    texts = [
        TEMPLATES.get_template("compare.html.j2").render(**context),
        MARKDOWN.get_template("compare.md.j2").render(**context),
        comparison.model_dump_json(indent=2),
    ]
    for path, text in zip(paths, texts, strict=True):
        with atomic(path) as tmp:
            tmp.write_text(text, encoding="utf-8")
    return paths + (write_gate(comparison, out) if comparison.gates else [])
