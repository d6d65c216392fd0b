"""The real page in headless Chromium (Debian's /usr/bin/chromium, driven by Playwright)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
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
pytestmark = [pytest.mark.browser, pytest.mark.slow]
RUNS = tempfile.mkdtemp(prefix="retention-lab-browser-runs-")  # runs the app makes in these tests stay out of runs/


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


def start_app(port: int, script: Path = ROOT / "app.py", env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
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
        env={
            **os.environ,
            "OPENAI_API_KEY": "",
            "RETENTION_LAB_RUNS": RUNS,
            "RETENTION_LAB_CACHE": f"{RUNS}/cache.sqlite",
            **(env or {}),
        },
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
    assert expected == ["Chat lab", "Evals", "A/B compare"]
    for path, heading in [("Evals", "Batch evals"), ("AB_compare", "A/B comparison")]:
        page.goto(f"{app_url}/{path}")
        page.get_by_role("heading", name=heading).wait_for(timeout=60_000)
        assert page.get_by_test_id("stException").count() == 0
        assert nav_labels(page) == expected


@pytest.fixture(scope="module")
def browser_for_more(page):
    """The module's browser (Playwright's sync API allows one driver per thread), for more pages."""
    return page.context.browser


def test_customer_text_is_plain_text_and_the_dark_theme_is_readable(browser_for_more, app_url):
    page = browser_for_more.new_page(viewport={"width": 1500, "height": 1100}, color_scheme="dark")
    page.goto(app_url)
    page.get_by_text("Chat lab").first.wait_for(timeout=60_000)
    send(page, "# Big heading\n![x](http://example.invalid/x.png) please cancel my order")
    page.get_by_text("Before I cancel order 000000101").wait_for(timeout=60_000)
    user = page.get_by_test_id("stChatMessage").first
    assert "# Big heading" in user.inner_text()
    assert user.locator("h1").count() == 0 and user.locator("img[src*='example.invalid']").count() == 0
    send(page, "I'll take the coupon")
    reply = page.get_by_text("Thank you for keeping your order")
    reply.wait_for(timeout=60_000)
    background = page.get_by_test_id("stApp").evaluate("e => getComputedStyle(e).backgroundColor")
    text = reply.evaluate("e => getComputedStyle(e).color")
    assert luminance(background) < 0.2, background  # the dark theme is on
    assert contrast(text, background) >= 4.5, (text, background)  # WCAG AA for body text
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "chat-lab-dark.png"), full_page=True)
    page.close()


def luminance(css_color: str) -> float:
    """WCAG relative luminance of an `rgb(...)`/`rgba(...)` colour."""
    channels = [int(float(v)) / 255 for v in css_color[css_color.index("(") + 1 : -1].split(",")[:3]]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(first: str, second: str) -> float:
    high, low = sorted((luminance(first), luminance(second)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_a_hostile_policy_version_fires_no_script_in_the_report(browser_for_more, tmp_path):
    """`<img src=x onerror=alert(1)>` as a policy's version, through `evals compare`, opened in Chromium."""
    for arm in ("a", "b"):
        text = (ROOT / "policies" / "retention_offers.md").read_text(encoding="utf-8")
        text = text.replace("version: 1.0.0", "version: '<img src=x onerror=alert(1)><script>alert(2)</script>'")
        (tmp_path / f"hostile_{arm}.md").write_text(text, encoding="utf-8")
    (tmp_path / "single_order_cancellation.md").write_text(
        (ROOT / "policies" / "single_order_cancellation.md").read_text(encoding="utf-8"), encoding="utf-8"
    )
    out = tmp_path / "ab"
    result = subprocess.run(
        [sys.executable, "-m", "evals", "compare", "--a", str(tmp_path / "hostile_a.md"), "--b",
         str(tmp_path / "hostile_b.md"), "--persona", "discount_at_once", "--trials", "1", "--no-cache",
         "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "<img src=x" not in (out / "report.md").read_text(encoding="utf-8")
    dialogs: list[str] = []
    page = browser_for_more.new_page()
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    for report in (out / "report.html", out / "arm_a" / "report.html"):
        page.goto(report.as_uri(), wait_until="load")  # an <img onerror> fires before the load event
        assert page.locator("img[src='x']").count() == 0  # the hostile tag is text, not an element
    page.close()
    assert dialogs == []


def test_stop_an_eval_then_resume_it(browser_for_more, app_url, tmp_path):
    """Stop between conversations leaves an unfinished, resumable run; Resume finishes it."""
    page = browser_for_more.new_page(viewport={"width": 1500, "height": 1400})
    page.goto(f"{app_url}/Evals")
    page.get_by_role("heading", name="Batch evals").wait_for(timeout=60_000)
    trials = page.get_by_role("spinbutton", name="Trials per persona")
    trials.fill("12")
    trials.press("Tab")
    page.get_by_test_id("stBaseButton-secondaryFormSubmit").or_(page.get_by_text("Run eval")).first.click()
    page.get_by_text("Evaluating:").first.wait_for(timeout=60_000)
    page.get_by_test_id("stMainBlockContainer").get_by_role("button", name="Stop").click()  # not the toolbar's
    page.get_by_text("This run is unfinished").wait_for(timeout=60_000)  # the Stop button's help says "resumed" too
    assert page.get_by_text("unfinished").count() >= 1
    page.wait_for_timeout(3_000)  # let the stopped script finish its last conversations and release the run
    page.get_by_role("button", name="Resume this run").click()
    page.get_by_text("Resuming:").first.wait_for(timeout=60_000)
    page.get_by_text("This run is unfinished").wait_for(state="detached", timeout=120_000)
    assert page.get_by_test_id("stException").count() == 0
    page.close()


HOSTILE = (
    "![img](http://evil.invalid/a.png) <img src=http://evil.invalid/b.png onerror=alert(1)> "
    '<script>alert(2)</script> [click](javascript:alert(3)) =HYPERLINK("http://evil.invalid") [/red]'
)


def hostile_run(root: Path) -> Path:
    """The example run, with hostile text in what models, users and backends write: errors, replies, the customer's
    words, the expectation's reason, scores' evidence and the policy's version."""
    import json
    import shutil

    run = root / "eval-hostile"
    shutil.copytree(ROOT / "docs" / "examples" / "eval_retention_offers", run)
    lines = (run / "results.jsonl").read_text(encoding="utf-8").splitlines()
    for n, line in enumerate(lines[:3]):
        record = json.loads(line)
        record["error"] = HOSTILE if n == 0 else None
        record["outcome"] = "error" if n == 0 else record["outcome"]
        for said in record["transcript"]:
            said["content"] = f"{said['content']} {HOSTILE}"
        record["expected"]["why"] = HOSTILE
        for score in record["scores"]:
            score["evidence"], score["passed"] = HOSTILE, False
        lines[n] = json.dumps(record)
    (run / "results.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    manifest = json.loads((run / "run.json").read_text(encoding="utf-8"))
    manifest["policies"][0]["version"] = HOSTILE
    (run / "run.json").write_text(json.dumps(manifest), encoding="utf-8")
    (run / "report.html").unlink()  # the page shows the run from its records; no stale report
    os.utime(run)  # the newest run: the page shows it first
    return run


def test_hostile_text_through_every_page_loads_nothing_remote_and_opens_no_dialog(browser_for_more, app_url):
    import shutil

    hostile_run(Path(RUNS))
    shutil.copytree(ROOT / "docs" / "examples" / "ab_shipping_first_vs_lean", Path(RUNS) / "compare-example",
                    dirs_exist_ok=True)  # fmt: skip
    page = browser_for_more.new_page(viewport={"width": 1500, "height": 1400})
    requests: list[str] = []
    dialogs: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(app_url)
    page.get_by_text("Chat lab").first.wait_for(timeout=60_000)
    send(page, f"cancel my order {HOSTILE}")
    page.get_by_text("Before I cancel order 000000101").wait_for(timeout=60_000)
    page.goto(f"{app_url}/Evals")
    page.get_by_role("heading", name="Batch evals").wait_for(timeout=60_000)
    page.get_by_text("Failures (").first.wait_for(timeout=60_000)
    page.get_by_text("Tool trace").first.wait_for(timeout=60_000)  # the first conversation (the error) is open
    page.wait_for_timeout(1500)
    assert page.get_by_test_id("stException").count() == 0
    assert page.locator("img[src*='evil.invalid']").count() == 0 and page.locator("a[href^='javascript']").count() == 0
    page.goto(f"{app_url}/AB_compare")
    page.get_by_role("heading", name="A/B comparison").wait_for(timeout=60_000)
    page.wait_for_timeout(1500)
    page.close()
    remote = [u for u in requests if not u.startswith(("http://127.0.0.1", "data:", "about:", "blob:"))]
    assert remote == [] and dialogs == []


def test_the_ab_report_opens_a_flipped_pair_from_its_link_and_filters_pairs(browser_for_more):
    """The A/B report's flip table links open the pair side by side; the persona, outcome and rule filters hide the
    pairs that do not match (the shipped example: wants_a_swap flips in 5 of 5 trials, among others)."""
    report = ROOT / "docs" / "examples" / "ab_shipping_first_vs_lean" / "report.html"
    page = browser_for_more.new_page()
    page.goto(report.as_uri())
    pairs = page.locator("details.pair")
    total = pairs.count()
    assert total > 5 and page.locator("#f-count").inner_text() == f"{total} of {total} pairs"
    assert not page.locator("#flip-2").evaluate("d => d.open")
    page.locator("a[href='#flip-2']").click()
    assert page.locator("#flip-2").evaluate("d => d.open")
    assert page.locator("#flip-2 tr.diverge").count() == 1
    page.select_option("#f-persona", "wants_a_swap")
    assert page.locator("#f-count").inner_text() == f"5 of {total} pairs"
    visible = pairs.evaluate_all("ds => ds.filter(d => !d.hidden).map(d => d.dataset.persona)")
    assert visible == ["wants_a_swap"] * 5
    page.select_option("#f-outcome", "retained (swap)")
    assert page.locator("#f-count").inner_text() == f"5 of {total} pairs"
    page.select_option("#f-outcome", "retained (discount)")  # another persona's outcome
    assert page.locator("#f-count").inner_text() == f"0 of {total} pairs"
    page.close()


def test_lint_runs_as_the_policy_is_typed_before_the_editor_loses_focus(browser_for_more, app_url):
    page = browser_for_more.new_page(viewport={"width": 1500, "height": 1100})
    page.goto(app_url)
    page.get_by_text("Chat lab").first.wait_for(timeout=60_000)
    page.get_by_text("Policy: retention_offers.md").click()
    area = page.locator(".st-key-editor textarea")
    area.wait_for(timeout=30_000)
    page.get_by_text("No lint problems.").wait_for(timeout=30_000)
    area.click()
    area.press("Control+End")
    area.press_sequentially("\nAlso try @no_such_tool.", delay=20)
    page.get_by_text("unknown tool").first.wait_for(timeout=30_000)  # the text area still has the focus
    assert page.evaluate("document.activeElement && document.activeElement.tagName") == "TEXTAREA"
    assert "@no_such_tool" in area.input_value()  # the rerun left what was typed in place
    page.keyboard.press("Backspace")
    area.press_sequentially(" And more.", delay=20)
    assert area.input_value().endswith("And more.")
    page.close()


def test_a_chat_saved_as_a_test_customer_runs_on_the_evals_page_to_the_same_outcome(browser_for_more, tmp_path):
    personas, runs = tmp_path / "personas", tmp_path / "runs"
    personas.mkdir()
    port = free_port()
    process = start_app(port, env={"RETENTION_LAB_PERSONAS": str(personas), "RETENTION_LAB_RUNS": str(runs)})
    page = browser_for_more.new_page(viewport={"width": 1500, "height": 1300})
    try:
        wait_for_health(f"http://127.0.0.1:{port}/_stcore/health")
        page.goto(f"http://127.0.0.1:{port}")
        page.get_by_text("Chat lab").first.wait_for(timeout=60_000)
        send(page, "Hi, I want to cancel my order 000000101")
        page.get_by_text("Before I cancel order 000000101").wait_for(timeout=60_000)
        send(page, "Yes, I'll take the 10% discount")
        page.get_by_text("Thank you for keeping your order").wait_for(timeout=60_000)
        page.get_by_text("Save as test customer").click()
        page.get_by_role("button", name="Draft a test customer from this chat").click()
        page.get_by_role("button", name="Save test customer").wait_for(timeout=60_000)
        ARTIFACTS.mkdir(exist_ok=True)
        page.get_by_text("Expected under retention_offers").scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "save-test-customer.png"))
        page.get_by_role("button", name="Save test customer").click()
        page.get_by_text("the Evals page lists it as").wait_for(timeout=60_000)
        saved = list(personas.glob("*.yaml"))
        assert len(saved) == 1 and "outcome: retained" in saved[0].read_text()
        page.goto(f"http://127.0.0.1:{port}/Evals")
        page.get_by_role("heading", name="Batch evals").wait_for(timeout=60_000)
        page.get_by_role("button", name="Run eval").click()
        page.get_by_text("Finished:").wait_for(timeout=120_000)
        from evals.schema.records import read_results

        run = next(p for p in runs.iterdir() if (p / "results.jsonl").exists())
        records = read_results(run)
        assert {r.persona for r in records} == {saved[0].stem}
        assert all(r.outcome == "retained" and r.retained_offer == "discount" and r.correct for r in records)
    finally:
        page.close()
        process.terminate()
        process.wait(timeout=20)


def test_the_attack_report_fires_no_script_and_loads_nothing_remote(browser_for_more, tmp_path):
    """The attack suite's lines are hostile by design (a script tag, an image from a remote host): the report of a
    run where the agent gave in shows them as text."""
    from evals.reports.report import write_report
    from evals.running.config import RunConfig
    from evals.running.runner import execute_run
    from testing.giving_in_agent import giving_in_agent

    out = tmp_path / "attacks"
    config = RunConfig(policies=[ROOT / "policies" / "retention_offers.md"], suite="attacks", trials=1, out=out,
                       cache_path=None)  # fmt: skip
    with ThreadPoolExecutor(1) as pool:  # the run's event loop in its own thread: Playwright's runs in this one
        pool.submit(
            lambda: (execute_run(config, agent=giving_in_agent("prompt_injection")), write_report(out))
        ).result()
    dialogs: list[str] = []
    remote: list[str] = []
    page = browser_for_more.new_page()
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.on("request", lambda request: remote.append(request.url) if request.url.startswith("http") else None)
    page.goto((out / "report.html").as_uri(), wait_until="load")
    page.get_by_text("Under attack").first.wait_for(timeout=30_000)
    assert page.get_by_text("onerror", exact=False).count() >= 1  # shown as text
    assert (
        page.locator("img[src*='203.0.113.7']").count() == 0 and page.locator("script:has-text('owned')").count() == 0
    )
    page.close()
    assert dialogs == [] and remote == []
