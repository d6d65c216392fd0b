"""A model drafts a policy's offer plan (`python -m agent plan FILE --plan-model SPEC`): one structured-output call
with the policy's numbered lines and the prompt in `fixtures/policy_reader/plan_model_prompt.md`, answered as a
`PlanSpec`, cached by the request (so by the policy's text and the model). What it drafts is checked like any plan:
lint names every line the draft does not hold."""

from __future__ import annotations

from functools import cache

from langchain_core.caches import BaseCache

from agent.datafiles import DEFAULT_FIXTURES
from agent.errors import ModelConfigError
from agent.models.settings import ModelSettings, make_chat_model
from agent.models.structured import structured_call
from agent.policy.compiled import CompiledPolicy
from agent.policy.plan_spec import PlanSpec

PROMPT_FILE = DEFAULT_FIXTURES / "policy_reader" / "plan_model_prompt.md"


@cache
def plan_prompt() -> str:
    return PROMPT_FILE.read_text(encoding="utf-8")


def numbered_body(compiled: CompiledPolicy) -> str:
    """The policy's body with its file line numbers, as the model reads it."""
    policy = compiled.main
    lines = policy.body.splitlines()
    return "\n".join(f"{policy.body_first_line + i}: {line}" for i, line in enumerate(lines))


def draft_plan_with_model(
    compiled: CompiledPolicy, settings: ModelSettings, cache_store: BaseCache | None = None
) -> tuple[PlanSpec | None, str | None]:
    """(the model's plan, None), or (None, why) in one line when the answer is not a valid plan or the call failed.
    Raises ModelConfigError for the offline model, which plays the agent and reads no policies."""
    if settings.is_offline:
        raise ModelConfigError(
            "--plan-model: the offline model cannot draft a plan (it plays the agent); use a model such as "
            "openai:gpt-4o-mini, with --base-url for a compatible server, or leave --plan-model out for the rules"
        )
    model = make_chat_model(settings)
    if cache_store is not None:
        model.cache = cache_store
    return structured_call(model, PlanSpec, plan_prompt(), numbered_body(compiled))
