"""Command-line options and form bounds generated from pydantic fields, so each setting is declared once.

A field that carries `json_schema_extra={"flag": "--name"}` becomes an argparse option: its type, default, choices
and help come from the field itself. A field whose type is a model with flagged fields contributes those (their
values land under the field's name). `values_from_args` turns the parsed flags back into the model's input, and
`flag_of` names the flag behind a validation error.
"""

from __future__ import annotations

import argparse
import types
from collections.abc import Container, Iterator
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

import annotated_types
from pydantic import BaseModel
from pydantic.fields import FieldInfo

SEPARATOR = "__"


def flagged_fields(model: type[BaseModel], prefix: str = "") -> Iterator[tuple[str, FieldInfo]]:
    """(dotted name, field) for every flagged field of `model` and of the models it holds."""
    for name, field in model.model_fields.items():
        extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
        if "flag" in extra:
            yield prefix + name, field
        elif isinstance(inner := _plain_type(field.annotation), type) and issubclass(inner, BaseModel):
            yield from flagged_fields(inner, f"{prefix}{name}.")


def flag_name(field: FieldInfo) -> str:
    extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
    return str(extra["flag"])


def field_default(field: FieldInfo) -> Any:
    return field.get_default(call_default_factory=True)


def add_field_options(
    parser: argparse.ArgumentParser, model: type[BaseModel], only: Container[str] | None = None
) -> None:
    """Add one option per flagged field of `model` (or only those whose dotted names are in `only`)."""
    for name, field in flagged_fields(model):
        if only is None or name in only:
            kwargs = _argparse_kwargs(field)
            if kwargs.get("action") != "store_true" and "choices" not in kwargs:
                kwargs["metavar"] = name.rpartition(".")[2].upper()
            parser.add_argument(flag_name(field), dest=name.replace(".", SEPARATOR), **kwargs)


def values_from_args(args: argparse.Namespace, model: type[BaseModel]) -> dict[str, Any]:
    """The model's input from parsed options: nested fields become nested dicts; options not added are left out."""
    values: dict[str, Any] = {}
    for name, _ in flagged_fields(model):
        dest = name.replace(".", SEPARATOR)
        if hasattr(args, dest):
            *outer, last = name.split(".")
            target = values
            for part in outer:
                target = target.setdefault(part, {})
            target[last] = getattr(args, dest)
    return values


def flag_of(model: type[BaseModel], loc: tuple[int | str, ...]) -> str:
    """The option behind a validation error's location, or the dotted location when no option sets it."""
    dotted = ".".join(str(part) for part in loc)
    for name, field in flagged_fields(model):
        if dotted == name or dotted.startswith(name + "."):
            return flag_name(field)
    return dotted


def bounds(model: type[BaseModel], name: str) -> tuple[Any, Any, Any]:
    """(lowest, highest, default) of a numeric field: what a form's number input needs."""
    field = model.model_fields[name]
    low = high = None
    for rule in field.metadata:
        if isinstance(rule, annotated_types.Ge | annotated_types.Gt):
            low = rule.ge if isinstance(rule, annotated_types.Ge) else rule.gt
        if isinstance(rule, annotated_types.Le | annotated_types.Lt):
            high = rule.le if isinstance(rule, annotated_types.Le) else rule.lt
    return low, high, field_default(field)


def _plain_type(annotation: Any) -> Any:
    """`X` for `X`, `X | None` and `Optional[X]`; the annotation itself otherwise."""
    if get_origin(annotation) in (Union, types.UnionType):
        inner = [arg for arg in get_args(annotation) if arg is not type(None)]
        return inner[0] if len(inner) == 1 else annotation
    return annotation


def _argparse_kwargs(field: FieldInfo) -> dict[str, Any]:
    kind, default = _plain_type(field.annotation), field_default(field)
    description = field.description or ""
    if kind is bool:
        return {"action": "store_true", "help": description}
    kwargs: dict[str, Any] = {"default": default}
    if get_origin(kind) is list:
        kind = get_args(kind)[0]
        kwargs["action"] = "append"
    if get_origin(kind) is Literal:
        kwargs["choices"] = list(get_args(kind))
    elif kind in (int, float, Path):
        kwargs["type"] = kind
    shown = "" if default in (None, [], "") else f" (default {default})"
    kwargs["help"] = (description + shown).strip()
    return kwargs
