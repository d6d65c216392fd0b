"""`python -m evals rescore RUN`: the stored conversations of a run read and scored again with the current reader
rules and scorers, into a new folder, without calling any model.

Each record keeps what was played (transcript, tool trace, final state, the trial's draw); its readings, outcome,
expectation, scores and money figures are computed again. Replies a model reader read are kept as that model read
them (calling it again would be a new run); replies the rules read are read again by the current rules.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from agent.datafiles import DEFAULT_FIXTURES
from agent.errors import InputFileError
from agent.policy.compiled import CompiledPolicy, compile_policy_text
from agent.store.fixtures import FixtureSet, default_fixtures
from evals.personas.loader import load_personas
from evals.reading.readers import RULES
from evals.reading.rules import read_with_rules
from evals.schema.manifest import MANIFEST, RunManifest, load_manifest, write_manifest
from evals.schema.persona import Persona
from evals.schema.records import RESULTS, ConversationRecord, iter_results
from evals.schema.version import SCHEMA_VERSION
from evals.scoring.changes import ScoringChanges, scoring_changes
from evals.scoring.record_scoring import score_record

CHANGES = "rescore.json"


@dataclass(frozen=True)
class Rescored:
    out: Path
    records: list[ConversationRecord]
    changes: ScoringChanges
    notes: list[str]


def rescore_run(run: Path, out: Path, fixtures: FixtureSet | None = None) -> Rescored:
    """Rescore every record of `run` into `out` (a new folder: the run itself is never changed)."""
    manifest = load_manifest(run)
    _check_out(run, out)
    fixtures = fixtures or default_fixtures(manifest.identity.fixtures_dir or str(DEFAULT_FIXTURES))
    policies, notes = _policies(manifest)
    personas = _personas(manifest, notes)
    before, after = [], []
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / (RESULTS + ".tmp")
    with tmp.open("w", encoding="utf-8") as sink:
        for record in iter_results(run):
            policy = policies[record.key.split("/")[0]]
            again = score_record(reread(record), policy, fixtures, personas.get(record.persona))
            sink.write(again.model_dump_json() + "\n")
            before.append(record.light())
            after.append(again.light())
    os.replace(tmp, out / RESULTS)
    write_manifest(out, manifest.model_copy(update={"schema_version": SCHEMA_VERSION}))
    changes = scoring_changes(before, after)
    (out / CHANGES).write_text(changes.model_dump_json(indent=2), encoding="utf-8")
    return Rescored(out, after, changes, notes)


def reread(record: ConversationRecord) -> ConversationRecord:
    """The record with each agent reply read again by the current rules (when the rules read it in the run)."""
    if record.reader != RULES:
        return record
    readings = [read_with_rules(turn.reply) for turn in record.turns]
    return record.model_copy(update={"readings": readings, "schema_version": SCHEMA_VERSION})


def _check_out(run: Path, out: Path) -> None:
    if not str(out).strip():
        raise InputFileError(out, "--out", "is empty", "name a new folder, e.g. runs/rescored")
    if out.resolve() == run.resolve():
        raise InputFileError(out, "--out", "is the run itself", "rescore into a new folder; the run is kept as it is")
    if out.exists() and ((out / MANIFEST).exists() or (out / RESULTS).exists()):
        raise InputFileError(out, "--out", "already holds a run", "pick a new folder or remove that one")
    if out.exists() and not out.is_dir():
        raise InputFileError(out, "--out", "is a file", "pick a folder path")


def _policies(manifest: RunManifest) -> tuple[dict[str, CompiledPolicy], list[str]]:
    """The run's policies compiled from the text it ran on (kept in run.json)."""
    policies, notes = {}, []
    for entry in manifest.policies:
        policy = compile_policy_text(entry.text, entry.file)
        if policy.sha != entry.sha:
            notes.append(f"{entry.file}: a policy it includes changed since the run; scored with the current one")
        policies[entry.stem] = policy
    return policies, notes


def _personas(manifest: RunManifest, notes: list[str]) -> dict[str, Persona]:
    """The run's personas, for the oracle's expectation; without them the stored expectation is kept."""
    folder = Path(manifest.identity.personas_dir)
    try:
        found = {p.id: p for p in load_personas(folder)}
    except (InputFileError, OSError):
        found = {}
    missing = sorted(set(manifest.personas) - set(found))
    if missing:
        notes.append(f"personas not found in {folder} ({', '.join(missing)}): their stored expectation is kept")
    return found
