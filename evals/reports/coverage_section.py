"""The report's coverage section: for each policy, the branches of its plan with the run's personas that exercise
them, and each rule it states with the personas whose conversations it judged (not n/a). An empty row is a branch or
a rule this run says nothing about."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from agent.datafiles import DEFAULT_FIXTURES
from agent.errors import RetentionLabError
from agent.policy.compiled import compile_policy_text
from agent.store.fixtures import default_fixtures
from evals.personas.loader import load_persona
from evals.schema.manifest import RunManifest
from evals.schema.persona import Persona
from evals.schema.records import ConversationRecord
from evals.scoring.branches import coverage_table


def _personas(manifest: RunManifest) -> list[Persona]:
    folder, found = Path(manifest.identity.personas_dir), []
    for persona_id in manifest.personas:
        try:
            found.append(load_persona(folder / f"{persona_id}.yaml"))
        except (RetentionLabError, OSError):
            continue  # moved or changed since the run: left out of the branch rows
    return found


def coverage_rows(manifest: RunManifest, records: Sequence[ConversationRecord]) -> list[dict[str, Any]]:
    """One block per policy: {policy, branches: [(says, persona ids)], rules: [(rule, persona ids)]}."""
    personas = _personas(manifest)
    try:
        fixtures = default_fixtures(manifest.identity.fixtures_dir or str(DEFAULT_FIXTURES))
    except RetentionLabError:
        return []
    blocks = []
    for entry in manifest.policies:
        try:
            policy = compile_policy_text(entry.text, Path(entry.file))
            table = coverage_table(personas, policy, fixtures)
        except (RetentionLabError, KeyError):
            table = []
        judged: dict[str, set[str]] = {}
        for record in records:
            if record.key.split("/")[0] != entry.stem:
                continue
            for score in record.scores:
                if score.name.startswith("adherence."):
                    bucket = judged.setdefault(score.name, set())
                    if score.passed is not None:
                        bucket.add(record.persona)
        blocks.append({
            "policy": entry.stem,
            "branches": [(b.says, ids) for b, ids in table],
            "rules": [(rule.removeprefix("adherence."), sorted(ids)) for rule, ids in sorted(judged.items())],
        })  # fmt: skip
    return blocks
