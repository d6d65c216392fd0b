"""Eval speed and memory, each measured side by side in one run.

    .venv/bin/python benchmarks/bench_evals.py [--only overhead,concurrency,cache,memory]

Targets (issues 4 and 13):
  overhead     an offline eval's time per conversation <= 1.5x the bare create_agent loop over the same turns
  concurrency  64 conversations against an OpenAI-compatible stub with 200 ms latency: --concurrency 16 >= 14x faster
               than --concurrency 1; client CPU per model call with the plain ChatOpenAI and with LeanChatOpenAI
  ray          256 conversations against the same stub: --executor ray on every core at --concurrency 32 >= 24x faster
               than the local executor at --concurrency 1
  cache        a cached rerun of an unchanged eval makes 0 model calls and is >= 100x faster (sequential, same stub;
               issue 29), in process and as a whole `python -m evals run` command with its report
  memory       offline runs of about 2,000 and 20,000 conversations, report included: the 20,000 peaks under 400 MB RSS
               (issue 29), each run's peak measured on its own process (benchmarks/peak_rss.py)
"""

from __future__ import annotations

import argparse
import heapq
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from langchain.agents import create_agent  # noqa: E402
from langgraph.checkpoint.memory import InMemorySaver  # noqa: E402

from agent.models.offline.model import ReferenceChatModel  # noqa: E402
from agent.policy.compiled import compile_policy_file  # noqa: E402
from agent.store.fixtures import default_fixtures  # noqa: E402
from agent.store.world import World  # noqa: E402
from agent.tools.langchain import build_tools  # noqa: E402
from evals.running.config import RunConfig  # noqa: E402
from evals.running.runner import execute_run  # noqa: E402
from evals.running.scheduling import LongestFirst  # noqa: E402
from evals.schema.records import read_results  # noqa: E402

POLICY = ROOT / "policies" / "retention_offers.md"
STUB_PERSONAS = (
    "discount_at_once",
    "holds_out_for_more",
    "takes_shipping_upgrade",
    "wants_a_swap",
    "declines_everything",
    "concern_about_offer",
    "shipped_order",
    "picks_from_several_orders",
)
PYTHON = sys.executable


def bare_loop(records) -> float:
    """Seconds to drive the bare create_agent loop through the same customer lines, with no evals machinery."""
    policy = compile_policy_file(POLICY)
    fixtures = default_fixtures()
    start = time.perf_counter()
    for record in records:
        world = World(fixtures, record.customer_id, policy.max_discount_percent)
        agent = create_agent(
            ReferenceChatModel().for_policy(policy.offer_plan, policy.max_discount_percent),
            build_tools(world),
            checkpointer=InMemorySaver(),
            system_prompt=policy.system_prompt(world.customer, world.gorgias.ticket.id),
        )
        config = {"configurable": {"thread_id": "bench"}, "recursion_limit": 24}
        for line in record.transcript[::2]:
            agent.invoke({"messages": [{"role": "user", "content": line.content}]}, config)
    return time.perf_counter() - start


def overhead() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        config = RunConfig(policies=[POLICY], trials=5, out=Path(tmp) / "run", cache_path=None, concurrency=1)
        start = time.perf_counter()
        execute_run(config)
        evals_s = time.perf_counter() - start
        records = read_results(config.out)  # full records: the bare loop replays their transcripts
    bare_s = bare_loop(records)
    n = len(records)
    print(
        f"overhead: {n} conversations; evals runner {evals_s / n * 1000:.1f} ms/conversation, bare create_agent "
        f"loop {bare_s / n * 1000:.1f} ms/conversation; ratio {evals_s / bare_s:.2f}x (target <= 1.5x)"
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_stub(latency_s: float) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen(
        [PYTHON, "-m", "testing.openai_stub", str(port), str(latency_s)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/v1"
    for _ in range(200):
        try:
            urllib.request.urlopen(f"{url}/chat/completions", timeout=1)
        except urllib.error.HTTPError:
            return process, url  # the server answers (501 for GET): it is up
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("stub did not start")


def stub_run(
    url: str, out: Path, concurrency: int, cache: Path | None, trials: int = 8, executor: str = "local"
) -> tuple[float, list]:
    from agent.models.settings import ModelSettings

    config = RunConfig(
        policies=[POLICY],
        persona_ids=list(STUB_PERSONAS),
        trials=trials,
        out=out,
        concurrency=concurrency,
        cache_path=cache,
        executor=executor,
        model=ModelSettings(spec="openai:stub", base_url=url, max_retries=0),
    )
    start = time.perf_counter()
    records = execute_run(config)
    return time.perf_counter() - start, records


def schedule_bound(records: list, concurrency: int, per_call_s: float) -> float:
    """Seconds the run would take at `concurrency` if every call took as long as it does at concurrency 1 (no
    contention for the client's CPU or the server's), with the runner's own order of starting conversations
    (`LongestFirst`, fed each finished conversation's time). `records` come from a --concurrency 1 run. Conversations
    of different lengths leave slots idle at the end, so this bounds the speed-up on this mix of conversations."""
    queue = LongestFirst(records, group=lambda r: (r.policy, r.persona))
    running: list[tuple[float, int, object]] = []
    now, started = 0.0, 0
    while True:
        while len(running) < concurrency and (record := queue.pop()) is not None:
            started += 1
            heapq.heappush(running, (now + record.model_calls * per_call_s, started, record))
        if not running:
            return now
        now, _, record = heapq.heappop(running)
        queue.finished(record, record.model_calls * per_call_s)


def concurrency_and_cache(run_cache: bool) -> None:
    os.environ.setdefault("OPENAI_API_KEY", "unused-by-the-stub")
    process, url = start_stub(0.2)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            tmp_path = Path(tmp)
            sequential, records = stub_run(url, tmp_path / "c1", 1, None)
            calls = sum(r.model_calls for r in records)
            bound = schedule_bound(records, 16, sequential / calls)
            with plain_chat_openai():
                cpu_before = time.process_time()
                stub_run(url, tmp_path / "plain", 16, None)
                plain_cpu = time.process_time() - cpu_before
            runs = []  # this machine is shared: the figure is the median of three runs, all printed
            for i in range(3):
                cpu_before = time.process_time()
                seconds, _ = stub_run(url, tmp_path / f"c16-{i}", 16, None)
                runs.append((seconds, time.process_time() - cpu_before))
            parallel, cpu = sorted(runs)[1]
            print(
                f"concurrency: {len(records)} conversations, {calls} model calls at 200 ms each, no cache; "
                f"--concurrency 1 {sequential:.1f} s, --concurrency 16 {parallel:.1f} s, the median of "
                f"{', '.join(f'{s:.1f}' for s, _ in runs)} s (floor from latency alone {calls * 0.2 / 16:.1f} s); "
                f"speed-up {sequential / parallel:.1f}x (target >= 14x); with no contention (every call as fast as at "
                f"--concurrency 1) this mix of conversation lengths would take {bound:.1f} s at --concurrency 16, a "
                f"ceiling of {sequential / bound:.1f}x\n"
                f"client CPU per model call at --concurrency 16: plain ChatOpenAI {plain_cpu / calls * 1000:.1f} ms, "
                f"LeanChatOpenAI {cpu / calls * 1000:.1f} ms ({plain_cpu / cpu:.2f}x less)"
            )
            if run_cache:
                cache = tmp_path / "cache.sqlite"
                stub_run(url, tmp_path / "fill", 16, cache)
                cached, again = stub_run(url, tmp_path / "rerun", 1, cache)
                command_s, start_s = cached_command(url, tmp_path, cache)
                print(
                    f"cache: rerun of the same eval made {sum(r.model_calls for r in again)} model calls and reused "
                    f"{sum(r.reused for r in again)} of {len(again)} conversations; --concurrency 1 took "
                    f"{sequential:.1f} s uncached and {cached:.2f} s cached: {sequential / cached:.0f}x "
                    f"(target 0 calls and >= 100x); as a command, `python -m evals run` {command_s:.2f} s with its "
                    f"report ({sequential / command_s:.0f}x), of which {start_s:.2f} s is the start-up (`--help`)"
                )
    finally:
        process.terminate()


def cached_command(url: str, tmp_path: Path, cache: Path) -> tuple[float, float]:
    """(seconds of a cached `python -m evals run` of the stub eval, report included; seconds of `--help`, the
    command's start-up), each the median of three runs in new processes."""
    personas = [flag for persona in STUB_PERSONAS for flag in ("--persona", persona)]
    run = [PYTHON, "-m", "evals", "run", "--policy", str(POLICY), *personas, "--trials", "8",
           "--model", "openai:stub", "--base-url", url, "--max-retries", "0", "--cache", str(cache)]  # fmt: skip
    timings = []
    for i in range(3):
        start = time.perf_counter()
        subprocess.run([*run, "--out", str(tmp_path / f"command-{i}")], cwd=ROOT, check=True, capture_output=True)
        middle = time.perf_counter()
        subprocess.run([PYTHON, "-m", "evals", "--help"], cwd=ROOT, check=True, capture_output=True)
        timings.append((middle - start, time.perf_counter() - middle))
    return sorted(t[0] for t in timings)[1], sorted(t[1] for t in timings)[1]


@contextmanager
def plain_chat_openai() -> Iterator[None]:
    """The client before the CPU cut: LeanChatOpenAI with ChatOpenAI's own tool binding and request payload."""
    from langchain_openai import ChatOpenAI

    from agent.models.openai_client import LeanChatOpenAI

    saved = LeanChatOpenAI.bind_tools, LeanChatOpenAI._get_request_payload
    LeanChatOpenAI.bind_tools, LeanChatOpenAI._get_request_payload = (  # type: ignore[method-assign]
        ChatOpenAI.bind_tools,
        ChatOpenAI._get_request_payload,
    )
    try:
        yield
    finally:
        LeanChatOpenAI.bind_tools, LeanChatOpenAI._get_request_payload = saved  # type: ignore[method-assign]


COLD_RUNS = 3


def ray_speedup() -> None:
    from evals.running.ray_executor import close_kept_pool

    os.environ.setdefault("OPENAI_API_KEY", "unused-by-the-stub")
    process, url = start_stub(0.2)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            tmp_path = Path(tmp)
            sequential, records = stub_run(url, tmp_path / "local1", 1, None, trials=32)
            import ray

            colds = []
            for i in range(COLD_RUNS):  # the machine is noisy: a cold start's figure is the median of several
                if i:
                    close_kept_pool()
                    ray.shutdown()  # the next run starts Ray again, as a new command does
                seconds, again = stub_run(url, tmp_path / f"ray32-{i}", 32, None, trials=32, executor="ray")
                colds.append(seconds)
            cold = sorted(colds)[len(colds) // 2]
            close_kept_pool()  # the next run starts its own actors, as a new command on a running cluster does
            fresh, on_new = stub_run(url, tmp_path / "ray32-fresh", 32, None, trials=32, executor="ray")
            kept, on_kept = stub_run(url, tmp_path / "ray32-kept", 32, None, trials=32, executor="ray")
            cpus = int(ray.cluster_resources().get("CPU", 0))
            local = {r.key: r.fingerprint for r in records}
            same = all({r.key: r.fingerprint for r in run} == local for run in (again, on_new, on_kept))
            bound = schedule_bound(records, 32, sequential / sum(r.model_calls for r in records))
            print(
                f"ray: {len(records)} conversations against the 200 ms stub; local --concurrency 1 {sequential:.0f} s; "
                f"--executor ray ({cpus} CPUs) --concurrency 32: {cold:.1f} s starting Ray "
                f"({sequential / cold:.1f}x, the median of {', '.join(f'{sequential / c:.1f}x' for c in colds)}), "
                f"{fresh:.1f} s on Ray already running with new actors, the driver playing while they start "
                f"({sequential / fresh:.1f}x; a command with --ray-address leaves every conversation to its actors), "
                f"{kept:.1f} s on the actors the last run of the process gave back, as compare's arm B does "
                f"({sequential / kept:.1f}x) (target >= 24x); ceiling with no contention {sequential / bound:.1f}x; "
                f"all three Ray runs wrote the local run's records: {same}"
            )
    finally:
        process.terminate()


PERSONAS = ROOT / "fixtures" / "personas"


def memory_of_run(conversations: int) -> tuple[int, float, float]:
    """(conversations run, seconds, peak RSS in MB) of `python -m evals run` on the offline model, report included, with
    enough trials of the shipped persona library for about `conversations`."""
    personas = len(list(PERSONAS.glob("*.yaml")))
    trials = max(1, round(conversations / personas))
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        command = [PYTHON, str(ROOT / "benchmarks" / "peak_rss.py"), "-m", "evals", "run", "--policy", str(POLICY),
                   "--trials", str(trials), "--concurrency", "4", "--out", str(out), "--no-cache"]  # fmt: skip
        start = time.perf_counter()
        result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
        elapsed = time.perf_counter() - start
        if result.returncode:
            raise SystemExit(result.stderr[-2000:])
        lines = len((out / "results.jsonl").read_text().splitlines())
    peak_mb = float(result.stdout.strip().splitlines()[-1])
    return lines, elapsed, peak_mb


def memory(sizes: list[int]) -> None:
    figures = [memory_of_run(size) for size in sizes]
    print(
        "memory: offline runs with their report (target < 400 MB at 20,000): "
        + "; ".join(f"{n} conversations in {s:.0f} s, peak RSS {mb:.0f} MB" for n, s, mb in figures)
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", default="overhead,concurrency,cache,ray,memory")
    parser.add_argument(
        "--memory-sizes", default="2000,20000", help="conversations per memory run, measured side by side"
    )
    args = parser.parse_args()
    chosen = set(args.only.split(","))
    if "overhead" in chosen:
        overhead()
    if chosen & {"concurrency", "cache"}:
        concurrency_and_cache("cache" in chosen)
    if "ray" in chosen:
        ray_speedup()
    if "memory" in chosen:
        memory([int(n) for n in args.memory_sizes.split(",")])


if __name__ == "__main__":
    main()
