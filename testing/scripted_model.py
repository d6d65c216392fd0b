"""A chat model that answers from a script, for testing structured-output callers (the model reader, the judge and
the LLM-voiced customer) offline and exactly. Each scripted answer is a dict (returned as a call of the tool the
caller bound, as a real model doing structured output would), a string (plain text, not a tool call), or an
exception (raised, as a transport fault would be)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import Field


class ScriptedChatModel(BaseChatModel):
    script: list[Any] = Field(default_factory=list)
    responder: Any = None  # a function of the messages that returns an answer, used when there is no script
    prompts: list[list[BaseMessage]] = Field(default_factory=list)
    tool_name: str = "answer"
    usage: tuple[int, int] | None = None  # (input, output) tokens reported with every answer, as servers do

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> ScriptedChatModel:  # type: ignore[override]
        if tools:
            self.tool_name = convert_to_openai_tool(tools[0])["function"]["name"]
        return self

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        self.prompts.append(list(messages))
        if self.script:
            answer = self.script.pop(0)
        elif self.responder is not None:
            answer = self.responder(messages)
        else:
            raise RuntimeError("the script ran out of answers")
        if isinstance(answer, Exception):
            raise answer
        if isinstance(answer, dict):
            call = {"name": self.tool_name, "args": answer, "id": f"call_{len(self.prompts)}", "type": "tool_call"}
            message = AIMessage(content="", tool_calls=[call])
        else:
            message = AIMessage(content=str(answer))
        if self.usage is not None:
            message.usage_metadata = {"input_tokens": self.usage[0], "output_tokens": self.usage[1],
                                      "total_tokens": sum(self.usage)}  # fmt: skip
        return ChatResult(generations=[ChatGeneration(message=message)])
