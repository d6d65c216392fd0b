"""Personas: scripted customers, one YAML file each in `fixtures/personas/`."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from agent.errors import InputFileError
from agent.fixtures import DEFAULT_FIXTURES, FixtureSet, describe_validation_error, read_yaml
from agent.registry import Registry

DEFAULT_PERSONA_DIR = DEFAULT_FIXTURES / "personas"
OfferKind = Literal["discount", "shipping_upgrade", "swap", "future_coupon"]
Outcome = Literal["retained", "cancelled", "escalated", "unresolved"]


class OfferTerms(BaseModel):
    model_config = ConfigDict(extra="forbid")
    accept: float = Field(ge=0, le=1, description="probability of accepting this offer, drawn once per trial")
    min_percent: float | None = Field(default=None, ge=0, le=100, description="discounts below this are refused")


class Concern(BaseModel):
    model_config = ConfigDict(extra="forbid")
    when_offered: OfferKind | Literal["any"] = Field(description="raise the concern when this offer is made")
    lines: list[str] = Field(min_length=1)


class Expectation(BaseModel):
    """The outcome under an agent that follows the retention policy."""

    model_config = ConfigDict(extra="forbid")
    outcome: Outcome
    offer: OfferKind | None = None
    otherwise: Outcome | None = Field(default=None, description="outcome when the trial's draw refuses `offer`")

    @model_validator(mode="after")
    def _offer_matches_outcome(self) -> Expectation:
        if self.outcome == "retained" and self.offer is None:
            raise ValueError("a 'retained' expectation needs the offer that retains the customer")
        return self


class Persona(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=r"^[a-z0-9_]+$")
    title: str
    customer_id: int
    orders: list[str] = Field(min_length=1, description="the order(s) they mean; the first is the one to cancel")
    target_order: str | None = Field(default=None, description="an order they name that is not theirs")
    mention_order: bool = True
    reason: str
    opening: list[str] = Field(min_length=1)
    off_topic: list[str] = Field(default_factory=list)
    offers: dict[OfferKind, OfferTerms] = Field(default_factory=dict)
    haggle_percent: float | None = Field(default=None, ge=0, le=100)
    patience: int = Field(default=1, ge=0, description="refusals before they insist on cancelling")
    concern: Concern | None = None
    max_turns: int = Field(default=8, ge=1, le=30)
    expected: Expectation

    @property
    def order(self) -> str:
        return self.orders[0]


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
