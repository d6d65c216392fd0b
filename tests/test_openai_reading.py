"""The model reader and the judge over the real OpenAI path: recorded against the local model (loose properties:
a valid reading or a clear error), and a stub server that answers with prose or a refusal (exact behaviour).

Re-record with the local model running (../shared/tools/local-llm):
    RECORD_CASSETTES=1 LOCAL_LLM_URL=http://127.0.0.1:8765/v1 .venv/bin/pytest tests/test_openai_reading.py
"""

from __future__ import annotations

import json

import pytest

from agent.models.settings import ModelSettings
from evals.calibration.calibration import load_conversations
from evals.judging.judge import Judge
from evals.judging.rubric import load_rubric
from evals.reading.readers import judging_model, make_reader
from testing.openai_stub import OpenAIStub, text_reply
from tests.test_openai_path import LOCAL_LLM_URL, recorder

REPLIES = [
    "Before I cancel order 000000101, here is what I can do:\n1. 10% off this order\n2. Free expedited shipping\n"
    "3. A 20% coupon for your next order\nWould any of these work for you?",
    "I've applied a 10% discount to order 000000101. The new total is $90.",
    "Puedo ofrecerte un 10% de descuento o envío exprés gratis. ¿Cuál prefieres?",
]


@pytest.fixture(autouse=True)
def _fake_key(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key")


def local(spec: str = "openai:local") -> ModelSettings:
    return ModelSettings(spec=spec, base_url=LOCAL_LLM_URL, max_retries=0, timeout_s=300)


def test_the_local_model_as_reader_gives_a_valid_reading_or_a_clear_error():
    with recorder.use_cassette("local_model_reader.yaml"):
        reader = make_reader(local())
        readings = [reader.read(reply) for reply in REPLIES]
    for reading in readings:
        assert reading.reader == "openai:local"
        assert reading.error is None or "\n" not in reading.error
    assert any(r.error is None for r in readings), [r.error for r in readings]
    # a valid reading is a typed one: offer kinds from the enum, claims of known kinds
    assert all(
        o.kind.value in {"discount", "shipping_upgrade", "swap", "future_coupon"} for r in readings for o in r.offers
    )


def test_the_local_model_as_judge_gives_rubric_verdicts_or_clear_errors():
    conversation = load_conversations()[0]
    with recorder.use_cassette("local_model_judge.yaml"):
        judge = Judge(judging_model(local()), "openai:local", samples=1)
        judgement = judge.judge(conversation.transcript)
    assert judgement.criteria or judgement.errors
    assert {c.criterion for c in judgement.criteria} <= set(load_rubric().names)
    assert all(c.verdict in ("pass", "fail", "n/a", None) for c in judgement.criteria)
    assert all("\n" not in e for e in judgement.errors)


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (text_reply("Sure! The reply offers a discount."), "not a valid ReadingAnswer"),
        ({"role": "assistant", "content": None, "refusal": "I can't help with that."}, "refused"),
        (text_reply('{"offers": [{"kind": "money_back"}]}'), "not a valid ReadingAnswer"),
    ],
)
def test_prose_a_refusal_or_a_wrong_shape_from_the_server_is_one_readings_error(reply, error):
    with OpenAIStub([reply]) as stub:
        reading = make_reader(ModelSettings(spec="openai:stub", base_url=stub.base_url, max_retries=0)).read("Hi")
        request = stub.requests[0]
    assert reading.error and error in reading.error and "\n" not in reading.error
    assert request["response_format"]["type"] == "json_schema"  # structured output, not free text


def test_a_valid_structured_answer_from_the_server_is_read_exactly():
    answer = {"offers": [{"kind": "discount", "percent": 10}], "asks_which_order": False, "cannot_proceed": False,
              "questions": [], "claims": []}  # fmt: skip
    with OpenAIStub([text_reply(json.dumps(answer))]) as stub:
        reading = make_reader(ModelSettings(spec="openai:stub", base_url=stub.base_url, max_retries=0)).read("10%?")
    assert reading.error is None and [(o.kind.value, o.percent) for o in reading.offers] == [("discount", 10)]


def test_a_cached_structured_answer_is_read_again_exactly_without_calling_the_model(tmp_path):
    from agent.models.cache import DiskCache

    answer = {"offers": [{"kind": "future_coupon", "percent": 20}], "asks_which_order": False,
              "cannot_proceed": False, "questions": [], "claims": []}  # fmt: skip
    with OpenAIStub([text_reply(json.dumps(answer))]) as stub:
        settings = ModelSettings(spec="openai:stub", base_url=stub.base_url, max_retries=0)
        first = make_reader(settings, DiskCache(tmp_path / "cache.sqlite")).read("A 20% coupon for next time?")
        again = make_reader(settings, DiskCache(tmp_path / "cache.sqlite")).read("A 20% coupon for next time?")
        calls = len(stub.requests)
    assert first.error is None and again == first and calls == 1
