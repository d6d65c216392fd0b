"""The offline reference model: a deterministic LangChain chat model that follows the compiled policy.

It is a baseline and a test double, not an LLM. It reads the policy's structure (which offers, in which order, with
which tools and percentages) from the system prompt, reads the customer's messages with the rules in
`fixtures/reference_model/intents.yaml`, and emits real tool calls through the same agent graph as an LLM would.
Rewording a policy without changing that structure does not change what it does.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from pydantic import Field

from agent.intents import Reading, default_rules
from agent.offer_plan import read_offer_plan
from agent.reference_flow import Call, Memory, Situation, ToolStep, decide

MEMORY_KEY = "retention_lab"
# Over an OpenAI wire (see agent/openai_stub.py) metadata does not survive, so the notes ride in the text instead.
MEMORY_IN_TEXT = re.compile(r"\s*\[rl-memory:([A-Za-z0-9+/=]+)\]\s*$")


def _text(message: BaseMessage) -> str:
    return message.content if isinstance(message.content, str) else str(message.content)


class ReferenceChatModel(BaseChatModel):
    """Deterministic, policy-following chat model. Needs no network and no key."""

    offer_tools: dict[str, str] = Field(default_factory=dict, description="tool name -> offer kind")
    tool_names: tuple[str, ...] = ()
    memory_in_text: bool = Field(default=False, description="append the model's notes to its reply text")

    @property
    def _llm_type(self) -> str:
        return "retention-lab-reference"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model": "offline-reference", "tools": list(self.tool_names)}

    def bind_tools(
        self, tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool], **kwargs: Any
    ) -> Runnable[Any, AIMessage]:
        """Remember the tools' names and, from their metadata, which offer each one applies."""
        named = [t for t in tools if isinstance(t, BaseTool)]
        offers = {t.name: t.metadata["offer"] for t in named if t.metadata and t.metadata.get("offer")}
        return self.model_copy(update={"offer_tools": offers, "tool_names": tuple(t.name for t in named)})

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        step = decide(self._situation(messages))
        if isinstance(step, Call):
            # deterministic ids keep identical conversations byte-identical, so cached responses are reused
            call = {"name": step.name, "args": step.args, "id": f"call_ref_{len(messages)}", "type": "tool_call"}
            message = AIMessage(content="", tool_calls=[call])
        else:
            text = step.text
            if self.memory_in_text:
                text += f"\n\n[rl-memory:{base64.b64encode(json.dumps(step.memory.to_dict()).encode()).decode()}]"
            message = AIMessage(content=text, additional_kwargs={MEMORY_KEY: step.memory.to_dict()})
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _situation(self, messages: list[BaseMessage]) -> Situation:
        system = "\n".join(_text(m) for m in messages if isinstance(m, SystemMessage))
        plan = read_offer_plan(system, self.offer_tools)
        last_human = max((i for i, m in enumerate(messages) if isinstance(m, HumanMessage)), default=-1)
        reading = default_rules().read(_text(messages[last_human])) if last_human >= 0 else Reading("", ())
        memory = Memory()
        for message in messages[:last_human]:
            if isinstance(message, AIMessage) and MEMORY_KEY in message.additional_kwargs:
                memory = Memory.from_dict(message.additional_kwargs[MEMORY_KEY])
            elif isinstance(message, AIMessage) and (found := MEMORY_IN_TEXT.search(_text(message))):
                memory = Memory.from_dict(json.loads(base64.b64decode(found.group(1))))
        return Situation(plan, memory, reading, self._steps(messages[last_human + 1 :]))

    @staticmethod
    def _steps(turn: list[BaseMessage]) -> list[ToolStep]:
        results = {m.tool_call_id: _text(m) for m in turn if isinstance(m, ToolMessage)}
        return [
            ToolStep(c["name"], c["args"], results.get(c["id"] or ""))
            for m in turn
            if isinstance(m, AIMessage)
            for c in m.tool_calls
        ]
