"""Pick a reader by name: `rules` (the default, offline) or a model string such as `openai:gpt-4o-mini`."""

from __future__ import annotations

from langchain_core.caches import BaseCache
from langchain_core.language_models import BaseChatModel

from agent.errors import ModelConfigError
from agent.models.settings import ModelSettings, make_chat_model
from evals.reading.rules import RulesReader
from evals.schema.reading import ReplyReader

RULES = "rules"


def make_reader(spec: str | ModelSettings = RULES, cache: BaseCache | None = None) -> ReplyReader:
    """The reader `spec` names. Raises ModelConfigError for a model that cannot read (the offline agent model)."""
    settings = spec if isinstance(spec, ModelSettings) else ModelSettings(spec=spec)
    if settings.spec == RULES:
        return RulesReader()
    from evals.reading.model import ModelReader

    return ModelReader(judging_model(settings, cache), settings.spec)


def judging_model(settings: ModelSettings, cache: BaseCache | None = None) -> BaseChatModel:
    """The chat model that reads replies or judges conversations: any model string except the offline agent."""
    if settings.is_offline or settings.spec == RULES:
        raise ModelConfigError(
            f"'{settings.spec}' cannot read or judge replies (the offline model only plays the agent): use a model "
            "such as openai:gpt-4o-mini, with --base-url for a compatible server"
        )
    model = make_chat_model(settings)
    if cache is not None:
        model.cache = cache
    return model
