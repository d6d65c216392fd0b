"""The model picker shared by every page. Kept apart from ui.widgets so the chat lab does not import the evals stack."""

from __future__ import annotations

import os

import streamlit as st
from pydantic import SecretStr

from agent.models.settings import ModelSettings

MODEL_KINDS = ["offline (reference model)", "OpenAI", "OpenAI-compatible server"]


def model_picker(key: str = "model") -> ModelSettings:
    """Pick offline, OpenAI or a compatible server; explains what the offline model can and cannot see."""
    kind = st.selectbox("Model", MODEL_KINDS, key=f"{key}_kind")
    if kind == MODEL_KINDS[1]:
        name = st.text_input("OpenAI model", "gpt-4o-mini", key=f"{key}_openai")
        typed = st.text_input(
            "API key (kept in this browser session only)",
            type="password",
            key=f"{key}_api_key",
            help="Used for this session's requests; never written to disk, exports or logs.",
        )
        if not typed and not os.environ.get("OPENAI_API_KEY"):
            st.warning("No API key: type one above, or export OPENAI_API_KEY before `make run`.")
        return ModelSettings(spec=f"openai:{name}", api_key=SecretStr(typed) if typed else None)
    if kind == MODEL_KINDS[2]:
        url = st.text_input(
            "Base URL", os.environ.get("OPENAI_BASE_URL", "http://127.0.0.1:8765/v1"), key=f"{key}_base_url"
        )
        name = st.text_input("Model name", "local", key=f"{key}_compat")
        return ModelSettings(spec=f"openai:{name}", base_url=url)
    st.caption(
        "Deterministic and offline. It follows the policy's structure (which offers, their order and "
        "numbers) and is blind to wording: rephrasing a policy does not change what it does."
    )
    return ModelSettings()
