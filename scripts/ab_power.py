"""Print the A/B report's false-positive rate (for retention alone and for anything in a whole report), interval
coverage and power, simulated through the report's own verdict code and error budget: the README's table comes
from this script.

    .venv/bin/python scripts/ab_power.py [--personas 14] [--trials 5] [--comparisons 300] [--metrics 20]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from evals.stats.power import KINDS, simulate_reports  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--personas", type=int, default=14)
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--comparisons", type=int, default=300)
    parser.add_argument("--metrics", type=int, default=20, help="metrics besides retention and cancellation (A/A)")
    args = parser.parse_args()
    print(f"{args.personas} personas x {args.trials} trials, {args.comparisons} simulated comparisons per row")
    print("| kind of personas | true effect on retention | retention called significant | anything in the report "
          "called significant | retention's interval holds the truth |")  # fmt: skip
    print("|---|---|---|---|---|")
    for kind in KINDS:
        for effect in (0.0, 0.1, 0.2, 0.3):
            metrics = args.metrics if effect == 0 else 0
            found = simulate_reports(effect, args.comparisons, 11, args.personas, args.trials, kind, metrics)
            label = "none (A/A)" if effect == 0 else f"{effect:.0%} points"
            report = f"{found.family_wise:.1%} (with {metrics} more metrics)" if effect == 0 else "-"
            print(f"| {kind} | {label} | {found.power:.1%} | {report} | {found.coverage:.1%} |")


if __name__ == "__main__":
    main()
