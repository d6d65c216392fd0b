"""One structured-output call to a chat model, for the model reader and the judge: a pydantic schema in, a
validated object or a one-line error out (malformed JSON, a refusal, a timeout), never an exception."""

from __future__ import annotations

from typing import TypeVar

from langchain_core.exceptions import OutputParserException
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage
from pydantic import BaseModel, ValidationError

from agent.redact import redact

T = TypeVar("T", bound=BaseModel)


def structured_call(model: BaseChatModel, schema: type[T], system: str, user: str) -> tuple[T | None, str | None]:
    """(answer, None) when the model returned a valid `schema`; (None, why) otherwise."""
    from langchain_openai import ChatOpenAI

    kwargs = {"method": "json_schema"} if isinstance(model, ChatOpenAI) else {}
    runnable = model.with_structured_output(schema, include_raw=True, **kwargs)
    try:
        out = runnable.invoke([SystemMessage(system), HumanMessage(user)])
    except (ValidationError, OutputParserException, ValueError) as exc:  # json_schema answers are parsed as they come
        return None, f"the model's answer is not a valid {schema.__name__}: {_one_line(exc)}"
    except Exception as exc:  # a transport or model fault is this one reading's error, not the run's
        return None, " ".join((redact(f"{type(exc).__name__}: {exc}") or type(exc).__name__).split())[:300]
    if not isinstance(out, dict):
        return None, f"the model's answer is not a valid {schema.__name__}: no raw answer came back"
    parsed, error = out.get("parsed"), out.get("parsing_error")
    if isinstance(parsed, schema):
        return parsed, None
    raw = out.get("raw")
    refusal = getattr(raw, "additional_kwargs", {}).get("refusal") if raw is not None else None
    if refusal:
        return None, f"the model refused: {str(refusal)[:200]}"
    return None, f"the model's answer is not a valid {schema.__name__}: {_one_line(error)}"


def _one_line(error: object) -> str:
    """The first problem of a parsing error, on one line."""
    if isinstance(error, ValidationError) and error.errors():
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "answer"
        return f"{where}: {first['msg']} ({error.error_count()} problem(s))"
    return " ".join((redact(str(error or "no structured answer")) or "").split())[:200]
