"""The order a run starts its conversations in: one of each persona first, then the longest so far."""

from __future__ import annotations

import asyncio

import looptime

from evals.running.scheduling import LongestFirst


def test_one_of_each_group_first_then_the_longest_so_far_and_every_job_exactly_once():
    jobs = [(group, trial) for group in ("short", "long", "middle") for trial in range(3)]
    queue = LongestFirst(jobs, group=lambda job: job[0])
    first = [queue.pop() for _ in range(3)]
    assert first == [("short", 0), ("long", 0), ("middle", 0)]  # plan order while nothing is known
    for job, seconds in zip(first, (1.0, 9.0, 4.0), strict=True):
        queue.finished(job, seconds)
    rest = []
    while (job := queue.pop()) is not None:
        rest.append(job)
    assert [g for g, _ in rest] == ["long", "long", "middle", "middle", "short", "short"]
    assert sorted(first + rest) == sorted(jobs) and len(queue) == 0


def test_a_group_started_but_not_yet_finished_goes_before_groups_known_to_be_short():
    queue = LongestFirst([("a", 0), ("b", 0), ("a", 1), ("b", 1)], group=lambda job: job[0])
    a0, b0 = queue.pop(), queue.pop()
    queue.finished(a0, 1.0)  # b is still running: it may be long
    assert queue.pop() == ("b", 1)
    assert queue.pop() == ("a", 1)
    assert b0 == ("b", 0)


def on_fake_clock(coroutine):
    """Run `coroutine` on an event loop whose clock only moves when everything waits (looptime): sleeps take no
    real time, and the times a test reads are exact whatever the machine's load."""
    loop = looptime.new_event_loop(start=0)
    try:
        return loop.run_until_complete(coroutine)
    finally:
        loop.close()


def test_the_first_wave_starts_on_a_ramp_and_later_conversations_start_as_others_end():
    from evals.running.driver import Driver, DriverLimits

    started: dict[int, float] = {}
    written: list[int] = []

    async def play(job: int, holder) -> int:
        started[job] = asyncio.get_running_loop().time()
        await asyncio.sleep(0.3)
        return job

    driver: Driver[int, int] = Driver(
        play=play,
        over_time=lambda job, holder, limit: -job,
        failed=lambda job, holder, exc: -job,
        cost=lambda record: 0.0,
        sink=written.append,
        limits=DriverLimits(concurrency=4, ramp_s=0.05),
    )
    on_fake_clock(driver.run(range(6)))
    offsets = [round(started[j], 6) for j in range(6)]
    assert sorted(written) == list(range(6))
    assert offsets[:4] == [0.0, 0.05, 0.1, 0.15], offsets  # the first wave: 50 ms apart
    assert offsets[4:] == [0.3, 0.35], offsets  # then one as each ends


def _driver(play, written, **limits):
    from evals.running.driver import Driver, DriverLimits

    return Driver(
        play=play,
        over_time=lambda job, holder, limit: ("over_time", job),
        failed=lambda job, holder, exc: ("failed", job),
        cost=lambda record: 1.0,
        sink=written.append,
        limits=DriverLimits(**limits),
    )


def test_the_ramp_counts_toward_neither_the_wall_clock_limit_nor_the_conversation():
    async def play(job: int, holder) -> tuple[str, int]:
        await asyncio.sleep(0.1)
        return ("done", job)

    written: list = []
    on_fake_clock(_driver(play, written, concurrency=3, ramp_s=0.4, conversation_timeout_s=0.3).run(range(3)))
    assert sorted(written) == [("done", 0), ("done", 1), ("done", 2)]  # the last waited 0.8 s, then played 0.1 s


def test_a_budget_reached_by_the_last_conversations_is_not_a_stop():
    from evals.running.driver import BUDGET

    async def play(job: int, holder) -> int:
        await asyncio.sleep(0.01)
        return job

    written: list = []
    everything = _driver(play, written, concurrency=2, max_cost_usd=1.5)  # both start, both cost 1.0
    assert on_fake_clock(everything.run(range(2))) is None and sorted(written) == [0, 1]
    resumed = _driver(play, [], concurrency=2, max_cost_usd=1.5, spent_usd=2.0)  # a finished run, resumed
    assert on_fake_clock(resumed.run([])) is None
    written = []
    cut = _driver(play, written, concurrency=1, max_cost_usd=1.5)  # the third is left unstarted
    assert on_fake_clock(cut.run(range(3))) == BUDGET and written == [0, 1]
