"""Facts about the toolkit that do not need a live world: tool names and which offer each tool applies.

Read from the plain tool bodies (`agent.toolkit`), so asking costs no LangChain import.
"""

from __future__ import annotations

from functools import cache

from agent.fixtures import default_fixtures


@cache
def toolkit_facts() -> tuple[frozenset[str], dict[str, str]]:
    """(all tool names, tool name -> offer kind), read from a throwaway world's real toolkit."""
    from agent.toolkit import tool_bodies
    from agent.world import World

    fixtures = default_fixtures()
    bodies = tool_bodies(World(fixtures, next(iter(fixtures.customers)), max_discount_percent=100))
    return frozenset(b.name for b in bodies), {b.name: b.offer for b in bodies if b.offer}


def known_tool_names() -> frozenset[str]:
    return toolkit_facts()[0]


def offer_tool_kinds() -> dict[str, str]:
    return toolkit_facts()[1]
