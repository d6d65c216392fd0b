"""The order a run starts its conversations in: one of each persona first, then the longest so far."""

from __future__ import annotations

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
