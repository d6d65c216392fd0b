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


def test_text_lint_and_compilation_see_a_neighbour_written_after_a_first_call(tmp_path):
    """Lint and compilation of edited text are cached per process, keyed on the neighbouring files too."""
    from agent.policy.compiled import compile_policy_text

    text = HEADER.format(name="p") + "Follow #Later_policy.\n"
    path = tmp_path / "p.md"
    assert any("#Later_policy: unknown policy" in p.message for p in lint_text(text, path))
    with pytest.raises(InputFileError):
        compile_policy_text(text, path)
    write(tmp_path, "later", "Be kind.\n", name="Later_policy")
    assert lint_text(text, path) == []
    assert [p.meta.name for p in compile_policy_text(text, path).included] == ["Later_policy"]


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
    problem = lint_paths([path])[0]
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


def write_wrapper_with_included_offers(folder, discount: int = 10):
    (folder / "wrapper.md").write_text(
        "---\nname: Wrapper_policy\nversion: 1\ndescription: offers live in another file\n"
        "limits:\n  max_discount_percent: 15\n---\n"
        "When a customer wants to cancel, make the offers in #Offer_block,\n"
        "then follow #Single_order_cancellation_policy.\n",
        encoding="utf-8",
    )
    (folder / "offer_block.md").write_text(
        "---\nname: Offer_block\nversion: 1\ndescription: the offers\nlimits:\n  max_discount_percent: 15\n---\n"
        f"- {discount}% off this order with @set_discount_to_order.\n"
        "- A 20% coupon for the next order with @create_future_coupon.\n",
        encoding="utf-8",
    )
    return folder / "wrapper.md"


def test_offers_from_an_included_policy_reach_every_reader_alike(tmp_path):
    """Linter, the chat lab's 'what the offline model reads', the offline model and the scorers share one plan."""
    from agent.conversation import Conversation
    from agent.policy.compiled import compile_policy_file
    from evals.running.config import RunConfig
    from evals.running.runner import execute_run
    from ui.lab import offer_plan_lines

    path = write_wrapper_with_included_offers(tmp_path)
    compiled = compile_policy_file(path)
    expected = [
        "1. discount via @set_discount_to_order (10%; offer_block.md:8)",
        "2. future_coupon via @create_future_coupon (20%; offer_block.md:9)",
    ]
    assert compiled.offer_plan.describe() == expected
    assert lint_text(path.read_text(), path) == []
    assert offer_plan_lines(path.read_text(), path) == expected
    convo = Conversation.start(compiled, 7)
    reply = convo.send("I want to cancel my order").reply
    assert "10% off this order" in reply and "20% coupon" in reply
    records = execute_run(
        RunConfig(policies=[path], persona_ids=["declines_everything"], trials=1, cache_path=None, out=tmp_path / "r")
    )
    scores = {s.name: s for s in records[0].scores}
    assert scores["adherence.offered_before_cancel"].passed is True, scores["adherence.offered_before_cancel"]


def test_an_included_offer_above_the_cap_is_flagged_in_the_included_file(tmp_path):
    path = write_wrapper_with_included_offers(tmp_path, discount=40)
    problems = lint_text(path.read_text(), path)
    assert [(Path(p.path).name, p.line) for p in problems] == [("offer_block.md", 8)]
    assert "40% discount" in problems[0].message
