"""Policy loading, references, compilation and the linter."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from agent.errors import InputFileError
from agent.policy.compiled import compile_policy_file
from agent.policy.document import load_policy
from agent.policy.lint import lint_paths, lint_text
from tests.conftest import POLICIES, ROOT

HEADER = "---\nname: {name}\nversion: 1.0.0\ndescription: test\nlimits:\n  max_discount_percent: 15\n---\n"


def write(folder: Path, stem: str, body: str, name: str | None = None) -> Path:
    path = folder / f"{stem}.md"
    path.write_text(HEADER.format(name=name or stem) + body, encoding="utf-8")
    return path


def test_shipped_policies_are_clean():
    assert lint_paths([POLICIES]) == []


def test_compiled_prompt_includes_the_referenced_policy():
    compiled = compile_policy_file(POLICIES / "retention_offers.md")
    assert [p.meta.name for p in compiled.included] == ["Single_order_cancellation_policy"]
    from agent.store.fixtures import default_fixtures

    prompt = compiled.system_prompt(default_fixtures().customers[1], 90001)
    assert "Referenced policy: #Single_order_cancellation_policy" in prompt
    assert "Maria Garcia" in prompt and "largest discount you may give is 15%" in prompt


def test_unknown_tool_is_reported_with_its_line(tmp_path):
    path = write(tmp_path, "p", "# Title\n\nOffer it with @no_such_tool.\n")
    problems = lint_paths([path])
    assert [(p.line, p.message.split(":")[0]) for p in problems] == [(10, "@no_such_tool")]


def test_unknown_policy_reference(tmp_path):
    path = write(tmp_path, "p", "Follow #Missing_policy.\n")
    [problem] = lint_paths([path])
    assert problem.line == 8 and "#Missing_policy: unknown policy" in problem.message


def test_reference_cycle_is_reported(tmp_path):
    a = write(tmp_path, "a", "See #b.\n")
    write(tmp_path, "b", "See #a.\n")
    problems = lint_paths([a])
    assert len(problems) == 1 and "reference cycle: a -> b -> a" in problems[0].message
    with pytest.raises(InputFileError, match="cycle"):
        compile_policy_file(a)


@pytest.mark.parametrize(
    "front,line,needle",
    [
        ("name: x\nversion: 1\n", 1, "description: Field required (add it"),
        ("name: x\nversion: 1\ndescription: d\nlimits:\n  max_discount_percent: 150\n", 6, "less than or equal to 100"),
        ("name: x\nversion: 1\ndescription: d\nlimits: {max_discount_percent: 10}\ncolour: red\n", 6, "colour"),
        ("name: [unclosed\n", 2, "not valid YAML"),
    ],
)
def test_bad_front_matter(tmp_path, front, line, needle):
    path = tmp_path / "bad.md"
    path.write_text(f"---\n{front}---\nbody\n", encoding="utf-8")
    [problem] = lint_paths([path])
    assert problem.line == line and needle in problem.message, problem
    with pytest.raises(InputFileError):
        load_policy(path)


def test_missing_front_matter(tmp_path):
    [problem] = lint_text("# just a heading\n", tmp_path / "x.md")
    assert problem.line == 1 and "front matter: missing" in problem.message


def test_discount_above_cap_is_reported(tmp_path):
    path = write(tmp_path, "p", "- A discount of 25% with @set_discount_to_order.\n")
    [problem] = lint_paths([path])
    assert problem.line == 8 and "25% discount" in problem.message


def run_lint(*paths: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "agent", "lint", *paths], cwd=ROOT, capture_output=True, text=True)


def test_lint_cli_exit_codes(tmp_path):
    assert run_lint("policies/").returncode == 0
    bad = write(tmp_path, "bad", "Use @no_such_tool here.\n")
    result = run_lint(str(bad))
    assert result.returncode == 1
    assert result.stdout.startswith(f"{bad}:8: @no_such_tool: unknown tool")
    assert "Traceback" not in result.stderr
