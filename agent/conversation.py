"""The agent and the small API that the app, the CLI and the evals share.

convo = Conversation.start(compile_policy_file("policies/retention_offers.md"), customer_id=1)
turn = convo.send("I want to cancel my order")
turn.reply, turn.tool_calls, convo.world.snapshot(), convo.world.trace
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage, ToolMessage
from langchain_core.runnables import RunnableConfig
from langgraph.errors import GraphRecursionError
from pydantic import BaseModel, Field

from agent.agent_graph import AgentGraph, build_agent_graph
from agent.chat_settings import DEFAULT_STEP_LIMIT
from agent.models.settings import ModelSettings, make_chat_model
from agent.policy.compiled import CompiledPolicy
from agent.policy.offer_rules import PlanOfferRules
from agent.redact import redact
from agent.store.fixtures import FixtureSet, default_fixtures
from agent.store.trace import ToolCallRecord, TranscriptLine, TurnResult
from agent.store.world import World, WorldSnapshot
from agent.tools.context import ConversationContext
from agent.tools.results import ToolError, observation

GENERIC_FAILURE = "Sorry, something went wrong on our side, so I couldn't answer. Please try again in a moment."


class PolicyVersion(BaseModel):
    name: str
    version: str
    path: str
    sha: str = Field(description="hash of every text the policy is made of")
    text: str


class ConversationExport(BaseModel):
    """A conversation as JSON: which policy version and model, the transcript, the trace and the final state."""

    policy: PolicyVersion
    model: str
    customer_id: int
    transcript: list[TranscriptLine]
    turns: list[TurnResult]
    trace: list[ToolCallRecord]
    final_state: WorldSnapshot


@dataclass
class StreamEvent:
    """`text` carries a piece of the reply; `tool_call` a finished tool call; `done` the whole turn."""

    kind: str
    text: str = ""
    tool_call: ToolCallRecord | None = None
    turn: TurnResult | None = None


def policy_world(
    policy: CompiledPolicy, customer_id: int, fixtures: FixtureSet | None = None, fault_rate: float = 0.0, seed: int = 0
) -> World:
    """A fresh world for `customer_id` whose store enforces `policy`: its caps, its plan's offers and conditions,
    its stacking rule and its limit on the value given per order."""
    return World(
        fixtures or default_fixtures(),
        customer_id,
        policy.max_discount_percent,
        fault_rate,
        seed,
        max_coupon_percent=policy.max_coupon_percent,
        allow_stacking=policy.offer_plan.stacking,
        offer_rules=PlanOfferRules(policy.offer_plan, policy.main.meta.limits.max_value_percent),
    )


@dataclass
class Conversation:
    """One customer's chat with the agent: its world, its message history and its turns. The agent graph may be
    shared with other conversations (`AgentGraphs`); the conversation passes its world to it with every call."""

    policy: CompiledPolicy
    world: World
    model: BaseChatModel
    model_label: str
    step_limit: int = DEFAULT_STEP_LIMIT
    turns: list[TurnResult] = field(default_factory=list)
    agent: AgentGraph = None
    messages: list[BaseMessage] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.system_prompt = self.policy.system_prompt(self.world.customer, self.world.gorgias.ticket.id)
        if self.agent is None:
            self.agent = build_agent_graph(self.policy, self.model)
        self.context = ConversationContext(self.world, self.system_prompt)

    @classmethod
    def start(
        cls,
        policy: CompiledPolicy,
        customer_id: int,
        model: BaseChatModel | ModelSettings | str = "offline",
        fixtures: FixtureSet | None = None,
        fault_rate: float = 0.0,
        seed: int = 0,
        step_limit: int = DEFAULT_STEP_LIMIT,
        agent: AgentGraph = None,
    ) -> Conversation:
        """A fresh world for `customer_id` and an agent that follows `policy` (`agent`: a graph built for this policy
        and model by `build_agent_graph`, to share it; built here if not given)."""
        world = policy_world(policy, customer_id, fixtures, fault_rate, seed)
        if isinstance(model, BaseChatModel):
            chat_model, label = model, type(model).__name__
        else:
            settings = model if isinstance(model, ModelSettings) else ModelSettings(spec=model)
            chat_model, label = make_chat_model(settings), settings.spec
        return cls(policy, world, chat_model, label, step_limit, agent=agent)

    def _config(self) -> RunnableConfig:
        return RunnableConfig(recursion_limit=self.step_limit)

    def send(self, text: str) -> TurnResult:
        """Play one customer message and return the agent's reply with the tool calls it made (no streaming)."""
        before, start = self._begin_turn(text)
        try:
            for state in self.agent.stream(
                self._input(text), self._config(), context=self.context, stream_mode="values"
            ):
                self.messages = state["messages"]
            error = None
        except Exception as exc:  # a model or transport fault must not lose the conversation so far
            error = self._describe(exc)
        return self._finish_turn(text, before, start, error)

    async def asend(self, text: str) -> TurnResult:
        """`send` on the event loop: many conversations share one thread while their model calls are in flight.
        Cancelling it (a wall-clock limit, Ctrl+C) leaves the turns already played intact."""
        before, start = self._begin_turn(text)
        try:
            async for state in self.agent.astream(
                self._input(text), self._config(), context=self.context, stream_mode="values"
            ):
                self.messages = state["messages"]
            error = None
        except Exception as exc:  # a model or transport fault must not lose the conversation so far
            error = self._describe(exc)
        return self._finish_turn(text, before, start, error)

    def stream(self, text: str) -> Iterator[StreamEvent]:
        """Play one customer message, yielding reply text and tool calls as they happen, then `done`."""
        before, start = self._begin_turn(text)
        seen_calls, error = len(self.world.trace), None
        try:
            for mode, payload in self.agent.stream(
                self._input(text), self._config(), context=self.context, stream_mode=["values", "messages"]
            ):
                if mode == "values":
                    self.messages = payload["messages"]
                    continue
                chunk = payload[0]
                if isinstance(chunk, AIMessageChunk) and isinstance(chunk.content, str) and chunk.content:
                    yield StreamEvent("text", text=chunk.content)
                elif isinstance(chunk, ToolMessage):
                    while seen_calls < len(self.world.trace):
                        yield StreamEvent("tool_call", tool_call=self.world.trace[seen_calls])
                        seen_calls += 1
        except Exception as exc:  # a model or transport fault must not lose the conversation so far
            error = self._describe(exc)
        yield StreamEvent("done", turn=self._finish_turn(text, before, start, error))

    def _input(self, text: str) -> Any:
        """The whole history and the new message: the graph keeps no state between calls (the state after each
        step streams back into `self.messages`, so a turn cut short keeps the steps it finished)."""
        return {"messages": [*self.messages, HumanMessage(text)]}

    def _begin_turn(self, text: str) -> tuple[int, float]:
        self.world.turn += 1
        self.world.gorgias.post_chat_message(text, from_agent=False)
        return len(self.messages), time.perf_counter()

    def _describe(self, exc: Exception) -> str:
        if isinstance(exc, GraphRecursionError):
            return f"the agent stopped after {self.step_limit} steps without answering"
        return redact(f"{type(exc).__name__}: {exc}") or type(exc).__name__

    def _close_dangling_tool_calls(self) -> None:
        """After an interrupted turn, answer tool calls left without a result, so the next request is valid."""
        messages = self.messages
        answered = {m.tool_call_id for m in messages if isinstance(m, ToolMessage)}
        dangling = [c for m in messages if isinstance(m, AIMessage) for c in m.tool_calls if c["id"] not in answered]
        if dangling:
            closing = [
                ToolMessage(
                    observation(ToolError(kind="interrupted", message="the turn ended before this call ran")),
                    tool_call_id=c["id"] or "",
                    name=c["name"],
                    status="error",
                )
                for c in dangling
            ]
            self.messages = [*messages, *closing]

    def _finish_turn(self, text: str, before: int, start: float, error: str | None) -> TurnResult:
        if error:
            self._close_dangling_tool_calls()
        new = self.messages[before:]
        replies = [m for m in new if isinstance(m, AIMessage) and not m.tool_calls and m.content]
        reply = str(replies[-1].content) if replies and not error else ""
        why = str(replies[-1].response_metadata.get("why", "")) if replies and not error else ""
        if error:
            reply = GENERIC_FAILURE  # the customer never sees the exception; the turn's `error` keeps it
        usage = [m.usage_metadata for m in new if isinstance(m, AIMessage) and m.usage_metadata]
        turn = TurnResult(
            customer=text,
            reply=reply,
            tool_calls=[c for c in self.world.trace if c.turn == self.world.turn],
            latency_ms=round((time.perf_counter() - start) * 1000, 2),
            input_tokens=sum(u.get("input_tokens", 0) for u in usage),
            output_tokens=sum(u.get("output_tokens", 0) for u in usage),
            error=error,
            model_calls=sum(isinstance(m, AIMessage) for m in new),
            why=why,
        )
        self.world.gorgias.post_chat_message(reply, from_agent=True)
        if not error:
            self.world.settle_ticket()
        self.turns.append(turn)
        return turn

    def _messages(self) -> list[BaseMessage]:
        return list(self.messages)

    @property
    def transcript(self) -> list[TranscriptLine]:
        lines = []
        for turn in self.turns:
            lines += [
                TranscriptLine(role="customer", content=turn.customer),
                TranscriptLine(role="agent", content=turn.reply),
            ]
        return lines

    @property
    def faults_met(self) -> int:
        """Injected backend faults this conversation met."""
        return self.world.faults.injected

    def export(self) -> ConversationExport:
        """Which policy version and model, the transcript, the trace and the final state."""
        main = self.policy.main
        return ConversationExport(
            policy=PolicyVersion(
                name=self.policy.name,
                version=self.policy.version,
                path=str(main.path),
                sha=self.policy.sha,
                text=main.text,
            ),
            model=self.model_label,
            customer_id=self.world.customer.id,
            transcript=self.transcript,
            turns=list(self.turns),
            trace=list(self.world.trace),
            final_state=self.world.snapshot(),
        )
