"""Production vs lab: for personas imported from helpdesk tickets, how the real conversation ended beside what the
lab's agent reached with the same customer under each policy (the report's own section)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from agent.errors import RetentionLabError
from evals.personas.loader import load_persona
from evals.schema.manifest import RunManifest
from evals.schema.persona import Persona
from evals.schema.records import ConversationRecord


def imported_personas(manifest: RunManifest) -> dict[str, Persona]:
    """The run's personas that carry a production outcome (those a missing or changed file no longer gives are
    left out)."""
    folder = Path(manifest.identity.personas_dir)
    found = {}
    for persona_id in manifest.personas:
        try:
            persona = load_persona(folder / f"{persona_id}.yaml")
        except (RetentionLabError, OSError):
            continue
        if persona.production is not None:
            found[persona_id] = persona
    return found


def _said(outcome: str, offer: str | None) -> str:
    return f"{outcome} ({offer})" if offer else outcome


def production_rows(manifest: RunManifest, records: Sequence[ConversationRecord]) -> list[dict[str, Any]]:
    """One row per imported persona and policy: production's outcome, the lab's most common one and how often, and
    whether they agree (outcome and kept offer alike)."""
    personas = imported_personas(manifest)
    rows = []
    for (persona_id, stem), mine in _grouped(records, personas).items():
        production = personas[persona_id].production
        assert production is not None
        counts = Counter((r.outcome, r.retained_offer) for r in mine)
        (outcome, offer), times = counts.most_common(1)[0]
        wanted = (production.outcome, production.offer.value if production.offer else None)
        rows.append({
            "persona": persona_id, "ticket": production.ticket, "policy": stem,
            "production": _said(*wanted), "lab": _said(outcome, offer), "times": f"{times}/{len(mine)}",
            "agrees": (outcome, offer) == wanted,
        })  # fmt: skip
    return rows


def _grouped(
    records: Sequence[ConversationRecord], personas: dict[str, Persona]
) -> dict[tuple[str, str], list[ConversationRecord]]:
    grouped: dict[tuple[str, str], list[ConversationRecord]] = {}
    for record in records:
        if record.persona in personas:
            grouped.setdefault((record.persona, record.key.split("/")[0]), []).append(record)
    return dict(sorted(grouped.items()))
