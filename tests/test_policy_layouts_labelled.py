"""On the labelled policy layouts written without sight of the reader's rules, every misread plan is named by lint:
0 silent misreads (figures: scripts/plan_accuracy.py, README). Lint stays quiet on the shipped policies."""

from __future__ import annotations

import pytest

from agent.policy.lint import lint_paths
from testing.labelled_plans import HELDOUT, HELDOUT2, measure
from tests.conftest import POLICIES, ROOT


@pytest.mark.parametrize("labelled", [HELDOUT, HELDOUT2], ids=["heldout", "heldout2"])
def test_no_misread_plan_is_silent(labelled):
    rows = measure(labelled)
    assert len(rows) >= 30
    silent = [f"{r.case.name}: {'; '.join(r.differences)}" for r in rows if r.silent]
    assert silent == []


def test_the_shipped_policies_and_layouts_lint_clean():
    assert [str(p) for p in lint_paths([POLICIES, ROOT / "fixtures" / "policy_layouts"])] == []
