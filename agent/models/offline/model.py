"""The offline reference model: a deterministic LangChain chat model that follows the compiled policy.

It is a baseline and a test double, not an LLM. It gets the policy's offer plan from the agent factory
(`for_policy`, never from the customer-visible text), reads the customer's messages with the rules in
`fixtures/reference_model/intents.yaml`, and emits real tool calls through the same agent graph as an LLM would.
Rewording a policy without changing its offer plan does not change what it does.

It keeps no state between calls: its notes about earlier turns are rebuilt from the message history, so the same
history always gives the same reply, in process or behind an OpenAI-compatible wire.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from pydantic import Field

from agent.models.offline.flow import decide
from agent.models.offline.intents import Reading, default_rules
from agent.models.offline.situation import Call, Memory, PolicyBrief, Say, Situation, ToolStep
from agent.policy.plan import OfferPlan
from agent.tools.results import ToolError, read_observation


def _text(message: BaseMessage) -> str:
    return message.content if isinstance(message.content, str) else str(message.content)


@lru_cache(maxsize=4096)
def _reading(text: str) -> Reading:
    """The rules' reading of one customer message. The model replays every earlier turn on each call, so without this
    a conversation of n turns reads its first message n times. A reading is a frozen value of the text alone."""
    return default_rules().read(text)


def split_turns(messages: list[BaseMessage]) -> list[tuple[HumanMessage, list[BaseMessage]]]:
    """(customer message, what followed it) for each turn of the history."""
    turns: list[tuple[HumanMessage, list[BaseMessage]]] = []
    for message in messages:
        if isinstance(message, HumanMessage):
            turns.append((message, []))
        elif turns:
            turns[-1][1].append(message)
    return turns


def tool_steps(turn: list[BaseMessage]) -> list[ToolStep]:
    """The tool calls of one turn with their typed results (None while a call is unanswered)."""
    results = {m.tool_call_id: read_observation(_text(m)) for m in turn if isinstance(m, ToolMessage)}
    return [
        ToolStep(c["name"], c["args"], results.get(c["id"] or ""))
        for m in turn
        if isinstance(m, AIMessage)
        for c in m.tool_calls
    ]


def step_message(step: Call | Say, position: int) -> AIMessage:
    """The model's step as the message an LLM would send: a tool call, or the reply with the rule it followed.
    The call's id comes from its position, so identical conversations stay byte-identical (cached responses reused)."""
    if isinstance(step, Call):
        call = {"name": step.name, "args": step.args, "id": f"call_ref_{position}", "type": "tool_call"}
        return AIMessage(content="", tool_calls=[call])
    return AIMessage(content=step.text, response_metadata={"why": step.why})


class ReferenceChatModel(BaseChatModel):
    """Deterministic, policy-following chat model. Needs no network and no key."""

    brief: PolicyBrief = Field(default_factory=PolicyBrief, description="the policy's offer plan, set by `for_policy`")
    tool_names: tuple[str, ...] = ()

    @property
    def _llm_type(self) -> str:
        return "retention-lab-reference"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        plan = self.brief.plan
        return {
            "model": "offline-reference",
            "tools": list(self.tool_names),
            "plan": plan.describe() + plan.describe_settings(),
            "cap": self.brief.max_discount_percent,
        }

    def for_policy(self, plan: OfferPlan, max_discount_percent: float) -> ReferenceChatModel:
        """This model, following `plan` (the agent factory calls it with the compiled policy's offer plan)."""
        return self.model_copy(update={"brief": PolicyBrief(plan, max_discount_percent)})

    def bind_tools(
        self, tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool], **kwargs: Any
    ) -> Runnable[Any, AIMessage]:
        """Remember the tools' names (it only calls tools it was given)."""
        named = tuple(t.name for t in tools if isinstance(t, BaseTool))
        return self.model_copy(update={"tool_names": named})

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        message = step_message(decide(self.situation(messages)), len(messages))
        return ChatResult(generations=[ChatGeneration(message=message)])

    def situation(self, messages: list[BaseMessage]) -> Situation:
        """What the model sees now, with its notes rebuilt by replaying its decisions over the earlier turns."""
        turns = split_turns(messages)
        memory = Memory()
        for human, rest in turns[:-1]:
            steps = tool_steps(rest)
            if any(isinstance(x.result, ToolError) and x.result.kind == "interrupted" for x in steps):
                continue  # the turn never finished: it left no notes
            step = decide(Situation(self.brief, memory, _reading(_text(human)), steps))
            if isinstance(step, Say):
                memory = step.memory
        if not turns:
            return Situation(self.brief, memory, Reading("", ()))
        human, rest = turns[-1]
        return Situation(self.brief, memory, _reading(_text(human)), tool_steps(rest))
