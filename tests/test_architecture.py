"""The layout keeps its promises. The layers and the absence of import circles are import-linter contracts in
pyproject.toml ([tool.importlinter]); these tests run them, show that they catch an upward import, and keep modules
short."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

PACKAGES = ("agent", "evals", "ui", "testing")
MAX_LINES = 400
LINT_IMPORTS = str(Path(sys.executable).with_name("lint-imports"))


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [LINT_IMPORTS, "--no-cache"], cwd=root, capture_output=True, text=True, env={"PYTHONPATH": str(root)}
    )


def broken_contracts(report: str) -> str:
    """The part of lint-imports' report that lists the broken contracts, with the names unwrapped."""
    _, _, broken = report.partition("Broken contracts")
    return " ".join(broken.split())


def copy_of_the_project(tmp_path: Path) -> Path:
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_the_layer_contracts_are_kept():
    done = lint_imports(ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


@pytest.mark.parametrize(
    ("module", "upward_import", "contract"),
    [
        ("evals/schema/records.py", "from evals.service import run_eval", "evals: the command line"),
        ("agent/store/magento.py", "from agent.conversation import Conversation", "agent: the command line"),
        ("agent/tools/kinds.py", "import evals.service", "The product's packages stack"),
        ("evals/scoring/oracle.py", "import streamlit", "Streamlit only in the UI"),
    ],
)
def test_an_upward_import_breaks_a_contract(tmp_path, module, upward_import, contract):
    root = copy_of_the_project(tmp_path)
    path = root / module
    path.write_text(path.read_text(encoding="utf-8") + f"\n\ndef _upward():\n    {upward_import}\n", encoding="utf-8")
    done = lint_imports(root)
    assert done.returncode != 0
    assert contract in broken_contracts(done.stdout), done.stdout


def test_a_module_circle_breaks_a_contract(tmp_path):
    root = copy_of_the_project(tmp_path)
    path = root / "evals/stats/paired.py"
    path.write_text(path.read_text(encoding="utf-8") + "\n\ndef _circle():\n    import evals.stats.verdicts\n")
    done = lint_imports(root)
    assert done.returncode != 0 and "No module circles" in broken_contracts(done.stdout), done.stdout


def test_no_module_is_over_400_lines():
    long = {
        str(path.relative_to(ROOT)): n
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not long, long
