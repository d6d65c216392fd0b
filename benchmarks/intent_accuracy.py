"""How well the offline model reads customer messages, on every labelled set in fixtures/labelled/.

    .venv/bin/python benchmarks/intent_accuracy.py [--show-wrong]

customer_messages.yaml is the development set (the rules were fixed against it). customer_messages_heldout*.yaml
were written independently of the implementation; their first measurement is the honest figure (see the README).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from testing.labelled_messages import LABELLED, play  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--show-wrong", action="store_true", help="list every message that got another action")
    args = parser.parse_args()
    print(f"{'set':40s} {'messages':>8s} {'right':>7s} {'unasked writes':>15s}")
    for path in sorted(LABELLED.glob("customer_messages*.yaml")):
        rows = play(path.name)
        right = sum(r.right for r in rows)
        unasked = sum(bool(r.unasked) for r in rows)
        print(f"{path.name:40s} {len(rows):8d} {right / len(rows):7.1%} {unasked:15d}")
        if args.show_wrong:
            for r in rows:
                if not r.right or r.unasked:
                    print(f"    [{r.context}] {r.message!r}: want {r.label}, got {r.action} {r.unasked or ''}")


if __name__ == "__main__":
    main()
