"""The private hooks the product relies on are where it expects them. pyproject.toml bounds langchain-openai and
langsmith to the minors tested; when an upgrade moves a hook, these fail loudly instead of the speed-up (or the
request shape) silently going away."""

from __future__ import annotations

import inspect

import langsmith
from langchain_openai import ChatOpenAI


def test_langsmith_runtime_overrides_are_where_agent_graph_expects_them():
    from langsmith._runtime_overrides import get_runtime_overrides

    assert hasattr(get_runtime_overrides(), "aio_to_thread")
    assert "aio_to_thread" in inspect.signature(langsmith.set_runtime_overrides).parameters


def test_chat_openai_private_methods_lean_chat_openai_overrides_are_there():
    payload = inspect.signature(ChatOpenAI._get_request_payload).parameters
    assert list(payload)[:2] == ["self", "input_"] and "stop" in payload
    assert list(inspect.signature(ChatOpenAI._use_responses_api).parameters)[:2] == ["self", "payload"]
