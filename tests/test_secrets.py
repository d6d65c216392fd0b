"""Secrets never persist: a proxy that echoes the Authorization header in its error, a key in the environment, and
credentials in a base URL reach no file, no report, no screen and no output."""

from __future__ import annotations

import subprocess
import sys

import pytest

from agent.redact import redact, redact_url
from testing.openai_stub import OpenAIStub, text_reply
from tests.conftest import POLICIES, ROOT

KEY = "sk-live-THISISASECRET0123456789"


def test_redact_masks_keys_tokens_and_url_credentials(monkeypatch):
    monkeypatch.setenv("SOME_SERVICE_TOKEN", "tok-abcdef-123456")
    text = f"Authorization: Bearer {KEY} api_key=hunter22x http://user:pa55@host/v1 tok-abcdef-123456"
    masked = redact(text) or ""
    for secret in (KEY, "hunter22x", "pa55", "tok-abcdef-123456"):
        assert secret not in masked
    assert redact_url("http://user:pa55@host:8080/v1") == "http://[redacted]@host:8080/v1"


@pytest.mark.slow
def test_a_proxy_that_echoes_the_key_leaks_it_nowhere(tmp_path):
    out = tmp_path / "run"
    with OpenAIStub([text_reply("hi")], echo_auth_error=True) as stub:
        base = stub.base_url.replace("http://", "http://admin:pa55word@")
        result = subprocess.run(
            [sys.executable, "-m", "evals", "run", "--policy", str(POLICIES / "retention_offers.md"),
             "--persona", "discount_at_once", "--trials", "1", "--no-cache", "--model", "openai:stub",
             "--base-url", base, "--out", str(out)],
            cwd=ROOT, capture_output=True, text=True, timeout=300,
            env={"PATH": "/usr/bin:/bin", "OPENAI_API_KEY": KEY, "HOME": str(tmp_path)},
        )  # fmt: skip
    assert result.returncode == 1  # the conversation errored
    assert "ended in a model or connection error" in result.stderr
    written = [p.read_text(encoding="utf-8") for p in out.iterdir() if p.is_file()]
    for text in [result.stdout, result.stderr, *written]:
        assert KEY not in text and "pa55word" not in text
    assert any("[redacted]" in text for text in written)


def test_a_key_anywhere_in_the_base_url_is_not_saved():
    from agent.redact import redact_url

    url = "https://user:pass@llm.example.invalid:8443/v1?key=sk-live-123456&region=eu#token=abcdef"
    redacted = redact_url(url) or ""
    assert not any(secret in redacted for secret in ("user", "pass", "sk-live-123456", "eu", "abcdef"))
    assert redacted.startswith("https://") and "llm.example.invalid:8443/v1" in redacted and "key=" in redacted
    assert redact_url("http://127.0.0.1:8765/v1") == "http://127.0.0.1:8765/v1"
