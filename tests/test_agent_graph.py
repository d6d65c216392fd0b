"""One agent graph serves every conversation of a policy and model: each conversation's world, system prompt and
history must stay its own, even when conversations interleave on one event loop."""

from __future__ import annotations

import asyncio

from agent.agent_graph import AgentGraphs
from agent.conversation import Conversation
from agent.models.offline.model import ReferenceChatModel
from agent.policy.compiled import compile_policy_file
from tests.conftest import POLICIES


def test_conversations_sharing_one_graph_keep_their_own_world_prompt_and_history():
    policy = compile_policy_file(POLICIES / "retention_offers.md")
    agents = AgentGraphs(ReferenceChatModel())
    graph = agents.for_policy(policy)
    assert agents.for_policy(compile_policy_file(POLICIES / "retention_offers.md")) is graph
    first = Conversation.start(policy, 1, agents.model, agent=graph)
    second = Conversation.start(policy, 7, agents.model, agent=graph)

    async def play(convo: Conversation, lines: list[str]) -> None:
        for line in lines:
            await convo.asend(line)

    async def both() -> None:
        await asyncio.gather(
            play(first, ["I want to cancel my order", "Yes, I'll take the discount"]),
            play(second, ["I want to cancel my order", "no thanks, just cancel it"]),
        )

    asyncio.run(both())
    assert first.world.snapshot().order("000000101").discount_percent > 0
    assert second.world.snapshot().order("000000113").status == "canceled"
    for convo in (first, second):
        own = {o.increment_id for o in convo.world.own_orders()}
        touched = {str(c.args.get("order_id")).lstrip("#") for c in convo.world.trace if c.args.get("order_id")}
        assert touched <= own, (convo.world.customer.id, touched, own)
        assert convo.world.foreign_orders_changed() == []
        assert [m.content for m in convo.messages if m.type == "human"] == [t.customer for t in convo.turns]
    assert first.system_prompt != second.system_prompt  # the prompt names the customer


def test_a_graph_is_built_per_policy_version_and_file():
    agents = AgentGraphs(ReferenceChatModel())
    retention = compile_policy_file(POLICIES / "retention_offers.md")
    others = [p for p in sorted(POLICIES.glob("*.md")) if p.name != "retention_offers.md"]
    other = compile_policy_file(others[0])
    assert agents.for_policy(retention) is not agents.for_policy(other)
