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


def test_on_a_shared_graph_tool_bodies_run_on_the_event_loop_and_retry_without_blocking_it():
    import threading

    from agent.errors import TransientBackendError
    from agent.store.faults import FaultInjector
    from agent.store.retry import BackendRetry

    class FailsFirstCalls(FaultInjector):
        def __init__(self, n: int) -> None:
            super().__init__()
            self.left, self.threads = n, set()

        def check(self, operation: str) -> None:
            self.threads.add(threading.get_ident())
            if self.left:
                self.left -= 1
                raise TransientBackendError(f"{operation}: timed out")

    waits: list[float] = []

    async def wait(seconds: float) -> None:
        waits.append(seconds)

    policy = compile_policy_file(POLICIES / "retention_offers.md")
    agents = AgentGraphs(ReferenceChatModel())
    convo = Conversation.start(policy, 1, agents.model, agent=agents.for_policy(policy))
    faults = FailsFirstCalls(2)
    convo.world.faults = convo.world.magento.faults = convo.world.gorgias.faults = faults
    convo.world.backend_retry = BackendRetry(sleep=lambda s: (_ for _ in ()).throw(AssertionError("blocking sleep")),
                                             async_sleep=wait)  # fmt: skip

    async def play() -> int:
        await convo.asend("I want to cancel my order")
        return threading.get_ident()

    loop_thread = asyncio.run(play())
    assert faults.threads == {loop_thread}
    first = convo.world.trace[0]
    assert first.ok and first.attempts == 3 and len(waits) == 2


def test_langsmith_steps_around_middleware_hooks_stay_on_the_loop_unless_tracing_is_on():
    import contextvars
    import functools
    import threading

    import langsmith

    from agent.agent_graph import TRACE_STEPS, _inline_unless_tracing

    handed_off: list[str] = []

    async def default(ctx, func, *args, **kwargs):  # LangSmith's own: a worker thread
        handed_off.append(getattr(func, "__name__", "partial"))
        return await asyncio.to_thread(ctx.run, func, *args, **kwargs)

    def trace_step(_container=None) -> int:  # stands for traceable's _setup_run / _handle_container_end
        return threading.get_ident()

    trace_step.__module__ = TRACE_STEPS

    def client_call() -> int:  # anything else LangSmith hands to a thread, e.g. its HTTP client
        return threading.get_ident()

    async def thread_of(func) -> int:
        return await _inline_unless_tracing(default, contextvars.copy_context(), func)

    async def calls() -> tuple[int, list[int]]:
        untraced = [await thread_of(trace_step), await thread_of(functools.partial(trace_step, None))]
        other = await thread_of(client_call)
        with langsmith.tracing_context(enabled=True):
            traced = await thread_of(trace_step)
        return threading.get_ident(), [*untraced, other, traced]

    loop, (step, partial_step, other, traced) = asyncio.run(calls())
    assert step == partial_step == loop  # untraced trace steps: on the loop
    assert other != loop and traced != loop and handed_off == ["client_call", "trace_step"]


def test_building_a_graph_installs_the_override_and_keeps_one_the_user_installed():
    import langsmith
    from langsmith._runtime_overrides import get_runtime_overrides

    from agent.agent_graph import _inline_unless_tracing

    policy = compile_policy_file(POLICIES / "retention_offers.md")

    async def users_own(default, ctx, func, *args, **kwargs):
        return await default(ctx, func, *args, **kwargs)

    saved = get_runtime_overrides().aio_to_thread
    try:
        langsmith.set_runtime_overrides()
        AgentGraphs(ReferenceChatModel()).for_policy(policy)
        assert get_runtime_overrides().aio_to_thread is _inline_unless_tracing
        langsmith.set_runtime_overrides(aio_to_thread=users_own)
        AgentGraphs(ReferenceChatModel()).for_policy(policy)
        assert get_runtime_overrides().aio_to_thread is users_own
    finally:
        langsmith.set_runtime_overrides(aio_to_thread=saved)
