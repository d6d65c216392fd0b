"""`run.json`: what a run folder holds (its identity, policies and personas). One model, one reader, one writer."""

from __future__ import annotations

import json
import os
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from agent.errors import InputFileError
from evals.schema.version import UNVERSIONED, check_version

MANIFEST = "run.json"


class RunIdentity(BaseModel):
    """What must match for `--resume` to continue a run."""

    policies: list[str]
    personas_dir: str
    persona_ids: list[str] | None
    trials: int
    model: str
    base_url: str | None
    seed: int
    fault_rate: float
    inputs_sha: str = Field(default="", description="hash of every policy text, persona file and fixture file used")
    reader: str = "rules"
    judge_model: str | None = None
    judge_samples: int = 1
    customer_model: str | None = None
    fixtures_dir: str | None = Field(default=None, description="the fixtures folder played in (None: the shipped one)")


class PolicyEntry(BaseModel):
    file: str
    stem: str
    name: str
    version: str
    sha: str
    text: str
    offer_plan: list[str] = Field(default_factory=list, description="the offers the run's policy made, as read")
    plan_source: str = Field(
        default="draft", description="'explicit': the front matter's plan; 'draft': drafted from the text (unconfirmed)"
    )


class RunManifest(BaseModel):
    schema_version: int = Field(
        default=UNVERSIONED, description="the format's version (evals/schema/version.py); absent before version 2"
    )
    identity: RunIdentity
    total: int
    created: str
    concurrency: int
    policies: list[PolicyEntry]
    personas: list[str]

    def keys(self) -> set[str]:
        """The key of every conversation this run plans (policy stem / persona / trial)."""
        return {
            f"{p.stem}/{persona}/{trial}"
            for p in self.policies
            for persona in self.personas
            for trial in range(self.identity.trials)
        }

    def title(self, run: Path) -> str:
        policies = ", ".join(p.stem for p in self.policies)
        return f"{run.name} · {policies} · {self.identity.model} · {self.identity.trials} trials"


def has_manifest(run: Path) -> bool:
    return (run / MANIFEST).exists()


def load_manifest(run: Path) -> RunManifest:
    """The run's manifest. Raises InputFileError (one line) when it is missing or broken."""
    path = run / MANIFEST
    if not path.exists():
        raise InputFileError(
            run, "", "is not a run folder (no run.json)", "pass the --out folder of `python -m evals run`"
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        version = data.get("schema_version", UNVERSIONED) if isinstance(data, dict) else UNVERSIONED
        if isinstance(version, int):
            check_version(version, path)
        return RunManifest.model_validate(data)
    except (ValidationError, ValueError, UnicodeDecodeError, OSError) as exc:
        raise InputFileError(
            path, "", "is broken (not a run manifest)", "rerun into a new --out; the results.jsonl there is kept"
        ) from exc


def write_manifest(run: Path, manifest: RunManifest) -> None:
    """Write run.json atomically (write a temporary file, then rename), so a kill never leaves half of it."""
    tmp = run / (MANIFEST + ".tmp")
    tmp.write_text(manifest.model_dump_json(indent=2), encoding="utf-8")
    os.replace(tmp, run / MANIFEST)
