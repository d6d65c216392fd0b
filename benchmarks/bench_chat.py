"""Chat lab speed: server-side time of an offline chat turn, and the app's first render.

    .venv/bin/python benchmarks/bench_chat.py

Targets (issue 3): a turn on the offline model <= 150 ms server-side; first render after `make run` <= 2 s.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from agent.conversation import Conversation  # noqa: E402
from agent.policy import compile_policy_file  # noqa: E402
from tests.test_browser import CHROMIUM, CHROMIUM_ARGS, free_port, start_app, wait_for_health  # noqa: E402

LINES = ["Hi, I want to cancel my order", "Could you do 15%?", "thanks"]


def turn_times(rounds: int = 30) -> list[float]:
    policy = compile_policy_file(ROOT / "policies" / "retention_offers.md")
    times = []
    for _ in range(rounds):
        convo = Conversation.start(policy, 1)
        for line in LINES:
            start = time.perf_counter()
            convo.send(line)
            times.append((time.perf_counter() - start) * 1000)
    return times


def first_render() -> tuple[float, float]:
    """(seconds from process start to health OK, seconds from navigation to the chat input being visible)."""
    from playwright.sync_api import sync_playwright

    port = free_port()
    started = time.perf_counter()
    process = start_app(port)
    try:
        wait_for_health(f"http://127.0.0.1:{port}/_stcore/health")
        healthy = time.perf_counter() - started
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            page = browser.new_page()
            nav = time.perf_counter()
            page.goto(f"http://127.0.0.1:{port}")
            page.get_by_test_id("stChatInputTextArea").wait_for(timeout=60_000)
            rendered = time.perf_counter() - nav
            browser.close()
        return healthy, rendered
    finally:
        process.terminate()
        process.wait(timeout=20)


def main() -> None:
    times = turn_times()
    p95 = statistics.quantiles(times, n=20)[-1]
    print(
        f"offline chat turn, server side: median {statistics.median(times):.1f} ms, p95 {p95:.1f} ms, "
        f"max {max(times):.1f} ms over {len(times)} turns (target <= 150 ms)"
    )
    healthy, rendered = first_render()
    print(
        f"app start: server healthy after {healthy:.2f} s; first render (navigation -> chat input visible) "
        f"{rendered:.2f} s; total {healthy + rendered:.2f} s (target: first render <= 2 s)"
    )


if __name__ == "__main__":
    main()
