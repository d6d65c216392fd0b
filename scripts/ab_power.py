"""Print the A/B test's false-positive rate, interval coverage and power, simulated through the report's own verdict
code (Holm over the primary family included): the README's power table comes from this script.

    .venv/bin/python scripts/ab_power.py [--personas 14] [--trials 5] [--comparisons 300]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from evals.stats.power import simulate  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--personas", type=int, default=14)
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--comparisons", type=int, default=300)
    args = parser.parse_args()
    print(f"{args.personas} personas x {args.trials} trials, {args.comparisons} simulated comparisons per row")
    print("| true effect | called significant | interval coverage |")
    print("|---|---|---|")
    for effect in (0.0, 0.1, 0.2, 0.3):
        called, covered = simulate(effect, args.comparisons, seed=11, personas=args.personas, trials=args.trials)
        label = "none (A/A: false positives)" if effect == 0 else f"{effect:.0%} points (power)"
        print(f"| {label} | {called:.1%} | {covered:.1%} |")


if __name__ == "__main__":
    main()
