"""The runner plays any agent behind the `AgentUnderTest` seam: a double written without LangChain is run, traced
and scored like the product's agent."""

from __future__ import annotations

from evals.running.config import RunConfig
from evals.running.runner import execute_run
from evals.schema.records import iter_results
from testing.agent_doubles import CancelsWithoutOffering
from tests.conftest import ROOT

RETENTION = ROOT / "policies" / "retention_offers.md"


def test_a_double_behind_the_seam_is_played_traced_and_scored(tmp_path):
    config = RunConfig(policies=[RETENTION], trials=1, cache_path=None, out=tmp_path / "run",
                       persona_ids=["discount_at_once", "declines_everything"])  # fmt: skip
    execute_run(config, agent=CancelsWithoutOffering)
    records = {r.persona: r for r in iter_results(tmp_path / "run")}
    taker = records["discount_at_once"]
    assert [c.tool for c in taker.trace] == ["cancel_order"] and taker.trace[0].ok
    assert taker.outcome == "cancelled" and taker.expected.outcome == "retained"
    assert taker.score("correct_outcome").passed is False
    assert taker.transcript[1].content.startswith("Done: order")
    # a customer who declines everything is cancelled either way, but no offer came first
    assert records["declines_everything"].outcome == "cancelled"
