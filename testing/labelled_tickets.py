"""Measuring the ticket import against the sample export's labels (`fixtures/tickets/labels.yaml`, written with the
sample by a helper that never saw the importer): which tickets became personas, with which order, and whether the
production outcome, the offers taken and refused, a worry and a request for a person were read as labelled; and
which personal values of the sample survive in any written file."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from agent.datafiles import DEFAULT_FIXTURES, read_yaml

SAMPLE = DEFAULT_FIXTURES / "tickets"
FIELDS = ("outcome", "accepted", "refused", "concern", "asked_for_person")


@dataclass
class ImportScore:
    tickets: int = 0
    cancellations: int = 0  # labelled
    made: int = 0  # personas written
    right_order: int = 0  # personas on the labelled order
    wrong_order: list[str] = field(default_factory=list)  # a persona where the label says another order, or none
    missed: list[str] = field(default_factory=list)  # labelled with an order, but skipped
    fields: dict[str, int] = field(default_factory=dict)  # per field: personas that read it as labelled
    field_misses: dict[str, list[str]] = field(default_factory=dict)
    leaks: list[str] = field(default_factory=list)  # personal values found in written files


def measure(out: Path, sample: Path = SAMPLE) -> ImportScore:
    """Score an import written into `out` (by `import_tickets(sample files, out)`)."""
    labels = read_yaml(sample / "labels.yaml")
    score = ImportScore(tickets=len(labels["tickets"]))
    personas = {
        p.stem.removeprefix("ticket_"): yaml.safe_load(p.read_text()) for p in (out / "personas").glob("*.yaml")
    }
    for label in labels["tickets"]:
        key = str(label["id"])
        score.cancellations += bool(label["cancellation"])
        persona = personas.get(key)
        if persona is None:
            if label["order"]:
                score.missed.append(key)
            continue
        score.made += 1
        if persona["orders"][0] != label["order"]:
            score.wrong_order.append(f"{key}: {persona['orders'][0]} (label {label['order']})")
            continue
        score.right_order += 1
        for name, (got, want) in _fields(persona, label).items():
            score.fields[name] = score.fields.get(name, 0) + (got == want)
            if got != want:
                score.field_misses.setdefault(name, []).append(f"{key}: {got} (label {want})")
    score.leaks = leaks(out, labels["personal_data"])
    return score


def _fields(persona: dict, label: dict) -> dict[str, tuple[object, object]]:
    production = persona.get("production", {})
    offers = persona.get("offers", {})
    return {
        "outcome": (production.get("outcome"), label["outcome"]),
        "accepted": (production.get("offer"), label["accepted"]),
        "refused": (sorted(k for k, t in offers.items() if t.get("accept") == 0.0), sorted(label["refused"] or [])),
        "concern": ("concern" in persona, bool(label["concern"])),
        "asked_for_person": (bool(persona.get("asks_for_person")), bool(label["asked_for_person"])),
    }


def leaks(out: Path, personal: dict[str, list[str]]) -> list[str]:
    """Every personal value of the sample found (case-insensitively, as a whole word) in a file under `out`."""
    import re

    texts = {path: path.read_text(encoding="utf-8").lower() for path in out.rglob("*") if path.is_file()}
    found = []
    for kind, values in personal.items():
        for value in values:
            pattern = re.compile(rf"(?<!\w){re.escape(str(value).lower())}(?!\w)")
            for path, text in texts.items():
                if pattern.search(text):
                    found.append(f"{kind} {value!r} in {path.relative_to(out)}")
    return found
