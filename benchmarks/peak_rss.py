"""Run a Python module as `python -m`, then print the process's peak RSS in MB as the last line (for bench_evals.py).

    .venv/bin/python benchmarks/peak_rss.py -m evals run ...

`ru_maxrss` of the benchmark's children would be the largest child so far, so each measured run is its own child.
"""

from __future__ import annotations

import resource
import runpy
import sys


def main() -> None:
    if len(sys.argv) < 3 or sys.argv[1] != "-m":
        raise SystemExit("usage: peak_rss.py -m MODULE [ARGS...]")
    module, sys.argv = sys.argv[2], sys.argv[2:]
    try:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
    except SystemExit as exc:
        if exc.code not in (0, None):
            raise
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


if __name__ == "__main__":
    main()
