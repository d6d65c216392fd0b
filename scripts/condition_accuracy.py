"""Whether lint names conditions on the customer and on the conversation that a drafted plan does not hold, on policies
written without sight of the cues (the README's figures come from here):

    .venv/bin/python scripts/condition_accuracy.py [-v]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from testing.labelled_conditions import SAID, measure  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description="lint on conditions, on labelled policies")
    parser.add_argument("-v", action="store_true", help="list every miss and false alarm")
    args = parser.parse_args()
    rows = measure()
    print(f"{len({r.id for r in rows})} labelled policies")
    for label in SAID:
        mine = [r for r in rows if r.label == label]
        true = [r for r in mine if r.truth]
        false = [r for r in mine if not r.truth]
        named = sum(r.named_on_line for r in true)
        silent = [r for r in true if not r.named_anywhere and not r.any_problem_on_line]
        alarms = [r for r in false if r.named_anywhere]
        print(f"{label}: named on its line {named}/{len(true)}; silent {len(silent)}; "
              f"false alarms {len(alarms)}/{len(false)}")  # fmt: skip
        if args.v:
            for r in true:
                if not r.named_on_line:
                    print(f"   missed: {r.id} ({r.language})" + (" SILENT" if r in silent else ""))
            for r in alarms:
                print(f"   false alarm: {r.id} ({r.language})")


if __name__ == "__main__":
    main()
