"""`python -m evals`: the command line over `evals.service`."""

from evals.cli.main import build_parser, main

__all__ = ["build_parser", "main"]
