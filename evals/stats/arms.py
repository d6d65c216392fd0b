"""What one arm of an A/B brings besides its records: its personas as they are now (whether their trials can vary,
their weights) and the lines of its policy that its plan does not hold."""

from __future__ import annotations

from pathlib import Path

from agent.errors import InputFileError
from agent.policy.lint import lint_text
from evals.personas.loader import load_personas
from evals.schema.manifest import RunManifest
from evals.schema.persona import Persona
from evals.stats.budget import Setup


def run_personas(manifest: RunManifest) -> list[Persona] | None:
    """The run's personas as they are now in its personas folder (None when they cannot be read)."""
    identity = manifest.identity
    try:
        return load_personas(Path(identity.personas_dir), identity.persona_ids)
    except (InputFileError, OSError, ValueError):  # the run's personas moved or changed
        return None


def setup_of(manifest: RunManifest, personas: list[Persona] | None) -> Setup:
    """Whether this run's setup lets a persona's trials end differently: an LLM agent or customer, a model reader,
    injected faults or personas that draw their choices can; the offline model with fixed personas cannot."""
    identity = manifest.identity
    varying = [
        what
        for what, present in (
            (f"model {identity.model}", identity.model != "offline"),
            (f"customer model {identity.customer_model}", identity.customer_model is not None),
            (f"reader {identity.reader}", identity.reader != "rules"),
            (f"fault rate {identity.fault_rate:g}", identity.fault_rate > 0),
        )
        if present
    ]
    if personas is None:
        return Setup(None, "the run's personas could not be read")
    drawing = [p.id for p in personas if p.has_chance]
    if drawing:
        varying.append(f"{len(drawing)} persona(s) draw their choices, e.g. {drawing[0]}")
    if varying:
        return Setup(False, "; ".join(varying))
    return Setup(True, "the offline model, personas that draw nothing, no faults")


def persona_weights(personas: list[Persona] | None) -> dict[str, float] | None:
    """Each persona's weight when any persona carries one other than 1; None when each counts once."""
    if personas is None or all(p.weight == 1.0 for p in personas):
        return None
    return {p.id: p.weight for p in personas}


def unread_lines(manifest: RunManifest) -> list[str]:
    """The lint warnings that say a line of the arm's policy holds an offer or a number its plan does not: the run
    acted on the plan without them."""
    entry = manifest.policies[0]
    problems = lint_text(entry.text, Path(entry.file))
    return [str(p) for p in problems if "does not hold" in p.message or "cannot be read" in p.message]
