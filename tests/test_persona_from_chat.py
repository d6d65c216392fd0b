"""A chat saved as a test customer (`python -m evals persona-from-chat`) replays to the outcome the chat reached,
under the same policy: accepting, haggling, refusing, asking for a person, someone else's order."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from evals.running.config import RunConfig
from evals.running.runner import execute_run
from evals.schema.records import iter_results
from tests.conftest import POLICIES, ROOT
from tests.test_offline_cases import chat

RETENTION = POLICIES / "retention_offers.md"


def from_chat(export, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "evals", "persona-from-chat", str(export), *args],
                          cwd=ROOT, capture_output=True, text=True)  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize(
    ("customer", "lines", "outcome"),
    [
        (1, ["I want to cancel order 101, it's too expensive", "no thanks", "ok fine cancel it"], "cancelled"),
        (1, ["please cancel my order 000000101", "the free shipping upgrade sounds good"], "retained"),
        (1, ["cancel order 101", "can you do 15%?", "yes"], "retained"),
        (6, ["cancel 000000111 please", "I'd like to speak to a human"], "escalated"),
        (12, ["Please cancel order 000000105 for me."], "unresolved"),
    ],
)
def test_a_saved_chat_replays_to_the_outcome_it_reached(customer, lines, outcome, tmp_path):
    state = chat(customer, lines, tmp_path)
    export = tmp_path / "state.json"
    assert json.loads(export.read_text())["customer_id"] == customer and state["transcript"]
    personas = tmp_path / "personas"
    result = from_chat(export, "--id", "saved", "--out", str(personas))
    assert result.returncode == 0, result.stderr
    assert f"outcome: {outcome}" in result.stdout and (personas / "saved.yaml").exists()
    execute_run(RunConfig(policies=[RETENTION], personas_dir=personas, trials=2, out=tmp_path / "run", cache_path=None))
    records = list(iter_results(tmp_path / "run"))
    assert [r.outcome for r in records] == [outcome, outcome], [r.transcript for r in records]
    assert all(r.correct for r in records)


def test_a_broken_export_or_a_taken_name_is_refused_in_one_line(tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text('{"policy": 3}')
    result = from_chat(broken)
    assert result.returncode == 2 and "error:" in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    state = chat(1, ["I want to cancel order 101, it's too expensive", "no thanks"], tmp_path)
    assert state["transcript"]
    (tmp_path / "personas").mkdir()
    (tmp_path / "personas" / "taken.yaml").write_text("id: taken\n")
    result = from_chat(tmp_path / "state.json", "--id", "taken", "--out", str(tmp_path / "personas"))
    assert result.returncode == 2 and "already exists" in result.stderr
    assert (tmp_path / "personas" / "taken.yaml").read_text() == "id: taken\n"
    result = from_chat(tmp_path / "state.json", "--id", "Bad Id")
    assert result.returncode == 2 and "id: String should match pattern" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_a_chat_that_changed_two_orders_is_refused_and_braces_stay_text(tmp_path):
    """One persona is about one order: a chat that kept one order and cancelled another would mix their outcomes and
    offers, so it is refused in one line. A customer who writes braces keeps them as text, not placeholders."""
    lines = ["cancel order 102", "the free shipping upgrade sounds good", "also cancel order 103", "no thanks"]
    chat(2, lines, tmp_path)
    result = from_chat(tmp_path / "state.json")
    assert result.returncode == 2 and "changed 2 orders" in result.stderr and "Traceback" not in result.stderr
    chat(1, ["I want to cancel my order {asap}", "no thanks", "ok fine cancel it"], tmp_path)
    result = from_chat(tmp_path / "state.json")
    assert result.returncode == 0, result.stderr
    assert "mention_order: false" in result.stdout and "{{asap}}" in result.stdout
