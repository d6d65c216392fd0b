"""What a shared agent graph is told about one conversation: LangGraph's runtime context for each call.

The graph (model, tools, middleware) is built once per policy and model and serves many conversations; each
conversation passes its own world and system prompt with every call, so nothing in the graph belongs to one customer.
"""

from __future__ import annotations

from dataclasses import dataclass

from agent.store.world import World


@dataclass(frozen=True)
class ConversationContext:
    world: World
    system_prompt: str
