"""`--executor ray`: the same records as the local executor for the same seed, written by the driver alone; actors
kept between the clean runs of one process, and never kept after an abandoned one."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import types

import pytest

from agent.errors import RetentionLabError
from evals.running import ray_executor
from evals.running.config import RunConfig
from evals.running.runner import execute_run
from evals.schema.records import read_results
from tests.conftest import POLICIES, ROOT

pytestmark = pytest.mark.slow  # subprocesses or Ray: `make test-fast` leaves them out

ray = pytest.importorskip("ray", reason="the optional Ray extra is not installed: pip install -e '.[ray]'")
RETENTION = POLICIES / "retention_offers.md"


@pytest.fixture(autouse=True)
def actors_play_every_conversation(monkeypatch):
    """The driver plays conversations while the actors start (tested below on its own): off, so that the actors
    play each test's conversations, which the driver would otherwise finish before they start."""
    monkeypatch.setattr(ray_executor, "PLAY_WHILE_ACTORS_START", False)


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()


def test_a_ray_run_writes_the_same_records_as_a_local_run_of_the_same_seed(tmp_path, local_ray):
    personas = ["declines_everything", "discount_at_once", "holds_out_for_more", "picks_from_several_orders"]
    base = RunConfig(policies=[RETENTION], persona_ids=personas, trials=2, seed=5, cache_path=None, concurrency=4)
    execute_run(base.model_copy(update={"out": tmp_path / "local"}))
    execute_run(base.model_copy(update={"out": tmp_path / "ray", "executor": "ray"}))
    local = {r.key: r for r in read_results(tmp_path / "local")}
    remote = {r.key: r for r in read_results(tmp_path / "ray")}
    assert set(local) == set(remote) and len(remote) == 8
    for key, record in local.items():
        other = remote[key]
        assert (other.fingerprint, other.outcome, other.seed) == (record.fingerprint, record.outcome, record.seed)
        assert [(s.name, s.passed) for s in other.scores] == [(s.name, s.passed) for s in record.scores]
    lines = (tmp_path / "ray" / "results.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 8  # one writer: no lost or doubled line


PERSONAS = ["declines_everything", "discount_at_once"]


def _kept_pids() -> list[int]:
    return [pid for pool in ray_executor._kept for pid in pool.pids]


def _ray_config(tmp_path, name: str) -> RunConfig:
    return RunConfig(policies=[RETENTION], persona_ids=PERSONAS, trials=2, seed=3, cache_path=None, concurrency=4,
                     out=tmp_path / name, executor="ray")  # fmt: skip


def test_a_clean_run_gives_its_actors_to_the_next_run_which_writes_the_same_records(tmp_path, local_ray):
    ray_executor.close_kept_pool()
    first = {r.key: r.fingerprint for r in execute_run(_ray_config(tmp_path, "first"))}
    pids = _kept_pids()
    assert len(pids) == 2 and all(ray_executor._kept[0].pids)
    second = {r.key: r.fingerprint for r in execute_run(_ray_config(tmp_path, "second"))}
    assert _kept_pids() == pids  # the same two worker processes played the second run
    assert second == first and len(first) == 4


def test_kept_actors_unused_for_the_idle_time_are_killed(tmp_path, local_ray, monkeypatch):
    monkeypatch.setattr(ray_executor, "KEEP_IDLE_S", 0.2)
    execute_run(_ray_config(tmp_path, "run"))
    actors = ray_executor._kept[0].actors
    deadline = time.monotonic() + 30
    while ray_executor._kept and time.monotonic() < deadline:
        time.sleep(0.05)
    assert ray_executor._kept == []  # their CPUs go back to the cluster
    assert _dies(actors[0], deadline=time.monotonic() + 30)  # ray.kill lands asynchronously


def _dies(actor, deadline: float) -> bool:
    while time.monotonic() < deadline:
        try:
            ray.get(actor.finish.remote(), timeout=10)
        except ray.exceptions.RayActorError:
            return True
        time.sleep(0.1)
    return False


class _TimersHeld:
    """threading.Timer for ray_executor, held instead of started: the test fires each when it chooses."""

    def __init__(self):
        self.held = []

    def __call__(self, interval, function, args):
        timer = types.SimpleNamespace(
            fire=lambda: function(*args), daemon=False, start=lambda: None, cancel=lambda: None
        )
        self.held.append(timer)
        return timer


class _Pool:
    """Stands in for a RayPool where only the keeping rules are tested."""

    times_given_back, closed, idle_timer = 0, False, None

    def finish(self):
        return None

    def close(self):
        self.closed = True


def test_the_idle_timer_of_an_earlier_give_back_spares_a_pool_kept_again(monkeypatch):
    Pool = _Pool
    timers = _TimersHeld()
    monkeypatch.setattr(ray_executor, "Timer", timers)
    ray_executor.close_kept_pool()
    pool = Pool()
    ray_executor.give_back(pool, clean=True)
    ray_executor._kept.pop()  # leased by the next run, as lease_pool does
    ray_executor.give_back(pool, clean=True)  # that run gives it back in turn
    timers.held[0].fire()  # the first idle time is up, but the pool has been unused only since the second give_back
    assert not pool.closed and ray_executor._kept == [pool]
    timers.held[1].fire()
    assert pool.closed and ray_executor._kept == []


def test_a_pool_given_back_while_another_run_is_starting_is_killed_to_free_its_cpus(monkeypatch):
    ray_executor.close_kept_pool()
    monkeypatch.setattr(ray_executor, "_leasing", 1)  # a run of another thread is inside lease_pool
    pool = _Pool()
    ray_executor.give_back(pool, clean=True)
    assert pool.closed and ray_executor._kept == []


def test_a_run_started_while_another_holds_every_cpu_goes_ahead_when_that_run_ends(tmp_path, local_ray, monkeypatch):
    monkeypatch.setattr(ray_executor, "KEEP_IDLE_S", 600.0)  # were the first run's actors kept, the second would wait
    ray_executor.close_kept_pool()
    second: dict[str, object] = {}

    def play_second():
        second["records"] = execute_run(_ray_config(tmp_path, "second"))

    thread = threading.Thread(target=play_second, daemon=True)

    def start_second_once(record, done, total):
        if not thread.is_alive() and "records" not in second:
            thread.start()  # its actors wait for the CPUs the first run's actors hold

    first = execute_run(_ray_config(tmp_path, "first"), on_result=start_second_once)
    thread.join(timeout=180)
    assert not thread.is_alive(), "the second run waited for the first run's kept actors"
    assert len(first) == 4 and len(second["records"]) == 4


def _assert_killed(pool) -> None:
    # killed, so its CPU is free for the next run (ray.kill lands asynchronously: wait for it)
    assert _dies(pool.actors[0], deadline=time.monotonic() + 30)


def test_ctrl_c_while_actors_are_prepared_or_finish_leaves_none_holding_a_cpu(tmp_path, local_ray, monkeypatch):
    execute_run(_ray_config(tmp_path, "warm"))
    kept = ray_executor._kept[0]
    interrupted = []

    def interrupt(self, *args):
        interrupted.append(self)
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(ray_executor.RayPool, "prepare", interrupt)
        with pytest.raises(KeyboardInterrupt):
            execute_run(_ray_config(tmp_path, "kept"))
        assert interrupted == [kept] and ray_executor._kept == []
        _assert_killed(kept)
        with pytest.raises(KeyboardInterrupt):
            execute_run(_ray_config(tmp_path, "new"))  # none kept now: a new pool, interrupted while it starts
        assert len(interrupted) == 2
        _assert_killed(interrupted[1])
    execute_run(_ray_config(tmp_path, "clean"))
    running = ray_executor._kept[0]
    with monkeypatch.context() as patch:
        patch.setattr(ray_executor.RayPool, "finish", interrupt)
        with pytest.raises(KeyboardInterrupt):
            execute_run(_ray_config(tmp_path, "interrupted-finish"))
    assert ray_executor._kept == [] and interrupted[2] is running
    _assert_killed(running)
    assert len(execute_run(_ray_config(tmp_path, "after"))) == 4  # and a run still finds CPUs


def test_a_pool_kept_from_an_earlier_ray_session_is_not_tried(tmp_path, local_ray, monkeypatch):
    execute_run(_ray_config(tmp_path, "before"))
    stale = ray_executor._kept[0]
    ray.shutdown()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    tried = []
    monkeypatch.setattr(ray_executor, "_prepared", lambda pool, config: tried.append(pool) or True)
    records = execute_run(_ray_config(tmp_path, "after"))
    assert len(records) == 4 and tried == [] and ray_executor._kept[0] is not stale


def test_an_abandoned_run_kills_its_actors_and_the_next_run_starts_new_ones(tmp_path, local_ray):
    execute_run(_ray_config(tmp_path, "warm"))
    before = _kept_pids()
    assert before

    def stop_button(record, done, total):
        raise KeyboardInterrupt  # Ctrl+C, or Streamlit's Stop, raised from a callback with conversations in flight

    with pytest.raises(KeyboardInterrupt):
        execute_run(_ray_config(tmp_path, "abandoned"), on_result=stop_button)
    assert ray_executor._kept == []  # not given back: a conversation may still be playing on those actors
    records = execute_run(_ray_config(tmp_path, "abandoned").model_copy(update={"resume": True}))
    assert len(records) == 4 and not any(r.error for r in records)
    assert set(_kept_pids()).isdisjoint(before)


def test_a_kept_pool_with_a_dead_actor_is_replaced(tmp_path, local_ray):
    execute_run(_ray_config(tmp_path, "warm"))
    ray.kill(ray_executor._kept[0].actors[0])  # a node lost, or an actor out of memory, while kept
    records = execute_run(_ray_config(tmp_path, "after"))
    assert len(records) == 4 and not any(r.error for r in records)


def test_actors_that_cannot_start_give_one_line_and_no_record(tmp_path, local_ray, monkeypatch):
    ray_executor.close_kept_pool()

    def broken(self, config):
        raise RuntimeError("Traceback ...\nModuleNotFoundError: No module named 'langchain'")

    monkeypatch.setattr(ray_executor.RayPool, "prepare", broken)
    with pytest.raises(RetentionLabError, match=r"the actors could not start \(ModuleNotFoundError: No module named"):
        execute_run(_ray_config(tmp_path, "broken"))
    assert not (tmp_path / "broken" / "results.jsonl").read_text(encoding="utf-8")


class _SlowStart:
    """Holds the actors' start until the driver has played `first` conversations, waits for the lease to end (ready
    or failed), then counts where each of the other conversations plays."""

    def __init__(self, monkeypatch, first: int, broken: bool = False):
        self.first, self.broken = first, broken
        self.may_start = threading.Event()
        self.on_actors: list[str] = []
        prepare, play = ray_executor.RayPool.prepare, ray_executor.RayPool.play

        def slow_prepare(pool, config):
            assert self.may_start.wait(60)
            if self.broken:
                raise RuntimeError("ModuleNotFoundError: No module named 'langchain'")
            prepare(pool, config)

        async def counted_play(pool, key):
            self.on_actors.append(key)
            return await play(pool, key)

        monkeypatch.setattr(ray_executor, "PLAY_WHILE_ACTORS_START", True)
        monkeypatch.setattr(ray_executor.RayPool, "prepare", slow_prepare)
        monkeypatch.setattr(ray_executor.RayPool, "play", counted_play)

    def on_result(self, record, done, total):
        if done == self.first:
            self.may_start.set()
            (lease,) = [thread for thread in threading.enumerate() if thread.name == "ray-lease"]
            lease.join(60)  # the next conversation starts once the actors are ready, or the run knows they failed
            assert not lease.is_alive()


def test_while_the_actors_start_the_driver_plays_and_every_record_is_the_local_runs(tmp_path, local_ray, monkeypatch):
    ray_executor.close_kept_pool()
    personas = ["declines_everything", "discount_at_once", "holds_out_for_more", "picks_from_several_orders"]
    base = RunConfig(policies=[RETENTION], persona_ids=personas, trials=2, seed=5, cache_path=None, concurrency=1)
    local = {r.key: r.fingerprint for r in execute_run(base.model_copy(update={"out": tmp_path / "local"}))}
    start = _SlowStart(monkeypatch, first=3)
    config = base.model_copy(update={"out": tmp_path / "ray", "executor": "ray"})
    played = {r.key: r.fingerprint for r in execute_run(config, on_result=start.on_result)}
    assert played == local and len(played) == 8
    assert len(start.on_actors) == 5  # the driver played the first 3, the actors every one after
    assert len(ray_executor._kept) == 1  # a clean run gives its actors back, as when they played every conversation


def test_actors_that_fail_to_start_while_the_driver_plays_leave_it_the_run_and_say_why(
    tmp_path, local_ray, monkeypatch, caplog
):
    ray_executor.close_kept_pool()
    start = _SlowStart(monkeypatch, first=1, broken=True)
    config = _ray_config(tmp_path, "broken").model_copy(update={"concurrency": 1})
    records = execute_run(config, on_result=start.on_result)
    assert len(records) == 4 and not any(r.error for r in records) and start.on_actors == []
    assert "the actors could not start (ModuleNotFoundError: No module named 'langchain')" in caplog.text
    assert "plays the rest of the run itself" in caplog.text
    assert ray_executor._kept == []


def test_a_run_stopped_while_its_actors_start_ends_at_once_and_they_are_kept_for_the_next(
    tmp_path, local_ray, monkeypatch
):
    ray_executor.close_kept_pool()
    start = _SlowStart(monkeypatch, first=99)

    def stop_button(record, done, total):
        raise KeyboardInterrupt  # Ctrl+C, or Streamlit's Stop, with the actors still starting

    with pytest.raises(KeyboardInterrupt):
        execute_run(_ray_config(tmp_path, "stopped"), on_result=stop_button)
    (lease,) = [thread for thread in threading.enumerate() if thread.name == "ray-lease"]
    assert lease.is_alive() and ray_executor._kept == []  # the run did not wait for its actors to start
    start.may_start.set()
    lease.join(60)
    assert len(ray_executor._kept) == 1 and start.on_actors == []  # they never held a conversation: kept
    records = execute_run(_ray_config(tmp_path, "stopped").model_copy(update={"resume": True}))
    assert len(records) == 4 and not any(r.error for r in records)


def test_the_driver_plays_only_without_a_named_cluster_shared_rate_limits_or_a_kept_pool(tmp_path, monkeypatch):
    monkeypatch.setattr(ray_executor, "PLAY_WHILE_ACTORS_START", True)
    monkeypatch.setattr(ray_executor, "_kept", [])
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    config = _ray_config(tmp_path, "run")
    assert ray_executor._driver_may_play(config)
    assert not ray_executor._driver_may_play(config.model_copy(update={"ray_address": "ray://head:10001"}))
    assert not ray_executor._driver_may_play(config.model_copy(update={"rpm": 60}))
    monkeypatch.setattr(ray_executor, "_kept", [_Pool()])  # a kept pool is ready in a moment: no competing with it
    assert not ray_executor._driver_may_play(config)
    monkeypatch.setattr(ray_executor, "_kept", [])
    monkeypatch.setenv("RAY_ADDRESS", "10.0.0.5:6379")
    assert not ray_executor._driver_may_play(config)


def test_ray_started_from_a_thread_that_ends_keeps_running():
    # Ray's own processes die with the thread that started them (PR_SET_PDEATHSIG): a run's lease thread, or the
    # app's script thread, ends long before the process does
    script = (
        "import threading, time, ray\n"
        "from evals.running.ray_executor import _connect\n"
        "lease = threading.Thread(target=_connect, args=(None,))\n"
        "lease.start(); lease.join(); time.sleep(1)\n"
        "print('answer', ray.get(ray.remote(lambda: 42).remote(), timeout=30))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}  # a Ray of its own, started by that thread
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env=env)  # fmt: skip
    assert done.returncode == 0 and "answer 42" in done.stdout, done.stderr[-500:]


def test_without_ray_installed_the_error_says_how_to_install_it(tmp_path):
    script = (
        "import builtins, sys\n"
        "real = builtins.__import__\n"
        "def no_ray(name, *a, **k):\n"
        "    if name == 'ray' or name.startswith('ray.'):\n"
        "        raise ImportError('No module named ray')\n"
        "    return real(name, *a, **k)\n"
        "builtins.__import__ = no_ray\n"
        "from evals.cli import main\n"
        f"sys.exit(main(['run', '--policy', {str(RETENTION)!r}, '--executor', 'ray', '--no-cache',"
        f" '--out', {str(tmp_path / 'run')!r}]))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "pip install -e '.[ray]'" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "run").exists()
