"""Write an A/B comparison: report.html (self-contained), report.md and comparison.json."""

from __future__ import annotations

from pathlib import Path

from evals.reports import charts
from evals.reports.report import MARKDOWN, TEMPLATES, atomic
from evals.schema.manifest import load_manifest
from evals.schema.records import iter_results, read_results
from evals.stats.comparison import Comparison, policy_diff_html
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
        "flipped": _flipped_records(comparison),
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
    return paths
