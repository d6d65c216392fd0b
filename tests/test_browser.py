"""The real page in headless Chromium (Debian's /usr/bin/chromium, driven by Playwright)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = ROOT / "artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
pytestmark = pytest.mark.browser


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_health(url: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"streamlit did not answer at {url}")


def start_app(port: int, script: Path = ROOT / "app.py") -> subprocess.Popen[bytes]:
    """`streamlit run` on loopback, as `make run` does (app.py serves through its st.App)."""
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(script),
            "--server.address",
            "127.0.0.1",
            "--server.port",
            str(port),
            "--server.headless",
            "true",
            "--browser.gatherUsageStats",
            "false",
            "--server.fileWatcherType",
            "none",
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "OPENAI_API_KEY": ""},
    )


@pytest.fixture(scope="module")
def app_url() -> Iterator[str]:
    port = free_port()
    process = start_app(port)
    try:
        wait_for_health(f"http://127.0.0.1:{port}/_stcore/health")
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=20)


@pytest.fixture(scope="module")
def page(app_url):
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs it (scripts/ensure-chromium.sh)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1500, "height": 1100})
        page.goto(app_url)
        yield page
        browser.close()


def send(page, text: str) -> None:
    box = page.get_by_test_id("stChatInputTextArea")
    box.fill(text)
    box.press("Enter")


def test_chat_in_a_real_browser(page):
    page.get_by_text("Chat lab").first.wait_for(timeout=60_000)
    send(page, "Hi, I want to cancel my order")
    page.get_by_text("Before I cancel order 000000101").wait_for(timeout=60_000)
    send(page, "Yes, I'll take the 10% discount")
    page.get_by_text("Thank you for keeping your order").wait_for(timeout=60_000)
    statuses = page.get_by_text("tool call(s):")
    assert statuses.count() >= 2
    assert page.get_by_text("set_discount_to_order").count() >= 1
    ARTIFACTS.mkdir(exist_ok=True)
    page.wait_for_timeout(500)
    page.screenshot(path=str(ARTIFACTS / "chat-lab.png"), full_page=True)
    assert (ARTIFACTS / "chat-lab.png").stat().st_size > 10_000


def nav_labels(page) -> list[str]:
    links = page.get_by_test_id("stSidebarNavLink")
    links.first.wait_for(timeout=60_000)
    return [links.nth(i).inner_text() for i in range(links.count())]


def test_the_other_pages_are_served_too(page, app_url):
    """app.py serves through an st.App (see ui/warm_up.py): the pages in pages/ must still be reachable, each with
    the same navigation as the chat lab (a direct link to a page must not get a different menu)."""
    page.goto(app_url)
    expected = nav_labels(page)
    assert expected == ["app", "Evals", "AB compare"]
    for path, heading in [("Evals", "Batch evals"), ("AB_compare", "A/B comparison")]:
        page.goto(f"{app_url}/{path}")
        page.get_by_role("heading", name=heading).wait_for(timeout=60_000)
        assert page.get_by_test_id("stException").count() == 0
        assert nav_labels(page) == expected
