"""How the offline reference model does on the held-out customer scripts: end states right, unasked writes, by
language; with --failures, each wrong script with its expected and actual end state and the agent's last reply.

    python scripts/script_accuracy.py [--set heldout|heldout2] [--failures] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from testing.labelled_scripts import SCRIPT_SETS, load_scripts, play_all, reviews_of, summary  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--failures", action="store_true", help="list each wrong script")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.add_argument("--set", choices=sorted(SCRIPT_SETS), default="heldout", help="which labelled set")
    args = parser.parse_args()
    path = SCRIPT_SETS[args.set]
    played = play_all(load_scripts(path))
    figures = summary(played, reviews_of(path))
    if args.json:
        print(json.dumps(figures))
        return
    print(f"end state right: {figures['correct']}/{figures['scripts']}   unasked writes: {figures['unasked_writes']}")
    print(
        f"with the project's {figures['reviewed_labels']} label reviews: {figures['correct_reviewed']}/"
        f"{figures['scripts']} right, {figures['unasked_writes_reviewed']} unasked writes"
    )
    print("by language: " + ", ".join(f"{k} {v}" for k, v in figures["by_language"].items()))
    if args.failures:
        for p in played:
            if not p.correct:
                mark = "UNASKED WRITE" if p.unasked_write else "wrong"
                print(f"\n[{mark}] {p.script.id} ({p.script.policy}, customer {p.script.customer})")
                print(f"  expected: {p.script.expect.orders} escalated={p.script.expect.escalated}")
                changed = {k: v for k, v in p.actual.orders.items() if v != "unchanged"}
                print(f"  actual:   {changed} coupons={p.coupons} escalated={p.actual.escalated}")
                for message, reply in zip(p.script.messages, p.replies, strict=False):
                    print(f"  C: {message}\n  A: {reply[:160]!r}")


if __name__ == "__main__":
    main()
