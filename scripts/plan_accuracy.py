"""How well the policy reader drafts offer plans from layouts it was not written against, and whether lint speaks up
when it does not (the README's figures come from here):

    .venv/bin/python scripts/plan_accuracy.py [-v]
    .venv/bin/python scripts/plan_accuracy.py --plan-model openai:local --base-url http://127.0.0.1:8765/v1 --limit 5
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from testing.labelled_plans import HELDOUT, HELDOUT2, measure  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description="plan reader accuracy on the labelled layouts")
    parser.add_argument("-v", action="store_true", help="list every misread with lint's problems")
    parser.add_argument("--plan-model", default=None, help="measure a model's drafts instead of the rules'")
    parser.add_argument("--base-url", default=None)
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--limit", type=int, default=None, help="only the first N layouts of each set (slow models)")
    args = parser.parse_args()
    drafter = model_drafter(args) if args.plan_model else None
    print(f"drafted by {args.plan_model or 'the rules'}")
    for path in (HELDOUT, HELDOUT2):
        print(f"== {path.name}")
        report(measure(path, drafter, args.limit), args.v)


def model_drafter(args: argparse.Namespace):
    from agent.models.cache import DiskCache, default_cache_path
    from agent.models.plan_reader import draft_plan_with_model
    from agent.models.settings import ModelSettings

    settings = ModelSettings(spec=args.plan_model, base_url=args.base_url, timeout_s=args.timeout, max_retries=0)
    cache = DiskCache(default_cache_path())

    def draft(compiled):
        spec, error = draft_plan_with_model(compiled, settings, cache)
        if error:
            print(f"  {compiled.main.path.name}: {error}")
        return spec

    return draft


def report(rows: list, verbose: bool) -> None:
    exact = sum(r.exact for r in rows)
    silent = [r for r in rows if r.silent]
    alarms = sum(r.exact and bool(r.problems) for r in rows)
    print(f"{len(rows)} labelled layouts: {exact} read exactly ({exact / len(rows):.0%}); "
          f"{len(rows) - exact} misread, {len(silent)} of them with no lint problem (silent); "
          f"{alarms} read exactly but warned about (false alarms)")  # fmt: skip
    for language in sorted({r.case.language for r in rows}):
        mine = [r for r in rows if r.case.language == language]
        print(f"  {language}: {sum(r.exact for r in mine)}/{len(mine)} exact, {sum(r.silent for r in mine)} silent")
    if verbose:
        for row in rows:
            if not row.exact:
                mark = "SILENT " if row.silent else ""
                print(f"- {mark}{row.case.name}: " + "; ".join(row.differences))
                for problem in row.problems[:4]:
                    print(f"    lint: {problem}")


if __name__ == "__main__":
    main()
