"""Loading personas: one YAML file each, validated, checked against the fixtures, registered by id."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import ValidationError

from agent.datafiles import DEFAULT_FIXTURES, describe_validation_error, read_yaml
from agent.errors import InputFileError
from agent.registry import Registry
from agent.store.fixtures import FixtureSet
from evals.schema.persona import Persona

DEFAULT_PERSONA_DIR = DEFAULT_FIXTURES / "personas"
PERSONAS_ENV = "RETENTION_LAB_PERSONAS"  # the app's personas folder, when not fixtures/personas


def persona_folder() -> Path:
    """The personas folder the app lists, runs and saves test customers into."""
    return Path(os.environ.get(PERSONAS_ENV) or DEFAULT_PERSONA_DIR)


def load_persona(path: Path, fixtures: FixtureSet | None = None) -> Persona:
    """Load and validate one persona. Raises InputFileError naming the file, the field and the fix."""
    data = read_yaml(path, fix_missing="check the path")
    try:
        persona = Persona.model_validate(data)
    except ValidationError as exc:
        raise describe_validation_error(path, exc) from exc
    if persona.id != path.stem:
        raise InputFileError(path, "id", f"'{persona.id}' differs from the file name", f"use id: {path.stem}")
    if fixtures is not None:
        _check_against_fixtures(persona, path, fixtures)
    return persona


def _check_against_fixtures(persona: Persona, path: Path, fixtures: FixtureSet) -> None:
    if persona.customer_id not in fixtures.customers:
        raise InputFileError(
            path,
            "customer_id",
            f"no customer {persona.customer_id} in the fixtures",
            "use an id from fixtures/magento/customers.json",
        )
    for order_id in persona.orders:
        order = fixtures.orders.get(order_id)
        if order is None or order.customer_id != persona.customer_id:
            raise InputFileError(
                path,
                "orders",
                f"{order_id} is not an order of customer {persona.customer_id}",
                "list that customer's own orders (fixtures/magento/orders.json)",
            )


def load_personas(
    folder: Path = DEFAULT_PERSONA_DIR, only: list[str] | None = None, fixtures: FixtureSet | None = None
) -> list[Persona]:
    """Every persona in `folder` (sorted by id), optionally only the named ones."""
    if not folder.is_dir():
        raise InputFileError(folder, "", "is not a folder of persona YAML files", "pass --personas fixtures/personas")
    registry: Registry[Persona] = Registry("persona")
    for path in sorted(folder.glob("*.yaml")):
        persona = load_persona(path, fixtures)
        registry.register(persona.id)(persona)
    if only:
        missing = [name for name in only if name not in registry]
        if missing:
            raise InputFileError(
                folder, "persona", f"unknown: {', '.join(missing)}", f"choose from {', '.join(registry.names())}"
            )
        return [registry.get(name) for name in only]
    if not registry.names():
        raise InputFileError(folder, "", "holds no *.yaml personas", "pass --personas fixtures/personas")
    return [p for _, p in registry]
