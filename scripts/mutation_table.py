"""Print the mutation harness's table (testing/mutation_harness.py): every persona under every shipped policy, played
by the misbehaving agent double once clean and once per mistake; each mistake's catch rate by the rules that exist
for it, and each rule's false alarms on the clean runs. `--misses` lists the conversations behind each miss."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from testing.misbehaving_agent import MISTAKES  # noqa: E402
from testing.mutation_harness import markdown_table, measure  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--policy", action="append", type=Path, help="policy file (default: every one in policies/)")
    parser.add_argument("--mistake", action="append", choices=sorted(MISTAKES), help="only this mistake")
    parser.add_argument("--trials", type=int, default=3, help="trials per persona and policy, each in its own style")
    parser.add_argument("--misses", action="store_true", help="list each miss and each false alarm")
    args = parser.parse_args()
    policies = args.policy or sorted((ROOT / "policies").glob("*.md"))
    tallies, clean, styles = measure(policies, args.mistake or list(MISTAKES), trials=args.trials)
    print(markdown_table(tallies, clean))
    print(f"\nclean conversations by reply style: {dict(sorted(styles.items()))}")
    if args.misses:
        for t in tallies:
            for miss in t.misses:
                print(f"missed {t.mistake}: {miss}")
        for r in clean:
            for alarm in r.alarms:
                print(f"false alarm {r.rule}: {alarm}")


if __name__ == "__main__":
    main()
