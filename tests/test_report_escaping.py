"""Hostile text in a policy's name, version or file name never becomes a link, a remote image, raw HTML or a
spreadsheet formula in the Markdown and CSV reports."""

from __future__ import annotations

import csv
import json
import shutil

from evals.reports.escaping import csv_cell, markdown_text
from evals.reports.report import write_report
from tests.conftest import ROOT

HOSTILE = "![x](http://evil.invalid/x.png) [click](http://evil.invalid) <img src=x onerror=alert(1)> | [/red]"
EXAMPLE = ROOT / "docs" / "examples" / "eval_retention_offers"


def test_markdown_and_csv_escaping():
    assert markdown_text("![x](http://evil.invalid/x.png)") == "!\\[x\\](http://evil.invalid/x.png)"
    assert markdown_text("<script>a|b</script>") == "&lt;script&gt;a\\|b&lt;/script&gt;"
    assert [csv_cell(v) for v in ("=SUM(A1)", "+1", "@x", "-2", "plain", 3.5)] == [
        "'=SUM(A1)", "'+1", "'@x", "'-2", "plain", 3.5]  # fmt: skip


def test_hostile_text_reaches_no_report_as_markup_or_formula(tmp_path):
    """A policy file named like a formula, and a model error carrying Markdown and HTML, through `evals report`."""
    run = tmp_path / "run"
    shutil.copytree(EXAMPLE, run)
    lines = (run / "results.jsonl").read_text(encoding="utf-8").splitlines()
    first = json.loads(lines[0])
    lines[0] = json.dumps({**first, "policy": "=HYPERLINK(1)", "error": HOSTILE, "outcome": "error"})
    (run / "results.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    write_report(run)
    markdown = (run / "report.md").read_text(encoding="utf-8")
    assert "evil.invalid" in markdown  # the hostile text is there, as text
    assert "](http://evil.invalid" not in markdown.replace("\\](", "") and "<img" not in markdown
    with (run / "results.csv").open(encoding="utf-8") as handle:
        cells = [cell for row in csv.reader(handle) for cell in row]
    assert any("HYPERLINK" in cell for cell in cells)
    assert not any(cell.startswith(("=", "+", "@")) for cell in cells)
