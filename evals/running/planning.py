"""Planning a run: every data file read up front, the policies linted and compiled, the personas loaded, and one job
per (policy, persona, trial) with the trial's seed; plus the hash of every input that `--resume` must find unchanged.
A broken input stops the run here, before anything is written."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from agent.datafiles import DEFAULT_FIXTURES
from agent.errors import InputFileError
from agent.models.offline.flow import replies
from agent.models.offline.intents import default_rules
from agent.policy.compiled import CompiledPolicy, compile_policy_file
from agent.policy.coverage import unexplained_lines
from agent.policy.lint import errors_only, lint_paths
from agent.store.fixtures import FixtureSet, default_fixtures
from evals.personas.loader import load_personas
from evals.personas.simulator import phrases
from evals.reading.rules import reading_rules
from evals.running.config import RunConfig, trial_seed
from evals.running.helpers import build_helpers
from evals.running.pricing import PRICING_FILE, cost_usd, prices
from evals.schema.persona import Persona


def check_data_files() -> None:
    """Read every data file a conversation reads (each is cached), so a broken one stops the run before it starts."""
    for read in (default_rules, replies, phrases, reading_rules, prices):
        read()


def _refuse_lint_errors(config: RunConfig) -> None:
    for path in config.policies:
        errors = errors_only(lint_paths([path]))
        if errors and not config.allow_lint_errors:
            listed = "; ".join(f"line {e.line}: {e.message}" for e in errors[:3])
            raise InputFileError(
                errors[0].path, "--policy", f"{len(errors)} lint error(s): {listed}",
                "fix the policy (python -m agent lint), or pass --allow-lint-errors",
            )  # fmt: skip


def _refuse_an_unconfirmed_draft(policy: CompiledPolicy) -> None:
    """A run measures the plan the lab read: a plan drafted from prose that says more than the draft holds would
    measure a policy nobody wrote."""
    if policy.read_plan.explicit:
        return
    unread = unexplained_lines(policy.main, policy.read_plan)
    if unread:
        first = unread[0]
        raise InputFileError(
            f"{policy.main.path}:{first.line}", "--policy",
            f"the offer plan is drafted from the text and {len(unread)} line(s) say more than it holds "
            f"(line {first.line}: {'; '.join(first.what)})",
            f"confirm the plan: python -m agent plan {policy.main.path} --write, correct it, then run again; "
            "or pass --allow-draft-plan",
        )  # fmt: skip


# Every data file that changes what a conversation does or how it is scored, beside the policies and personas.
BEHAVIOUR_FILES = ("magento/*.json", "gorgias/*.json", "reference_model/*", "simulator/*", "reading/*", "judge/*",
                   "policy_reader/*", "pricing.yaml")  # fmt: skip


def behaviour_files(fixtures_root: Path) -> list[Path]:
    return [p for pattern in BEHAVIOUR_FILES for p in sorted(fixtures_root.glob(pattern)) if p.is_file()]


def inputs_sha(policies: list[CompiledPolicy], personas_dir: Path, fixtures_root: Path = DEFAULT_FIXTURES) -> str:
    """One hash of everything a run reads: policy texts, persona files, store fixtures, the rules of the offline
    model, the simulator, the reader and the judge (for --resume: a run never mixes two versions of them)."""
    digest = hashlib.sha256()
    for policy in policies:
        digest.update(policy.sha.encode())
    for path in sorted(personas_dir.glob("*.yaml")) + behaviour_files(fixtures_root):
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()[:16]


def _priced_models(config: RunConfig) -> list[str]:
    """Every model whose calls count toward --max-cost: the agent's, and the reader, judge and voice when models."""
    helpers = [config.reader if config.reader != "rules" else None, config.judge_model, config.customer_model]
    return [config.model.spec, *(m for m in helpers if m)]


def run_fixtures(config: RunConfig) -> FixtureSet:
    """The world the run plays in: the shipped fixtures, or the folder given by --fixtures."""
    root = config.fixtures_root
    if not (root / "magento").is_dir():
        raise InputFileError(
            root, "--fixtures", "has no magento/ folder", "pass the fixtures folder import-tickets wrote"
        )
    return default_fixtures(str(root))


@dataclass(frozen=True)
class Job:
    policy: CompiledPolicy
    persona: Persona
    trial: int
    seed: int

    @property
    def key(self) -> str:
        return f"{self.policy.main.path.stem}/{self.persona.id}/{self.trial}"


def plan_jobs(config: RunConfig, fixtures: FixtureSet) -> tuple[list[Job], list[CompiledPolicy], list[Persona]]:
    check_data_files()
    _refuse_lint_errors(config)
    build_helpers(config, None)  # an unusable --reader or --judge-model stops the run before anything is written
    unpriced = next((m for m in _priced_models(config) if cost_usd(m, 1, 1) is None), None)
    if config.max_cost_usd is not None and unpriced is not None:
        raise InputFileError(
            PRICING_FILE, "--max-cost", f"no price for {unpriced}, so the run's spend could never be counted",
            f"add '{unpriced}: [input, output]' (USD per million tokens) to it, or drop --max-cost",
        )  # fmt: skip
    policies = [compile_policy_file(path) for path in config.policies]
    if not config.allow_draft_plan:
        for policy in policies:
            _refuse_an_unconfirmed_draft(policy)
    stems = [p.main.path.stem for p in policies]
    if len(set(stems)) != len(stems):
        raise InputFileError(
            ", ".join(map(str, config.policies)),
            "--policy",
            "two policies share a file name",
            "rename one, since results are keyed by file name",
        )
    personas = load_personas(config.personas_dir, config.persona_ids, fixtures)
    jobs = [
        Job(policy, persona, trial, trial_seed(config.seed, persona.id, trial))
        for policy in policies
        for persona in personas
        for trial in range(config.trials)
    ]
    return jobs, policies, personas
