"""Chat lab speed: the server-side time of an offline chat turn, and the first render after the server starts.

    .venv/bin/python benchmarks/bench_chat.py [--rounds 8] [--against GIT_REV]

Targets: a turn on the offline model <= 150 ms server-side (issue 3); the first render with a new browser profile
<= 1.3x Streamlit's floor, and a first reply typed at once <= 0.6 s, both on a fresh server (issue 29).

"First render" is measured as a user meets it: the server is started afresh (`streamlit run app.py`, as
`make run` does), the browser is already running, and the clock runs from navigation to the chat input
being visible; the whole first screen (the sidebar and the world panel drawn too) is timed beside it, and so
is the time from the server's start, since the chat lab prepares its page and the agent before it serves.
Four kinds of visitor are timed, each as the first visitor of a fresh server:
  new browser profile   an empty HTTP cache: the browser fetches and compiles Streamlit's whole frontend
  returning browser     a profile that has opened the app before (Streamlit's assets are cached as immutable)
  Streamlit floor       a new profile on `streamlit_floor_app.py` (a title and a chat input): Streamlit's own cost
  without the warm-up   a new profile on app.py served by Streamlit's classic server (serve_without_warm_up.py)
With --against, the first render is also compared, paired by round, with app.py at another git revision
(checked out in a temporary worktree), e.g. `--against HEAD~3` to see what a change did.
The first reply is timed too: the new visitor's first message, from Enter to the agent's reply, typed at once
(even rounds) or after reading the page for a few seconds (odd rounds).
"""

from __future__ import annotations

import argparse
import functools
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from agent.conversation import Conversation  # noqa: E402
from agent.policy.compiled import compile_policy_file  # noqa: E402
from tests.test_browser import CHROMIUM, CHROMIUM_ARGS, free_port, start_app, wait_for_health  # noqa: E402

LINES = ["Hi, I want to cancel my order", "Could you do 15%?", "thanks"]
FLOOR_APP = ROOT / "benchmarks" / "streamlit_floor_app.py"
NO_WARM_UP_SERVER = ROOT / "benchmarks" / "serve_without_warm_up.py"
CHAT_INPUT = "stChatInputTextArea"
LAST_DRAWN = ("ticket message(s)", "Reset conversation and world")  # the world panel's last line, the sidebar's
READING_PAUSE_S = 5.0  # every other round, the visitor reads the page for this long before typing


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


def start_without_warm_up(port: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, str(NO_WARM_UP_SERVER), str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def on_fresh_server(port: int, script: Path | None, visit: Callable[[str], None]) -> float:
    """Start `streamlit run script` (None: app.py without its warm-up), wait until healthy, run `visit(url)`.

    Returns the seconds from start to healthy."""
    started = time.perf_counter()
    process = start_app(port, script) if script else start_without_warm_up(port)
    try:
        wait_for_health(f"http://127.0.0.1:{port}/_stcore/health")
        healthy = time.perf_counter() - started
        visit(f"http://127.0.0.1:{port}")
        return healthy
    finally:
        process.terminate()
        process.wait(timeout=20)


def time_render(context, url: str) -> float:
    page = context.new_page()
    start = time.perf_counter()
    page.goto(url)
    page.get_by_test_id(CHAT_INPUT).wait_for(timeout=60_000)
    elapsed = time.perf_counter() - start
    page.close()
    return elapsed


def time_first_reply(context, url: str, pause_s: float) -> tuple[float, float, float]:
    """(seconds to the chat input, seconds to the whole first screen, seconds from Enter to the agent's reply) for
    a new visitor who types after `pause_s`."""
    page = context.new_page()
    start = time.perf_counter()
    page.goto(url)
    box = page.get_by_test_id(CHAT_INPUT)
    box.wait_for(timeout=60_000)
    rendered = time.perf_counter() - start
    for last_drawn in LAST_DRAWN:
        page.get_by_text(last_drawn).first.wait_for(timeout=60_000)
    whole = time.perf_counter() - start
    page.wait_for_timeout(pause_s * 1000)
    box.fill(LINES[0])
    sent = time.perf_counter()
    box.press("Enter")
    page.get_by_text("Before I cancel order").wait_for(timeout=60_000)
    replied = time.perf_counter() - sent
    page.close()
    return rendered, whole, replied


def visit_as_new_visitor(browser, figures: dict[str, list[float]], pause_s: float, url: str) -> None:
    context = browser.new_context()
    rendered, whole, replied = time_first_reply(context, url, pause_s)
    figures["new"].append(rendered)
    figures["whole"].append(whole)
    figures["reply_after_pause" if pause_s else "reply_at_once"].append(replied)
    context.close()


def visit_new_profile(browser, into: list[float], url: str) -> None:
    context = browser.new_context()
    into.append(time_render(context, url))
    context.close()


def first_render_rounds(rounds: int) -> dict[str, list[float]]:
    from playwright.sync_api import sync_playwright

    port = free_port()  # one origin for every round, so the returning profile's cache applies
    figures: dict[str, list[float]] = {
        k: []
        for k in (
            "healthy",
            "floor_healthy",
            "new",
            "whole",
            "returning",
            "floor",
            "no_warm_up",
            "reply_at_once",
            "reply_after_pause",
        )  # fmt: skip
    }
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        browser.new_page().goto("about:blank")  # the user's browser is already running
        returning = browser.new_context()
        on_fresh_server(port, ROOT / "app.py", lambda url: time_render(returning, url))  # the earlier visit
        for round_number in range(rounds):
            pause = READING_PAUSE_S if round_number % 2 else 0.0
            with_warm_up = functools.partial(visit_as_new_visitor, browser, figures, pause)
            without = functools.partial(visit_new_profile, browser, figures["no_warm_up"])
            pair = [(ROOT / "app.py", with_warm_up), (None, without)]
            for script, visit in pair if round_number % 2 else reversed(pair):  # alternate who goes first
                healthy = on_fresh_server(port, script, visit)
                if script:
                    figures["healthy"].append(healthy)
            on_fresh_server(port, ROOT / "app.py", lambda url: figures["returning"].append(time_render(returning, url)))
            healthy = on_fresh_server(port, FLOOR_APP, functools.partial(visit_new_profile, browser, figures["floor"]))
            figures["floor_healthy"].append(healthy)
        browser.close()
    return figures


def against_revision(rev: str, rounds: int) -> tuple[list[float], list[float]]:
    """(this tree's first renders, `rev`'s first renders), new browser profiles, alternating who goes first."""
    from playwright.sync_api import sync_playwright

    now: list[float] = []
    then: list[float] = []
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "tree"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "-q", "--detach", str(tree), rev], check=True)
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
                browser.new_page().goto("about:blank")
                for round_number in range(rounds):
                    pair = [(ROOT / "app.py", now), (tree / "app.py", then)]
                    for script, into in pair if round_number % 2 else reversed(pair):
                        on_fresh_server(port, script, functools.partial(visit_new_profile, browser, into))
                browser.close()
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=True)
    return now, then


def spread(values: list[float]) -> str:
    return f"median {statistics.median(values):.2f} s (min {min(values):.2f}, max {max(values):.2f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=8, help="fresh server starts per visitor kind (default 8)")
    parser.add_argument("--against", metavar="GIT_REV", help="also compare the first render with this revision")
    args = parser.parse_args()
    times = turn_times()
    p95 = statistics.quantiles(times, n=20)[-1]
    print(
        f"offline chat turn, server side: median {statistics.median(times):.1f} ms, p95 {p95:.1f} ms, "
        f"max {max(times):.1f} ms over {len(times)} turns (target <= 150 ms)"
    )
    f = first_render_rounds(args.rounds)
    ratio = statistics.median(f["new"]) / statistics.median(f["floor"])
    print(f"server start -> healthy: {spread(f['healthy'])}; Streamlit floor {spread(f['floor_healthy'])}")
    print(f"first render, new browser profile:  {spread(f['new'])} (target <= 1.3x the floor)")
    print(f"  the whole first screen drawn:     {spread(f['whole'])}")
    print(f"first render, returning browser:    {spread(f['returning'])} (target <= 2 s)")
    print(f"Streamlit floor, new profile:       {spread(f['floor'])}; the chat lab takes {ratio:.2f}x the floor")
    from_start = [h + n for h, n in zip(f["healthy"], f["new"], strict=True)]
    floor_from_start = [h + n for h, n in zip(f["floor_healthy"], f["floor"], strict=True)]
    print(
        f"server start -> chat input, new profile: {spread(from_start)}; Streamlit floor {spread(floor_from_start)} "
        f"({statistics.median(from_start) / statistics.median(floor_from_start):.2f}x): the chat lab prepares its page "
        "and the agent before it serves"
    )
    gains = [without - with_ for without, with_ in zip(f["no_warm_up"], f["new"], strict=True)]
    print(
        f"same page without the warm-up:      {spread(f['no_warm_up'])}; paired by round, the warm-up saves "
        f"median {statistics.median(gains):.2f} s and is faster in {sum(g > 0 for g in gains)} of {len(gains)} rounds"
    )
    print(
        f"first reply on a fresh server, Enter -> reply visible, typed at once: {spread(f['reply_at_once'])} "
        "(target <= 0.6 s)"
    )
    print(f"  typed after reading the page for {READING_PAUSE_S:g} s: {spread(f['reply_after_pause'])}")
    if args.against:
        now, then = against_revision(args.against, args.rounds)
        saved = [t - n for n, t in zip(now, then, strict=True)]
        print(
            f"first render, new profile, this tree {spread(now)} against {args.against} {spread(then)}: paired, "
            f"median {statistics.median(saved):+.2f} s saved, faster in {sum(x > 0 for x in saved)} of {len(saved)}"
        )


if __name__ == "__main__":
    main()
