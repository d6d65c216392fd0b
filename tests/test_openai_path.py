"""The OpenAI path, replayed from vcrpy cassettes (no network, no key).

Re-record with a local OpenAI-compatible model (see README, "Plug in a real model"):
    RECORD_CASSETTES=1 LOCAL_LLM_URL=http://127.0.0.1:8765/v1 .venv/bin/pytest tests/test_openai_path.py
"""

from __future__ import annotations

import json
import os

import pytest
import vcr

from agent.conversation import Conversation
from agent.models.settings import ModelSettings
from agent.policy.compiled import compile_policy_file
from testing.openai_stub import OpenAIStub, text_reply, tool_call_reply
from tests.conftest import POLICIES, ROOT

CASSETTES = ROOT / "fixtures" / "cassettes"
RECORDING = os.environ.get("RECORD_CASSETTES") == "1"
LOCAL_LLM_URL = os.environ.get("LOCAL_LLM_URL", "http://127.0.0.1:8765/v1")
# Replay needs the same host and port as the recording; the stub is started on this fixed port when recording.
STUB_PORT_URL = "http://127.0.0.1:18765/v1"

recorder = vcr.VCR(
    cassette_library_dir=str(CASSETTES),
    record_mode="once" if RECORDING else "none",
    filter_headers=["authorization", "x-stainless-os", "x-stainless-arch", "user-agent"],
    match_on=["method", "scheme", "host", "port", "path", "body"],
    decode_compressed_response=True,
)


def openai_conversation(base_url: str, customer_id: int, step_limit: int = 12) -> Conversation:
    settings = ModelSettings(spec="openai:local", base_url=base_url, max_retries=0)
    return Conversation.start(
        compile_policy_file(POLICIES / "retention_offers.md"), customer_id, settings, step_limit=step_limit
    )


@pytest.fixture(autouse=True)
def _fake_key(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key")


def test_real_local_model_drives_the_agent_over_http():
    """A real (weak) model: check loose properties only."""
    with recorder.use_cassette("local_model_cancel_flow.yaml"):
        convo = openai_conversation(LOCAL_LLM_URL, customer_id=7)
        first = convo.send("Hi, I want to cancel my order 000000113.")
    assert first.error is None or "steps" in first.error
    tools = [c.tool for c in convo.world.trace]
    known = {t.name for t in convo.agent.get_graph().nodes.values()} | set(tools)
    assert tools, "the model should look something up before answering"
    assert set(tools) <= known
    # weak models nest or misname arguments; the order number must still be the customer's own one
    assert any("000000113" in json.dumps(c.args) for c in convo.world.trace)
    assert all(c.call_id for c in convo.world.trace)
    assert convo.world.foreign_orders_changed() == []


def test_recorded_cassettes_hold_no_secrets():
    for cassette in CASSETTES.glob("*.yaml"):
        text = cassette.read_text()
        assert "sk-test-not-a-real-key" not in text and "authorization" not in text.lower(), cassette


def test_survives_unknown_tool_null_content_and_empty_reply():
    """What real models do wrong, scripted by a stub server and replayed from a cassette."""
    script = [
        tool_call_reply("delete_all_orders", {"really": True}, content=None, call_id="call_a"),
        tool_call_reply("list_customer_orders", {}, content=None, call_id="call_b"),
        tool_call_reply("get_order", {"order_id": "000000113"}, content="{}", call_id="call_c"),
        text_reply(""),
    ]
    with recorder.use_cassette("stub_misbehaving_model.yaml"):
        # the app's path: streamed over SSE
        if RECORDING:
            with OpenAIStub(script, port=18765):
                convo = openai_conversation(STUB_PORT_URL, customer_id=7)
                events = list(convo.stream("cancel my order"))
        else:
            convo = openai_conversation(STUB_PORT_URL, customer_id=7)
            events = list(convo.stream("cancel my order"))
    turn = events[-1].turn
    assert [e.tool_call.tool for e in events if e.kind == "tool_call"] == [
        "delete_all_orders",
        "list_customer_orders",
        "get_order",
    ]
    assert turn is not None and turn.error is None
    assert [(c.tool, c.error_kind) for c in convo.world.trace] == [
        ("delete_all_orders", "invalid"),
        ("list_customer_orders", None),
        ("get_order", None),
    ]
    assert turn.reply == ""
    assert convo.world.snapshot().model_dump()["orders"][0]["status"] == "pending"
    convo_messages = convo._messages()
    assert any("delete_all_orders is not a valid tool" in str(m.content) for m in convo_messages)


LIVE_MODEL = os.environ.get("RETENTION_LAB_LIVE_MODEL")  # e.g. openai:gpt-4o-mini


@pytest.mark.live
@pytest.mark.skipif(
    not (LIVE_MODEL and (os.environ.get("LIVE_OPENAI_API_KEY") or os.environ.get("OPENAI_BASE_URL"))),
    reason="live run: set RETENTION_LAB_LIVE_MODEL and LIVE_OPENAI_API_KEY (or OPENAI_BASE_URL)",
)
def test_live_model_keeps_to_its_customer(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", os.environ.get("LIVE_OPENAI_API_KEY", "not-needed"))
    settings = ModelSettings(spec=LIVE_MODEL or "", max_retries=1)
    convo = Conversation.start(compile_policy_file(POLICIES / "retention_offers.md"), 7, settings, step_limit=12)
    convo.send("Hi, I want to cancel my order 000000113.")
    assert convo.world.trace and convo.world.foreign_orders_changed() == []


@pytest.mark.parametrize("percent", [True, "15"])
def test_a_models_percent_must_be_a_number_not_true_or_text(percent):
    """A model over the wire that sends `true` (or "15") for a percent gets an error observation; nothing is applied."""
    script = [
        tool_call_reply("set_discount_to_order", {"order_id": "000000101", "percent": percent}, call_id="call_a"),
        text_reply("Sorry, let me try again."),
    ]
    with OpenAIStub(script) as stub:
        convo = openai_conversation(stub.base_url, customer_id=1)
        turn = convo.send("I'll take the discount")
        observation = json.dumps(stub.requests[-1]["messages"][-1])
    assert turn.error is None and [(c.tool, c.ok) for c in convo.world.trace] == [("set_discount_to_order", False)]
    assert "valid number" in observation
    assert convo.world.magento.orders["000000101"].discount_percent == 0


def broken_arguments_reply(raw: str, call_id: str = "call_bad") -> dict:
    """A tool call whose `arguments` is not JSON, as a weak or truncated model sends it."""
    call = {"id": call_id, "type": "function", "function": {"name": "set_discount_to_order", "arguments": raw}}
    return {"role": "assistant", "content": None, "tool_calls": [call]}


@pytest.mark.parametrize("path", ["send", "asend", "stream"])
def test_a_tool_call_whose_arguments_do_not_parse_is_traced_and_answered(path):
    """The call is in the trace as a failed call, the model is told what was wrong (so it can retry), and nothing is
    applied; on every path the conversation takes."""
    import asyncio

    script = [broken_arguments_reply('{"order_id": "000000101", "percent": 15'), text_reply("Let me fix that.")]
    with OpenAIStub(script) as stub:
        convo = openai_conversation(stub.base_url, customer_id=1)
        if path == "send":
            turn = convo.send("I'll take the discount")
        elif path == "asend":
            turn = asyncio.run(convo.asend("I'll take the discount"))
        else:
            turn = next(e.turn for e in convo.stream("I'll take the discount") if e.kind == "done")
        told = json.dumps(stub.requests[-1]["messages"][-1])
    assert turn.error is None and turn.reply == "Let me fix that."
    assert [(c.tool, c.ok, c.error_kind) for c in convo.world.trace] == [("set_discount_to_order", False, "invalid")]
    assert "not valid JSON" in told and "call_bad" in told
    assert convo.world.magento.orders["000000101"].discount_percent == 0
