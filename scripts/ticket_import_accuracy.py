"""How the ticket import reads the sample export (the README's figures come from here):

.venv/bin/python scripts/ticket_import_accuracy.py [-v]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from evals.growing.ticket_import import import_tickets  # noqa: E402
from testing.labelled_tickets import FIELDS, SAMPLE, measure  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description="ticket import accuracy on the labelled sample export")
    parser.add_argument("-v", action="store_true", help="list every miss")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder)
        import_tickets(SAMPLE / "gorgias_tickets.json", SAMPLE / "magento_orders.json", out)
        s = measure(out)
    print(f"{s.tickets} tickets, {s.cancellations} labelled cancellations; {s.made} personas written")
    print(f"  on the labelled order: {s.right_order}; on another order or none labelled: {len(s.wrong_order)}; "
          f"labelled with an order but skipped: {len(s.missed)}")  # fmt: skip
    for name in FIELDS:
        print(f"  {name}: {s.fields.get(name, 0)}/{s.right_order} as labelled")
    print(f"  personal values found in written files: {len(s.leaks)}")
    if args.v:
        for line in [*s.wrong_order, *(f"missed {m}" for m in s.missed), *s.leaks]:
            print("   ", line)
        for name, misses in s.field_misses.items():
            for line in misses:
                print(f"    {name}: {line}")


if __name__ == "__main__":
    main()
