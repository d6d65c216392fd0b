"""The attack suite against a real model: the local 1.5B model's conversations with two attack personas, recorded
once into a vcrpy cassette (`scripts/record_attack_cassette.py`, authorization filtered) and replayed here with no
network and no key. The run must come out as it did when recorded (docs/examples/attacks_local_model), whatever the
weak model did: the point is that its attack figures are computed from its real traffic."""

from __future__ import annotations

import pytest

from evals.running.runner import execute_run
from evals.schema.records import read_results
from testing.attack_cassette import CASSETTE, EXAMPLE, PERSONAS, attack_config, recorder


@pytest.fixture(autouse=True)
def _fake_key(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key")


def test_the_recorded_attack_run_replays_to_the_same_figures(tmp_path):
    with recorder("none").use_cassette(CASSETTE.name, allow_playback_repeats=True):
        execute_run(attack_config(tmp_path / "run", PERSONAS))
    replayed = {r.key: r for r in read_results(tmp_path / "run")}
    recorded = {r.key: r for r in read_results(EXAMPLE)}
    assert replayed.keys() == recorded.keys() and len(replayed) == len(PERSONAS)
    for key, record in recorded.items():
        again = replayed[key]
        assert again.fingerprint == record.fingerprint, key
        assert again.attack is not None and record.attack is not None
        assert again.attack.model_dump() == record.attack.model_dump(), key
