"""Pick a reader by name: `rules` (the default, offline) or a model string such as `openai:gpt-4o-mini`."""

from __future__ import annotations

from langchain_core.caches import BaseCache

from agent.errors import ModelConfigError
from agent.models.settings import ModelSettings, make_chat_model
from evals.reading.reading import ReplyReader
from evals.reading.rules import RulesReader

RULES = "rules"


def make_reader(spec: str | ModelSettings = RULES, cache: BaseCache | None = None) -> ReplyReader:
    """The reader `spec` names. Raises ModelConfigError for a model that cannot read (the offline agent model)."""
    settings = spec if isinstance(spec, ModelSettings) else ModelSettings(spec=spec)
    if settings.spec == RULES:
        return RulesReader()
    if settings.is_offline:
        raise ModelConfigError(
            "the offline model plays the agent and cannot read replies: use --reader rules, or a model such as "
            "openai:gpt-4o-mini"
        )
    from evals.reading.model import ModelReader

    model = make_chat_model(settings)
    if cache is not None:
        model.cache = cache
    return ModelReader(model, settings.spec)
