"""How well the policy reader drafts offer plans from layouts it was not written against, and whether lint speaks up
when it does not: `.venv/bin/python scripts/plan_accuracy.py [-v]` (the README's figures come from here)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from testing.labelled_plans import HELDOUT, HELDOUT2, measure  # noqa: E402


def main() -> None:
    for path in (HELDOUT, HELDOUT2):
        print(f"== {path.name}")
        report(measure(path))


def report(rows: list) -> None:
    exact = sum(r.exact for r in rows)
    silent = [r for r in rows if r.silent]
    alarms = sum(r.exact and bool(r.problems) for r in rows)
    print(f"{len(rows)} labelled layouts: {exact} read exactly ({exact / len(rows):.0%}); "
          f"{len(rows) - exact} misread, {len(silent)} of them with no lint problem (silent); "
          f"{alarms} read exactly but warned about (false alarms)")  # fmt: skip
    for language in sorted({r.case.language for r in rows}):
        mine = [r for r in rows if r.case.language == language]
        print(f"  {language}: {sum(r.exact for r in mine)}/{len(mine)} exact, {sum(r.silent for r in mine)} silent")
    if "-v" in sys.argv:
        for row in rows:
            if not row.exact:
                mark = "SILENT " if row.silent else ""
                print(f"- {mark}{row.case.name}: " + "; ".join(row.differences))
                for problem in row.problems[:4]:
                    print(f"    lint: {problem}")


if __name__ == "__main__":
    main()
