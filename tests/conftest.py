from __future__ import annotations

from pathlib import Path

import pytest

from agent.conversation import Conversation
from agent.policy.compiled import compile_policy_file
from agent.store.fixtures import default_fixtures
from agent.store.world import World
from agent.tools.langchain import build_tools

ROOT = Path(__file__).resolve().parent.parent
POLICIES = ROOT / "policies"
# the 14 personas written by hand; the rest of the shipped library was generated for the plans' branches. Tests whose
# point is one persona's flip, or a count, run on these so the library can keep growing.
HAND_WRITTEN = sorted(p.stem for p in (ROOT / "fixtures" / "personas").glob("*.yaml") if not p.stem.startswith("gen_"))


def prose_only(text: str) -> str:
    """A policy's text without the plan in its front matter, so the plan is drafted from the prose again (for tests
    that vary the prose to exercise the reader). The plan block is the front matter's last key."""
    start = text.index("\nplan:\n")
    end = text.index("\n---", start)
    return text[:start] + text[end:]


@pytest.fixture(autouse=True)
def kept_sessions_in_tmp(tmp_path, monkeypatch):
    """The chat lab keeps each tab's work on disk, and evals keep model replies and finished conversations in their
    cache: in tests, under the test's own folder, so no test reuses what another (with other doubles) left."""
    monkeypatch.setenv("RETENTION_LAB_SESSIONS", str(tmp_path / "lab-sessions"))
    monkeypatch.setenv("RETENTION_LAB_CACHE", str(tmp_path / "cache" / "model-responses.sqlite"))


@pytest.fixture
def fixtures():
    return default_fixtures()


@pytest.fixture
def make_world(fixtures):
    def make(customer_id: int = 1, cap: float = 15, **kwargs) -> World:
        return World(fixtures, customer_id, cap, **kwargs)

    return make


@pytest.fixture
def toolkit(make_world):
    """(world, {tool name: tool}) for a customer."""

    def make(customer_id: int = 1, cap: float = 15, **kwargs):
        world = make_world(customer_id, cap, **kwargs)
        return world, {t.name: t for t in build_tools(world)}

    return make


@pytest.fixture
def converse():
    """Play customer lines through the offline model and return the conversation."""

    def play(customer_id: int, lines: list[str], policy: str = "retention_offers.md", **kwargs) -> Conversation:
        convo = Conversation.start(compile_policy_file(POLICIES / policy), customer_id, **kwargs)
        for line in lines:
            convo.send(line)
        return convo

    return play
