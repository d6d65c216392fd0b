"""`--executor ray`: conversations played by Ray actors, on every core of this machine or across a cluster.

Each actor holds one model client, the run's reader, judge and customer voice, and plays many conversations at once
on its own event loop, each under the run's wall-clock limit. Records come back to the driver, which alone writes
results.jsonl, so resume, de-duplication and the reports work as with the local executor. Ray is an optional extra.
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import math
import os
from typing import Any

from agent.errors import RetentionLabError
from evals.running.config import RunConfig
from evals.running.driver import Holder
from evals.running.records import ConversationRecord

INSTALL_HINT = "--executor ray needs Ray, an optional extra: pip install -e '.[ray]' (or pip install 'ray>=2.9')"


def import_ray() -> Any:
    try:
        import ray
    except ImportError as exc:
        raise RetentionLabError(f"--executor: {INSTALL_HINT}") from exc
    return ray


class ConversationWorker:
    """One Ray actor: plays the conversations it is sent and returns their records as JSON."""

    def __init__(self, config_json: str) -> None:
        from agent.agent_graph import AgentGraphs
        from agent.store.fixtures import default_fixtures
        from evals.running.cache import DiskCache
        from evals.running.limits import TrafficLimits
        from evals.running.planning import plan_jobs
        from evals.running.play import build_helpers, build_model

        self.config = RunConfig.model_validate_json(config_json)
        self.fixtures = default_fixtures()
        jobs, _, _ = plan_jobs(self.config, self.fixtures)
        self.jobs = {job.key: job for job in jobs}
        self.cache = DiskCache(self.config.cache_path) if self.config.cache_path else None
        traffic = TrafficLimits(self.config.rpm, self.config.tpm)
        self.helpers = build_helpers(self.config, self.cache, traffic)
        self.agents = AgentGraphs(traffic.apply(build_model(self.config.model, self.cache)))
        gc.freeze()  # the actor lives for one run: what it holds now stays out of the collector's walks (heap.py)

    async def play(self, key: str) -> str:
        from evals.running.play import aplay, judged, over_time

        job, holder = self.jobs[key], Holder()
        timeout = self.config.conversation_timeout_s
        try:
            coroutine = aplay(job, self.config, self.fixtures, self.agents, self.cache, self.helpers, holder)
            record = await judged(await asyncio.wait_for(coroutine, timeout), self.helpers)
        except TimeoutError:
            record = over_time(job, self.config, self.fixtures, holder, timeout or 0)
        return record.model_dump_json()


class RayPool:
    """Actors spread over the cluster's CPUs, fed round-robin by the driver."""

    def __init__(self, config: RunConfig, address: str | None) -> None:
        ray = import_ray()
        if not ray.is_initialized():
            # workers need the key and the server the driver uses; nothing else of the environment is sent
            env = {k: v for k in ("OPENAI_API_KEY", "OPENAI_BASE_URL") if (v := os.environ.get(k))}
            ray.init(address=address, include_dashboard=False, log_to_driver=False, configure_logging=False,
                     runtime_env={"env_vars": env} if env else None)  # fmt: skip
        cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
        per_actor = max(1, math.ceil(config.concurrency / cpus))
        remote = ray.remote(num_cpus=1, max_concurrency=per_actor)(ConversationWorker)
        # --rpm and --tpm are the run's: each of the actors gets its share
        shared = {key: value / cpus for key in ("rpm", "tpm") if (value := getattr(config, key))}
        actor_config = config.model_copy(update=shared).model_dump_json()
        # the driver's cache file is not the workers' to share across machines: each actor opens the path locally
        self.actors = [remote.remote(actor_config) for _ in range(cpus)]
        self._next = itertools.cycle(self.actors)
        self.cpus = cpus

    async def play(self, key: str) -> ConversationRecord:
        actor = next(self._next)
        return ConversationRecord.model_validate_json(await actor.play.remote(key))

    def close(self) -> None:
        ray = import_ray()
        for actor in self.actors:
            ray.kill(actor)
