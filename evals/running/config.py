"""One config object drives a run: `RunConfig`, built by the CLI or the app. Its defaults are the product's."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from agent.chat_settings import DEFAULT_STEP_LIMIT, StepLimit
from agent.datafiles import DEFAULT_FIXTURES
from agent.models.cache import default_cache_path
from agent.models.settings import ModelSettings
from agent.redact import redact_url
from evals.personas.loader import DEFAULT_PERSONA_DIR
from evals.schema.manifest import RunIdentity

DEFAULT_CACHE = default_cache_path()  # at import; each RunConfig reads $RETENTION_LAB_CACHE again


class RunConfig(BaseModel):
    """Everything that defines a run, each setting declared once: the CLI's flags (`evals.cli.options`) and the pages'
    forms (`ui.widgets`) are generated from these fields."""

    policies: list[Path] = Field(min_length=1)
    personas_dir: Path = Field(
        default=DEFAULT_PERSONA_DIR,
        description="folder of persona YAML files",
        json_schema_extra={"flag": "--personas"},
    )
    suite: str | None = Field(
        default=None,
        description="a persona suite shipped in a folder of fixtures/personas, e.g. attacks (instead of --personas)",
        json_schema_extra={"flag": "--suite"},
    )
    fixtures_dir: Path | None = Field(
        default=None,
        description="a fixtures folder (magento/, gorgias/) to play in instead of the shipped one, e.g. the world "
        "import-tickets wrote",
        json_schema_extra={"flag": "--fixtures"},
    )
    persona_ids: list[str] | None = Field(
        default=None, description="only this persona id (repeatable)", json_schema_extra={"flag": "--persona"}
    )
    trials: int = Field(
        default=3, ge=1, le=1000, description="trials per persona and policy", json_schema_extra={"flag": "--trials"}
    )
    model: ModelSettings = Field(default_factory=ModelSettings)
    concurrency: int = Field(
        default=4,
        ge=1,
        le=256,
        description="conversations in flight at once",
        json_schema_extra={"flag": "--concurrency"},
    )
    seed: int = Field(
        default=0,
        ge=0,
        le=10**9,
        description="base seed; each persona and trial derives its own",
        json_schema_extra={"flag": "--seed"},
    )
    out: Path = Path("runs/latest")
    resume: bool = Field(
        default=False,
        description="finish a killed run in --out without redoing anything",
        json_schema_extra={"flag": "--resume"},
    )
    cache_path: Path | None = Field(
        default_factory=default_cache_path,
        description="model response cache (SQLite file; RETENTION_LAB_CACHE)",
        json_schema_extra={"flag": "--cache"},
    )
    fault_rate: float = Field(
        default=0.0,
        ge=0,
        le=1,
        allow_inf_nan=False,
        description="share of backend calls that fail transiently",
        json_schema_extra={"flag": "--fault-rate"},
    )
    step_limit: StepLimit = DEFAULT_STEP_LIMIT
    allow_lint_errors: bool = Field(
        default=False,
        description="run a policy that the linter rejects",
        json_schema_extra={"flag": "--allow-lint-errors"},
    )
    allow_draft_plan: bool = Field(
        default=False,
        description="run a policy whose plan is drafted from its text although lines say more than the draft holds",
        json_schema_extra={"flag": "--allow-draft-plan"},
    )
    reader: str = Field(
        default="rules",
        description="reader of agent replies: rules or a model string, e.g. openai:gpt-4o-mini",
        json_schema_extra={"flag": "--reader"},
    )
    judge_model: str | None = Field(
        default=None,
        description="judge soft criteria (tone, empathy...) with this model string",
        json_schema_extra={"flag": "--judge-model"},
    )
    judge_samples: int = Field(
        default=1,
        ge=1,
        le=20,
        description="judge each conversation N times",
        json_schema_extra={"flag": "--judge-samples"},
    )
    customer_model: str | None = Field(
        default=None,
        description="a model writes the personas' messages (their contracts still decide what they say)",
        json_schema_extra={"flag": "--customer-model"},
    )
    executor: Literal["local", "ray"] = Field(
        default="local",
        description="local: one process; ray: actors on every core, or on a cluster",
        json_schema_extra={"flag": "--executor"},
    )
    ray_address: str | None = Field(
        default=None,
        description="an existing Ray cluster (e.g. ray://head:10001); none starts Ray here",
        json_schema_extra={"flag": "--ray-address"},
    )
    conversation_timeout_s: float | None = Field(
        default=600.0,
        gt=0,
        allow_inf_nan=False,
        description="seconds one conversation may take in all before it is cut off as an error",
        json_schema_extra={"flag": "--conversation-timeout"},
    )
    max_cost_usd: float | None = Field(
        default=None,
        gt=0,
        allow_inf_nan=False,
        description="stop starting conversations once the run has spent this many USD (fixtures/pricing.yaml)",
        json_schema_extra={"flag": "--max-cost"},
    )
    rpm: float | None = Field(
        default=None,
        gt=0,
        allow_inf_nan=False,
        description="at most this many model requests per minute",
        json_schema_extra={"flag": "--rpm"},
    )
    tpm: float | None = Field(
        default=None,
        gt=0,
        allow_inf_nan=False,
        description="at most this many model tokens per minute",
        json_schema_extra={"flag": "--tpm"},
    )

    @field_validator("suite")
    @classmethod
    def _a_shipped_suite(cls, suite: str | None) -> str | None:
        suites = sorted(p.name for p in DEFAULT_PERSONA_DIR.iterdir() if p.is_dir())
        if suite is not None and suite not in suites:
            raise ValueError(f"no suite {suite!r}; the shipped suites are: {', '.join(suites)}")
        return suite

    @model_validator(mode="after")
    def _suite_is_its_personas_folder(self) -> RunConfig:
        if self.suite is not None:
            self.personas_dir = DEFAULT_PERSONA_DIR / self.suite
        return self

    @field_validator("persona_ids")
    @classmethod
    def _each_persona_once(cls, ids: list[str] | None) -> list[str] | None:
        twice = sorted({i for i in ids or [] if (ids or []).count(i) > 1})
        if twice:
            raise ValueError(f"{', '.join(twice)} is given more than once; name each persona once")
        return ids

    @property
    def fixtures_root(self) -> Path:
        return self.fixtures_dir or DEFAULT_FIXTURES

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
            fixtures_dir=str(self.fixtures_dir) if self.fixtures_dir else None,
        )


def trial_seed(base_seed: int, persona_id: str, trial: int) -> int:
    """The same for every policy, so each (persona, trial) is a matched pair across arms."""
    digest = hashlib.sha256(f"{base_seed}:{persona_id}:{trial}".encode()).hexdigest()
    return int(digest[:8], 16)
