"""Agents under test written without LangChain's graph, behind the runner's seam
(`evals.running.agent_under_test`). Each acts on a real world through the real tools, so its calls are traced and
scored like any agent's."""

from __future__ import annotations

from agent.conversation import ConversationExport, PolicyVersion
from agent.store.trace import TranscriptLine, TurnResult
from agent.store.world import World
from agent.tools.langchain import build_tools
from agent.tools.toolkit import Toolkit
from evals.running.agent_under_test import ConversationStart

CANCELLABLE = {"pending", "processing"}


class CancelsWithoutOffering:
    """Breaks a retention policy on purpose: on the first message it cancels the customer's newest open order, with
    no offer first, and says so; afterwards it only repeats that the order is cancelled."""

    def __init__(self, start: ConversationStart) -> None:
        self.start = start
        self.world = World(start.fixtures, start.customer_id, start.policy.max_discount_percent, start.fault_rate,
                           start.seed)  # fmt: skip
        self.tools = {tool.name: tool for tool in build_tools(self.world)}
        self.turns: list[TurnResult] = []

    @property
    def faults_met(self) -> int:
        return self.world.faults.injected

    async def asend(self, message: str) -> TurnResult:
        self.world.turn += 1
        before = len(self.world.trace)
        reply = "Your order is cancelled."
        if not self.turns:
            open_orders = [o for o in Toolkit(self.world).list_customer_orders().orders if o.status in CANCELLABLE]
            if open_orders:
                order = open_orders[-1].order_id
                self.tools["cancel_order"].invoke({"order_id": order, "reason": "the customer asked"})
                reply = f"Done: order {order} is cancelled."
        turn = TurnResult(customer=message, reply=reply, tool_calls=self.world.trace[before:], latency_ms=0.0)
        self.turns.append(turn)
        return turn

    def export(self) -> ConversationExport:
        policy = self.start.policy
        lines = [line for t in self.turns for line in (TranscriptLine(role="customer", content=t.customer),
                                                       TranscriptLine(role="agent", content=t.reply))]  # fmt: skip
        version = PolicyVersion(name=policy.name, version=policy.version, path=str(policy.main.path), sha=policy.sha,
                                text=policy.main.text)  # fmt: skip
        return ConversationExport(policy=version, model="cancels-without-offering", customer_id=self.start.customer_id,
                                  transcript=lines, turns=list(self.turns), trace=list(self.world.trace),
                                  final_state=self.world.snapshot())  # fmt: skip
