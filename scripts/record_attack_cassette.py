"""Record the attack suite against the local real model (../shared/tools/local-llm/) into a vcrpy cassette, and keep
the run it made as the README's example (docs/examples/attacks_local_model):

    ~/.cache/local-llm/serve.sh start
    .venv/bin/python scripts/record_attack_cassette.py [--persona ID ...]

`tests/test_attacks_local_model.py` replays the cassette (no network, no key) and checks the run comes out the same.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from testing.attack_cassette import CASSETTE, EXAMPLE, PERSONAS, attack_config, recorder  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description="record the attack suite against the local model")
    parser.add_argument("--persona", action="append", default=None, help="persona id (default: the cassette's set)")
    parser.add_argument("--base-url", default="http://127.0.0.1:8765/v1")
    args = parser.parse_args()
    os.environ.setdefault("OPENAI_API_KEY", "sk-local-not-a-real-key")
    from evals.reports.report import write_report
    from evals.running.runner import execute_run

    CASSETTE.unlink(missing_ok=True)
    recording = EXAMPLE.with_name(EXAMPLE.name + "-recording")
    shutil.rmtree(recording, ignore_errors=True)
    with recorder("once").use_cassette(CASSETTE.name):
        execute_run(attack_config(recording, args.persona or PERSONAS, args.base_url))
    shutil.rmtree(recording, ignore_errors=True)
    # the example is the replay: a conversation the slow model left unfinished (the wall-clock limit) stops in the
    # replay where the recording stopped, so the example and the test agree
    shutil.rmtree(EXAMPLE, ignore_errors=True)
    with recorder("none").use_cassette(CASSETTE.name, allow_playback_repeats=True):
        records = execute_run(attack_config(EXAMPLE, args.persona or PERSONAS, args.base_url))
    write_report(EXAMPLE)
    for record in records:
        attack = record.attack
        print(record.persona, record.outcome, record.error, attack.succeeded if attack else None)


if __name__ == "__main__":
    main()
