"""The command line's options: generated from `RunConfig` (and the `ModelSettings` it holds), so a flag's default,
type, range and help are the config's own. Only what is not a run setting is declared here."""

from __future__ import annotations

import argparse
from pathlib import Path

from pydantic import ValidationError

from agent.errors import RetentionLabError
from agent.models.cache import cache_path_problem
from agent.options import add_field_options, flag_of, values_from_args
from evals.running.config import RunConfig

MODEL_CALL_FIELDS = {"reader", "cache_path", "model.base_url", "model.timeout_s"}
MAX_ERRORS_HELP = "errored conversations tolerated before exit 1"


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """Every run setting, plus --no-cache and --max-errors (how the command treats the run, not the run itself)."""
    add_field_options(parser, RunConfig)
    parser.add_argument("--no-cache", action="store_true", help="call the model for every request")
    parser.add_argument("--max-errors", type=count, default=0, help=MAX_ERRORS_HELP + " (default 0)")


def count(text: str) -> int:
    """A whole number, 0 or more (argparse reports the error in one line)."""
    value = int(text)
    if value < 0:
        raise ValueError(text)
    return value


count.__name__ = "whole number of 0 or more"


def folder(text: str) -> Path:
    """A folder path that is not empty (an empty --out would write a run into the current folder)."""
    if not text.strip():
        raise ValueError(text)
    return Path(text)


folder.__name__ = "non-empty folder path"


def add_model_call_options(parser: argparse.ArgumentParser) -> None:
    """The options of the commands that call a reader or judge model directly (read, calibrate)."""
    add_field_options(parser, RunConfig, only=MODEL_CALL_FIELDS)
    parser.add_argument("--no-cache", action="store_true", help="call the model for every request")


def check_cache_path(cache: Path | None) -> None:
    """Refuse an unusable --cache before anything is written."""
    problem = cache_path_problem(cache) if cache is not None else None
    if problem:
        raise RetentionLabError(f"{cache}: --cache: {problem}")


def run_config(args: argparse.Namespace, policies: list[Path], out: Path) -> RunConfig:
    """The run's config from the command line; a bad value is one line naming the flag and the fix."""
    for policy in policies:
        if policy.exists() and not policy.is_file() and not policy.is_dir():
            raise RetentionLabError(f"{policy}: --policy: is not a regular file (a pipe or a device; pass a .md file)")
        if not policy.is_file():
            raise RetentionLabError(f"{policy}: --policy: no such file (list policies/ for the available ones)")
    check_cache_path(args.cache_path)
    values = values_from_args(args, RunConfig)
    if args.no_cache:
        values["cache_path"] = None
    return validated(RunConfig, {**values, "policies": policies, "out": out})


def validated(model: type[RunConfig], values: dict) -> RunConfig:
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        first = exc.errors()[0]
        message = first["msg"].removeprefix("Value error, ")
        raise RetentionLabError(f"{flag_of(model, first['loc'])}: {message} (got {first.get('input')!r})") from exc
