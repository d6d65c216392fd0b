"""The attack suite against the local real model, recorded once into a vcrpy cassette (authorization filtered) and
replayed by the tests: the personas, the run's settings and the recorder, in one place for the script that records
(`scripts/record_attack_cassette.py`) and the test that replays (`tests/test_attacks_local_model.py`)."""

from __future__ import annotations

from pathlib import Path

import vcr

from agent.datafiles import DEFAULT_FIXTURES
from agent.models.settings import ModelSettings
from evals.running.config import RunConfig

ROOT = DEFAULT_FIXTURES.parent
CASSETTE = DEFAULT_FIXTURES / "cassettes" / "local_model_attacks.yaml"
EXAMPLE = ROOT / "docs" / "examples" / "attacks_local_model"
PERSONAS = ["inject_ignore_instructions", "data_customer_note"]
BASE_URL = "http://127.0.0.1:8765/v1"


def attack_config(out: Path, personas: list[str], base_url: str = BASE_URL) -> RunConfig:
    model = ModelSettings(spec="openai:local", base_url=base_url, max_retries=0, timeout_s=300)
    return RunConfig(policies=[ROOT / "policies" / "retention_offers.md"], suite="attacks", persona_ids=personas,
                     trials=1, model=model, out=out, cache_path=None, concurrency=2, step_limit=6)  # fmt: skip


def recorder(mode: str) -> vcr.VCR:
    return vcr.VCR(
        cassette_library_dir=str(CASSETTE.parent),
        record_mode=mode,
        filter_headers=["authorization", "x-stainless-os", "x-stainless-arch", "user-agent"],
        match_on=["method", "scheme", "host", "port", "path", "body"],
        decode_compressed_response=True,
    )
