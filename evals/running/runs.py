"""Finding and naming run folders (for the app's Evals and A/B pages)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from agent.datafiles import PROJECT_ROOT
from evals.schema.manifest import MANIFEST, load_manifest
from evals.schema.records import RESULTS


def runs_dir() -> Path:
    """Where the app keeps runs: runs/ in the project, or $RETENTION_LAB_RUNS."""
    return Path(os.environ.get("RETENTION_LAB_RUNS", PROJECT_ROOT / "runs"))


def new_run_dir(kind: str, root: Path | None = None) -> Path:
    """A fresh, time-stamped folder name such as runs/eval-20261126-181500 (not created yet)."""
    root = root or runs_dir()
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path, n = root / f"{kind}-{stamp}", 1
    while path.exists():
        n += 1
        path = root / f"{kind}-{stamp}-{n}"
    return path


def list_runs(root: Path | None = None) -> list[Path]:
    """Eval run folders (with run.json) below `root`, newest first; A/B arms are listed under their comparison."""
    runs = [p.parent for p in (root or runs_dir()).glob("*/" + MANIFEST)]
    return sorted(runs, key=lambda p: p.stat().st_mtime, reverse=True)


def list_comparisons(root: Path | None = None) -> list[Path]:
    found = [p.parent for p in (root or runs_dir()).glob("*/comparison.json")]
    return sorted(found, key=lambda p: p.stat().st_mtime, reverse=True)


def run_progress(run: Path) -> tuple[int, int]:
    """(finished conversations, conversations the run will hold). Counts complete lines instead of parsing every
    record: the pages call it for every run they list, on every rerun."""
    results = run / RESULTS
    if not results.exists():
        return 0, load_manifest(run).total
    with results.open("rb") as handle:
        done = sum(1 for line in handle if line.endswith(b"\n") and line.strip())
    return done, load_manifest(run).total


def run_title(run: Path) -> str:
    return load_manifest(run).title(run)
