"""`--executor ray`: conversations played by Ray actors, on every core of this machine or across a cluster.

Each actor holds one model client, the run's reader, judge and customer voice, and plays many conversations at once
on its own event loop, each under the run's wall-clock limit. Records come back to the driver, which alone writes
results.jsonl, so resume, de-duplication and the reports work as with the local executor. Ray is an optional extra.

With no --ray-address (nor --rpm/--tpm to share out, nor a kept pool), the driver plays the first conversations
itself while Ray and the actors start (`PoolLease`): Ray's start is about 2 s, mostly waiting for its processes, and
an actor costs a worker process and the agent stack's imports (1-2 s of CPU each on two cores). A run that ends
cleanly gives its actors back (`lease_pool`, `give_back`), and the next run of the same process on the same cluster
and shape gets them: compare's arm B, or a later `run_eval` within `KEEP_IDLE_S` (then they are killed, and their
CPUs go back to the cluster). A run whose conversations were abandoned (Ctrl+C, Stop, an error) kills its actors, so
no later run meets a conversation still playing on them.
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import logging
import math
import os
from concurrent.futures import Future
from dataclasses import dataclass
from threading import Event, Lock, Thread, Timer
from typing import Any, NamedTuple

from agent.errors import RetentionLabError
from evals.running.config import RunConfig
from evals.running.driver import Holder
from evals.schema.records import ConversationRecord

LOG = logging.getLogger(__name__)
INSTALL_HINT = "--executor ray needs Ray, an optional extra: pip install -e '.[ray]' (or pip install 'ray>=2.9')"


def import_ray() -> Any:
    try:
        import ray
    except ImportError as exc:
        raise RetentionLabError(f"--executor: {INSTALL_HINT}") from exc
    return ray


@dataclass
class _RunState:
    """What an actor holds for the run it is lent to."""

    config: RunConfig
    jobs: dict[str, Any]
    cache: Any
    helpers: Any
    agents: Any


class ConversationWorker:
    """One Ray actor: plays the conversations of the run it is prepared for and returns their records as JSON."""

    def __init__(self) -> None:
        from evals.running import play  # noqa: F401  (the imports, once per actor rather than once per run)

        self.fixtures: Any = None
        self.run: _RunState | None = None

    def prepare(self, config_json: str) -> int:
        """Build the run's jobs, model client and helpers; returns this actor's pid (the pool's tests use it)."""
        from agent.agent_graph import AgentGraphs
        from agent.models.cache import DiskCache
        from evals.running.helpers import build_helpers
        from evals.running.limits import TrafficLimits
        from evals.running.planning import plan_jobs, run_fixtures
        from evals.running.play import build_model

        self.finish()
        config = RunConfig.model_validate_json(config_json)
        self.fixtures = run_fixtures(config)
        jobs, _, _ = plan_jobs(config, self.fixtures)
        cache = DiskCache(config.cache_path) if config.cache_path else None
        traffic = TrafficLimits(config.rpm, config.tpm)
        helpers = build_helpers(config, cache, traffic)
        agents = AgentGraphs(traffic.apply(build_model(config.model, cache)))
        self.run = _RunState(config, {job.key: job for job in jobs}, cache, helpers, agents)
        gc.freeze()  # what the run holds stays out of the collector's walks until it ends (heap.py)
        return os.getpid()

    def finish(self) -> None:
        """Drop the run's state (and close its cache), so the actor can serve the next run."""
        if self.run is None:
            return
        if self.run.cache is not None:
            self.run.cache.close()
        self.run = None
        gc.unfreeze()
        gc.collect()  # the run's own cycles, before the next run freezes what exists

    async def play(self, key: str) -> str:
        from evals.running.play import aplay_within_limit

        run = self.run
        if run is None:
            raise RuntimeError("the actor was not prepared for a run")
        job = run.jobs[key]
        record = await aplay_within_limit(job, run.config, self.fixtures, run.agents, run.cache, run.helpers, Holder())
        return record.model_dump_json()


class _NotFromTheMainThread(logging.Filter):
    """Ray warns that it sets no SIGTERM handler when started from another thread (a run's lease, the app's script
    thread): the process's own handling of SIGTERM is what the user expects there."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "SIGTERM handler is not set" not in record.getMessage()


def _connect(address: str | None) -> Any:
    """Ray, started (or joined) from a thread that lives as long as the process: Ray starts its own processes (its
    GCS, its raylet) with PR_SET_PDEATHSIG, so they are killed when the *thread* that started them ends, and a run's
    lease thread, or the app's script thread, ends long before the process does."""
    ray = import_ray()
    if ray.is_initialized():
        return ray
    started: Future[Any] = Future()
    Thread(target=_start_and_stay, args=(address, started), name="ray-start", daemon=True).start()
    return started.result()


def _start_and_stay(address: str | None, started: Future[Any]) -> None:
    try:
        ray = _init(address)
    except BaseException as exc:
        started.set_exception(exc)
        return
    started.set_result(ray)
    Event().wait()  # this thread's end would end Ray's processes: it waits for the process's end (it is a daemon)


def _init(address: str | None) -> Any:
    ray = import_ray()
    with _init_lock:
        if ray.is_initialized():
            return ray
        logging.getLogger("ray._private.worker").addFilter(_NOT_FROM_THE_MAIN_THREAD)
        # workers need the key and the server the driver uses; nothing else of the environment is sent
        env = {k: v for k in ("OPENAI_API_KEY", "OPENAI_BASE_URL") if (v := os.environ.get(k))}
        ray.init(address=address, include_dashboard=False, log_to_driver=False, configure_logging=False,
                 runtime_env={"env_vars": env} if env else None)  # fmt: skip
    return ray


_NOT_FROM_THE_MAIN_THREAD = _NotFromTheMainThread()
_init_lock = Lock()  # two runs of one process (the app's, a notebook's) must not both start Ray


class PoolShape(NamedTuple):
    """What a kept pool must match to serve a run: the same Ray session and job, and the same actors."""

    job_id: str
    node_id: str  # the driver's node: a new local cluster after ray.shutdown() reuses the first job id
    cpus: int
    per_actor: int  # conversations at once on each actor (Ray fixes it when the actor starts)


class RayPool:
    """One actor per CPU of the cluster, fed round-robin by the driver."""

    def __init__(self, shape: PoolShape) -> None:
        ray = import_ray()
        self.shape = shape
        remote = ray.remote(num_cpus=1, max_concurrency=shape.per_actor)(ConversationWorker)
        self.actors = [remote.remote() for _ in range(shape.cpus)]
        self._next = itertools.cycle(self.actors)
        self.cpus = shape.cpus
        self.pids: list[int] = []
        self.times_given_back = 0  # the idle timer of an earlier give_back must not kill the pool kept again since
        self.idle_timer: Timer | None = None

    def prepare(self, config: RunConfig) -> None:
        """Ready every actor for the run (waits for new actors to start)."""
        ray = import_ray()
        # --rpm and --tpm are the run's: each of the actors gets its share
        shared = {key: value / self.cpus for key in ("rpm", "tpm") if (value := getattr(config, key))}
        # the driver's cache file is not the workers' to share across machines: each actor opens the path locally
        actor_config = config.model_copy(update=shared).model_dump_json()
        self.pids = ray.get([actor.prepare.remote(actor_config) for actor in self.actors])

    async def play(self, key: str) -> ConversationRecord:
        actor = next(self._next)
        return ConversationRecord.model_validate_json(await actor.play.remote(key))

    def finish(self) -> None:
        import_ray().get([actor.finish.remote() for actor in self.actors])

    def stop_idle_timer(self) -> None:
        if self.idle_timer is not None:
            self.idle_timer.cancel()
            self.idle_timer = None

    def close(self) -> None:
        self.stop_idle_timer()
        ray = import_ray()
        for actor in self.actors:
            with contextlib.suppress(Exception):  # an actor of a cluster this process has left
                ray.kill(actor)


_kept: list[RayPool] = []  # at most one: a kept pool holds its CPUs, which another shape of pool may need
_kept_lock = Lock()
_leasing = 0  # runs of this process inside lease_pool: one may be waiting for the CPUs of a pool given back meanwhile
# A kept pool holds one CPU per actor on the cluster, which other jobs may be waiting for: it is killed after this long
# unused. Long enough for compare's arm B, or a script's next run; not so long that an idle notebook holds a cluster.
KEEP_IDLE_S = 60.0


# Tests turn this off to have the actors play every conversation of a run.
PLAY_WHILE_ACTORS_START = True


class PoolLease:
    """The Ray pool of one run. With no --ray-address it is leased on a thread, and until it is `ready` the driver
    plays conversations itself: Ray's start (about 2 s, mostly waiting for its processes) and the actors' imports are
    not a wait. If the actors cannot start, the driver plays the rest of the run and a warning says why. The pool is
    leased before the first conversation, as the only place they play, when the user names a cluster (the driver may
    not reach its model server), under --rpm/--tpm (shared out among the actors), when the caller cannot have the
    driver play (`driver_may_play`: another agent under test), or when a kept pool is waiting."""

    def __init__(self, config: RunConfig, driver_may_play: bool) -> None:
        self.ready: RayPool | None = None  # set once, by the lease's thread: then every new conversation goes to it
        self._lock = Lock()
        self._ended = False  # the run gave the lease back: a pool that arrives later has no run to serve
        if driver_may_play and _driver_may_play(config):
            Thread(target=self._lease, args=(config,), name="ray-lease", daemon=True).start()
        else:
            self.ready = lease_pool(config)

    def _lease(self, config: RunConfig) -> None:
        try:
            pool = lease_pool(config)
        except Exception as exc:
            reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
            LOG.warning("--executor ray: %s; this process plays the rest of the run itself", reason)
            return
        with self._lock:
            if not self._ended:
                self.ready = pool
                return
        give_back(pool, clean=True)  # the run ended before its actors were ready: they never held a conversation

    def give_back(self, clean: bool) -> None:
        """Keep or kill the run's actors (`give_back`); a lease still under way is not waited for (Ctrl+C, Stop and
        a run the driver finished alone end at once): its thread keeps the pool when it arrives."""
        with self._lock:
            self._ended = True
            pool = self.ready
        if pool is not None:
            give_back(pool, clean)


def _driver_may_play(config: RunConfig) -> bool:
    if not PLAY_WHILE_ACTORS_START or config.rpm or config.tpm:
        return False
    if config.ray_address is not None or os.environ.get("RAY_ADDRESS"):
        return False
    with _kept_lock:
        return not _kept  # a kept pool is ready in a moment: the driver's conversations would only compete with it


def lease_pool(config: RunConfig) -> RayPool:
    """A pool ready for `config`: the one the last clean run of the same shape gave back, or a new one."""
    global _leasing
    with _kept_lock:
        _leasing += 1
    try:
        return _lease(config)
    finally:
        with _kept_lock:
            _leasing -= 1


def _lease(config: RunConfig) -> RayPool:
    ray = _connect(config.ray_address)
    cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
    context = ray.get_runtime_context()
    shape = PoolShape(context.get_job_id(), context.get_node_id(), cpus, max(1, math.ceil(config.concurrency / cpus)))
    with _kept_lock:
        kept = _kept.pop() if _kept else None
    if kept is not None:
        kept.stop_idle_timer()
        if kept.shape == shape and _prepared(kept, config):
            return kept
        kept.close()
    pool = RayPool(shape)
    try:
        pool.prepare(config)
    except BaseException as exc:  # Ctrl+C while the actors start included: no actor is left holding a CPU
        pool.close()
        if not isinstance(exc, Exception):
            raise
        # e.g. a node without the project's packages: one line, not a record per conversation
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise RetentionLabError(f"--executor ray: the actors could not start ({reason})") from exc
    return pool


def _prepared(pool: RayPool, config: RunConfig) -> bool:
    """Ready a kept pool for the run; False if one of its actors died while kept (a node lost, out of memory)."""
    try:
        pool.prepare(config)
    except Exception:
        return False
    except BaseException:
        pool.close()
        raise
    return True


def give_back(pool: RayPool, clean: bool) -> None:
    """Keep the actors of a run that ended with nothing in flight for the next run; kill the others'."""
    keep = clean
    try:
        if keep:
            pool.finish()
    except Exception:  # an actor died during the run
        keep = False
    except BaseException:
        pool.close()
        raise
    with _kept_lock:
        keep = keep and _leasing == 0  # a run starting meanwhile may be waiting for these CPUs: free them
        if keep:
            for other in _kept:
                other.close()
            _kept[:] = [pool]
            pool.times_given_back += 1
            pool.idle_timer = Timer(KEEP_IDLE_S, _expire, args=(pool, pool.times_given_back))
            pool.idle_timer.daemon = True
            pool.idle_timer.start()
    if not keep:
        pool.close()


def _expire(pool: RayPool, given_back: int) -> None:
    with _kept_lock:
        if pool not in _kept or pool.times_given_back != given_back:
            return  # leased since (its next give_back started its own timer), or closed
        _kept.remove(pool)
    pool.close()


def close_kept_pool() -> None:
    """Kill the actors kept from the last clean run (their CPUs go back to the cluster)."""
    with _kept_lock:
        for pool in _kept:
            pool.close()
        _kept.clear()
