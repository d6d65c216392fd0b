"""Model selection from one string: `offline` (default) or `openai:<model>`, optionally at a compatible base URL."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, SecretStr, field_validator

from agent.errors import ModelConfigError
from agent.registry import Registry

if TYPE_CHECKING:  # the model stacks are imported when a model is built, not when settings are read
    from langchain_core.language_models import BaseChatModel

DEFAULT_MODEL = "offline"


class ModelSettings(BaseModel):
    """Everything needed to build a chat model. Built from the CLI, the app's sidebar or a RunConfig."""

    spec: str = Field(
        default=DEFAULT_MODEL,
        description="the agent's model: offline, openai:<model>, or any name an OpenAI-compatible --base-url serves",
        json_schema_extra={"flag": "--model"},
    )
    base_url: str | None = Field(
        default=None,
        description="an OpenAI-compatible server, e.g. http://127.0.0.1:8765/v1 (or set OPENAI_BASE_URL)",
        json_schema_extra={"flag": "--base-url"},
    )
    temperature: float = 0.0
    timeout_s: float = Field(
        default=120.0,
        gt=0,
        allow_inf_nan=False,
        description="seconds one model call may take",
        json_schema_extra={"flag": "--timeout"},
    )
    max_retries: int = Field(
        default=2,
        ge=0,
        le=10,
        description="retries of a model call on 429, 5xx and timeouts, with backoff, honouring Retry-After",
        json_schema_extra={"flag": "--max-retries"},
    )
    api_key: SecretStr | None = Field(default=None, exclude=True, description="a key typed in the app (never saved)")

    @field_validator("spec")
    @classmethod
    def _known_form(cls, spec: str) -> str:
        if spec.startswith("offline") and spec != "offline":
            raise ValueError(f"'{spec}': the offline model takes no name; use 'offline'")
        return spec

    @field_validator("base_url")
    @classmethod
    def _usable_url(cls, url: str | None) -> str | None:
        """An http(s) URL with a host and a valid port, checked before any run starts."""
        if url is None:
            return None
        try:
            parts = urlsplit(url)
            port = parts.port  # raises on a port out of range or not a number
        except ValueError as exc:
            raise ValueError(f"is not a URL ({exc}); use e.g. http://127.0.0.1:8765/v1") from exc
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http:// or https:// URL with a host, e.g. http://127.0.0.1:8765/v1")
        if port == 0:
            raise ValueError("port 0 cannot be reached; use the server's port, e.g. http://127.0.0.1:8765/v1")
        if any(c.isspace() or ord(c) < 32 for c in url):
            raise ValueError(
                "has a space or a control character; quote nothing inside it, e.g. http://127.0.0.1:8765/v1"
            )
        return url

    @property
    def provider(self) -> str:
        return self.spec.split(":", 1)[0]

    @property
    def model_name(self) -> str:
        return self.spec.split(":", 1)[1] if ":" in self.spec else self.spec

    @property
    def effective_base_url(self) -> str | None:
        return self.base_url or os.environ.get("OPENAI_BASE_URL") or None

    @property
    def is_offline(self) -> bool:
        return self.provider == "offline"


ModelFactory = Callable[[ModelSettings], "BaseChatModel"]
MODEL_PROVIDERS: Registry[ModelFactory] = Registry("model provider")


@MODEL_PROVIDERS.register("offline")
def _offline(settings: ModelSettings) -> BaseChatModel:
    from agent.models.offline.model import ReferenceChatModel

    return ReferenceChatModel()


@MODEL_PROVIDERS.register("openai")
def _openai(settings: ModelSettings) -> BaseChatModel:
    from openai import DefaultAsyncHttpxClient

    from agent.models.openai_client import LeanChatOpenAI

    key, base_url = _openai_key_and_url(settings)
    return LeanChatOpenAI(
        model=settings.model_name,
        api_key=SecretStr(key or "not-needed"),
        base_url=base_url,
        temperature=settings.temperature,
        timeout=settings.timeout_s,
        max_retries=settings.max_retries,
        # its own async connection pool: LangChain's shared default is bound to the first event loop that used it,
        # and every eval run has an event loop of its own
        http_async_client=DefaultAsyncHttpxClient(timeout=settings.timeout_s),
    )


def _openai_key_and_url(settings: ModelSettings) -> tuple[str | None, str | None]:
    """The key and server an OpenAI model would use; raises ModelConfigError when it could not be built."""
    if not settings.model_name or settings.model_name == "openai":
        raise ModelConfigError("model 'openai' needs a model name: use openai:<model>, e.g. openai:gpt-4o-mini")
    base_url = settings.effective_base_url
    key = settings.api_key.get_secret_value() if settings.api_key else os.environ.get("OPENAI_API_KEY")
    if not key and not base_url:
        raise ModelConfigError(
            "OPENAI_API_KEY is not set: export it (or type a key in the app), or use an OpenAI-compatible "
            "server by its base URL (--base-url or OPENAI_BASE_URL)"
        )
    return key, base_url


def make_chat_model(settings: ModelSettings | str) -> BaseChatModel:
    """Build the chat model a settings object (or bare model string) names. Raises ModelConfigError if unusable."""
    if isinstance(settings, str):
        settings = ModelSettings(spec=settings)
    if settings.provider not in MODEL_PROVIDERS:
        raise ModelConfigError(
            f"unknown model '{settings.spec}': use 'offline' or 'openai:<model>' "
            "(add --base-url for a compatible server)"
        )
    return MODEL_PROVIDERS.get(settings.provider)(settings)


def check_model(settings: ModelSettings) -> None:
    """Raise ModelConfigError if `settings` cannot give a usable model, without building the offline or an OpenAI
    one (a run whose conversations are all reused never imports the OpenAI client)."""
    if settings.provider == "openai":
        _openai_key_and_url(settings)
    elif not settings.is_offline:
        make_chat_model(settings)
