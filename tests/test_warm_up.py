"""The chat lab's first render: app.py serves through an st.App that imports the page before the first visitor."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
from pathlib import Path

from streamlit.web.server.app_discovery import discover_asgi_app

from tests.conftest import ROOT
from ui import warm_up


def test_streamlit_run_app_py_serves_through_the_warm_up_app():
    found = discover_asgi_app(ROOT / "app.py")
    assert found.is_asgi_app and found.import_string == "app:app"


def test_the_page_and_the_linter_do_not_import_langchain():
    """The first render imports the page, lints the policy and reads its offers: none of that needs LangChain."""
    code = (
        "import sys\n"
        "import ui.chat_lab\n"
        "from ui.lab import offer_plan_lines\n"
        "from agent.policy.lint import lint_text\n"
        "from pathlib import Path\n"
        "path = Path('policies/retention_offers.md')\n"
        "assert lint_text(path.read_text(), path) == []\n"
        "assert offer_plan_lines(path.read_text(), path)\n"
        "print(sorted({m.split('.')[0] for m in sys.modules if m.startswith(('langchain', 'langgraph'))}))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_import_all_goes_on_past_a_broken_module(tmp_path: Path, monkeypatch):
    (tmp_path / "warm_ok_module.py").write_text("LOADED = True\n")
    (tmp_path / "warm_broken_module.py").write_text("raise RuntimeError('broken on purpose')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    warm_up.import_all(("warm_broken_module", "warm_ok_module"))
    assert sys.modules["warm_ok_module"].LOADED is True
    assert "warm_broken_module" not in sys.modules


def test_each_module_group_is_warmed_once_per_process(monkeypatch):
    calls: list[tuple[str, ...]] = []
    done = threading.Event()

    def record(modules: tuple[str, ...]) -> None:
        calls.append(modules)
        done.set()

    monkeypatch.setattr(warm_up, "import_all", record)
    monkeypatch.setattr(warm_up, "_started", set())
    group = ("json",)
    warm_up.warm_up_in_background(group)
    warm_up.warm_up_in_background(group)
    assert done.wait(10)
    assert calls == [group]


def test_the_lifespan_prepares_the_page_and_the_agent_before_serving(monkeypatch):
    """Before the first request: the page, its first run's shared work and the agent stack behind the first reply."""
    done: list[str] = []
    monkeypatch.setattr(warm_up, "prepare_first_page", lambda: done.append("page"))
    monkeypatch.setattr(warm_up, "import_all", lambda modules: done.append(",".join(modules)))

    async def serve() -> None:
        async with warm_up.warm_up_imports(app=None):
            assert done == ["page", ",".join(warm_up.AGENT_MODULES)]

    asyncio.run(serve())


def test_preparing_the_first_page_compiles_and_lints_the_policy_the_lab_opens_on():
    """The first visitor's run finds the default policy parsed, compiled and linted (cached per process)."""
    from agent.policy.compiled import _compiled_text
    from agent.policy.lint import _lint_text

    _compiled_text.cache_clear()
    _lint_text.cache_clear()
    warm_up.prepare_first_page()
    assert _compiled_text.cache_info().currsize >= 1 and _lint_text.cache_info().currsize >= 1
