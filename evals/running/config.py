"""One config object drives a run: `RunConfig`, built by the CLI or the app. Its defaults are the product's."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from agent.datafiles import PROJECT_ROOT
from agent.models.settings import ModelSettings
from agent.redact import redact_url
from evals.personas.loader import DEFAULT_PERSONA_DIR
from evals.schema.manifest import RunIdentity

DEFAULT_CACHE = Path(os.environ.get("RETENTION_LAB_CACHE", PROJECT_ROOT / ".cache" / "model-responses.sqlite"))


class RunConfig(BaseModel):
    """Everything that defines a run."""

    policies: list[Path] = Field(min_length=1)
    personas_dir: Path = DEFAULT_PERSONA_DIR
    persona_ids: list[str] | None = None
    trials: int = Field(default=3, ge=1, le=1000)
    model: ModelSettings = Field(default_factory=ModelSettings)
    concurrency: int = Field(default=4, ge=1, le=256)
    seed: int = 0
    out: Path = Path("runs/latest")
    resume: bool = False
    cache_path: Path | None = Field(default_factory=lambda: Path(os.environ.get("RETENTION_LAB_CACHE", DEFAULT_CACHE)))
    fault_rate: float = Field(default=0.0, ge=0, le=1, allow_inf_nan=False)
    step_limit: int = Field(default=24, ge=2)
    allow_lint_errors: bool = False
    reader: str = Field(default="rules", description="reader of agent replies: 'rules' or a model string")
    judge_model: str | None = Field(default=None, description="a model string: judge soft criteria with it")
    judge_samples: int = Field(default=1, ge=1, le=20)
    customer_model: str | None = Field(default=None, description="a model string: it voices the personas")
    executor: Literal["local", "ray"] = "local"
    ray_address: str | None = Field(default=None, description="an existing Ray cluster; none starts Ray here")
    conversation_timeout_s: float | None = Field(default=600.0, gt=0, allow_inf_nan=False)
    max_cost_usd: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    rpm: float | None = Field(default=None, gt=0, allow_inf_nan=False, description="model requests per minute")
    tpm: float | None = Field(default=None, gt=0, allow_inf_nan=False, description="model tokens per minute")

    def identity(self, inputs_sha: str = "") -> RunIdentity:
        return RunIdentity(
            policies=[str(p) for p in self.policies],
            personas_dir=str(self.personas_dir),
            persona_ids=self.persona_ids,
            trials=self.trials,
            model=self.model.spec,
            base_url=redact_url(self.model.base_url),
            seed=self.seed,
            fault_rate=self.fault_rate,
            inputs_sha=inputs_sha,
            reader=self.reader,
            judge_model=self.judge_model,
            judge_samples=self.judge_samples,
            customer_model=self.customer_model,
        )


def trial_seed(base_seed: int, persona_id: str, trial: int) -> int:
    """The same for every policy, so each (persona, trial) is a matched pair across arms."""
    digest = hashlib.sha256(f"{base_seed}:{persona_id}:{trial}".encode()).hexdigest()
    return int(digest[:8], 16)
