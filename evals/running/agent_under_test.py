"""The seam for the agent under test: what the runner needs of one conversation with it, and how to start one.

The LangChain agent (`agent.conversation.Conversation`) is one implementation; test doubles are others (a
misbehaving agent, an agent that never answers). A conversation takes customer messages one at a time and, at the
end, gives its transcript, turns, tool trace and the world's final state; the runner scores that, never the agent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from langchain_core.language_models import BaseChatModel

from agent.policy.compiled import CompiledPolicy
from agent.store.fixtures import FixtureSet
from agent.store.trace import TurnResult

if TYPE_CHECKING:  # the agent stack (LangChain's agents, LangGraph) is imported when a conversation starts
    from agent.agent_graph import AgentGraph
    from agent.conversation import ConversationExport


class AgentUnderTest(Protocol):
    """One conversation with the agent being evaluated."""

    async def asend(self, message: str) -> TurnResult:
        """The agent's turn after the customer's `message`: its reply and the tool calls it made."""
        ...

    def export(self) -> ConversationExport:
        """The transcript, turns, tool trace and the world's final state so far."""
        ...

    @property
    def faults_met(self) -> int:
        """Injected backend faults this conversation met."""
        ...


@dataclass(frozen=True)
class ConversationStart:
    """Everything one conversation starts from: the policy, the customer, the world's data and faults, the model."""

    policy: CompiledPolicy
    customer_id: int
    fixtures: FixtureSet
    fault_rate: float
    seed: int
    step_limit: int
    model: BaseChatModel
    model_label: str
    graph: AgentGraph = None


AgentFactory = Callable[[ConversationStart], AgentUnderTest]


def langchain_agent(start: ConversationStart) -> AgentUnderTest:
    """The product's agent: `langchain.agents.create_agent` on the run's shared graph for this policy."""
    from agent.conversation import Conversation

    convo = Conversation.start(start.policy, start.customer_id, start.model, start.fixtures, start.fault_rate,
                               start.seed, start.step_limit, agent=start.graph)  # fmt: skip
    convo.model_label = start.model_label
    return convo
