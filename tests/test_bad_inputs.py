"""Bad input gets one line naming the file or flag and the fix, a non-zero exit, no traceback and no partial output.

A table of broken policies, personas, data files and command-line arguments, each run as a user would run it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import POLICIES, ROOT

pytestmark = pytest.mark.slow  # subprocesses or Ray: `make test-fast` leaves them out

GOOD = POLICIES / "retention_offers.md"
PERSONA = (ROOT / "fixtures" / "personas" / "discount_at_once.yaml").read_text(encoding="utf-8")


def policy_with(tmp: Path, old: str, new: str, name: str = "broken.md", plan: tuple[str, str] | None = None) -> Path:
    """The good policy with `old` replaced by `new` (and, with `plan`, the same change made in its plan)."""
    text = GOOD.read_text(encoding="utf-8")
    assert old in text
    text = text.replace(old, new)
    if plan is not None:
        assert plan[0] in text
        text = text.replace(plan[0], plan[1], 1)
    (tmp / name).write_text(text, encoding="utf-8")
    shutil.copy(POLICIES / "single_order_cancellation.md", tmp / "single_order_cancellation.md")
    return tmp / name


def personas_with(tmp: Path, old: str, new: str) -> Path:
    folder = tmp / "personas"
    folder.mkdir(exist_ok=True)
    assert old in PERSONA
    (folder / "discount_at_once.yaml").write_text(PERSONA.replace(old, new), encoding="utf-8")
    return folder


def raw_file(tmp: Path, name: str, data: bytes) -> Path:
    (tmp / name).write_bytes(data)
    return tmp / name


RUN = ["evals", "run", "--trials", "1", "--no-cache"]
GENERATE = ["evals", "generate-personas", "--policy", str(GOOD)]


def tickets(tmp: Path, export: Path) -> list[str]:
    return ["evals", "import-tickets", str(export), "--out", str(tmp / "imported")]


def unknown_group(tmp: Path) -> Path:
    return policy_with(tmp, "      percent: 10\n", "      percent: 10\n      when: {customer_group: [Platinum]}\n")


CASES = [
    # (id, argv builder given tmp, text expected in the one line)
    ("trials too high", lambda t: [*RUN, "--policy", str(GOOD), "--trials", "1001"], "--trials"),
    ("trials zero", lambda t: [*RUN, "--policy", str(GOOD), "--trials", "0"], "--trials"),
    ("concurrency too high", lambda t: [*RUN, "--policy", str(GOOD), "--concurrency", "300"], "--concurrency"),
    ("concurrency zero", lambda t: [*RUN, "--policy", str(GOOD), "--concurrency", "0"], "--concurrency"),
    ("fault rate above 1", lambda t: [*RUN, "--policy", str(GOOD), "--fault-rate", "1.5"], "--fault-rate"),
    ("fault rate negative", lambda t: [*RUN, "--policy", str(GOOD), "--fault-rate", "-0.1"], "--fault-rate"),
    ("fault rate nan", lambda t: [*RUN, "--policy", str(GOOD), "--fault-rate", "nan"], "--fault-rate"),
    ("missing policy", lambda t: [*RUN, "--policy", str(t / "nope.md")], "no such file"),
    ("policy is a folder", lambda t: [*RUN, "--policy", str(POLICIES)], "--policy"),
    ("out is a file", lambda t: [*RUN, "--policy", str(GOOD), "--out", str(raw_file(t, "f.txt", b"x"))], "--out"),
    ("cache is a folder", lambda t: [*RUN, "--policy", str(GOOD), "--cache", str(t)], "--cache"),
    (
        "unknown tool",
        lambda t: [*RUN, "--policy", str(policy_with(t, "@upgrade_shipping", "@teleport"))],
        "unknown tool",
    ),
    (
        "offer above cap",
        lambda t: [
            *RUN,
            "--policy",
            str(policy_with(t, "go up to 15%", "go up to 40%", plan=("max_percent: 15", "max_percent: 40"))),
        ],  # fmt: skip
        "40% discount",
    ),
    (
        "unknown front-matter key",
        lambda t: [*RUN, "--policy", str(policy_with(t, "max_discount_percent: 15", "max_discount_pct: 15"))],
        "did you mean",
    ),
    ("no front matter", lambda t: [*RUN, "--policy", str(raw_file(t, "plain.md", b"# just text\n"))], "front matter"),
    (
        "front matter not closed",
        lambda t: [*RUN, "--policy", str(raw_file(t, "open.md", b"---\nname: x\n"))],
        "not closed",
    ),
    (
        "front matter not YAML",
        lambda t: [*RUN, "--policy", str(raw_file(t, "y.md", b"---\nname: [\n---\nbody\n"))],
        "not valid YAML",
    ),
    ("binary policy", lambda t: [*RUN, "--policy", str(raw_file(t, "bin.md", b"\xff\xfe\x00\x01garbage"))], "UTF-8"),
    (
        "unknown #policy",
        lambda t: [*RUN, "--policy", str(policy_with(t, "#Single_order_cancellation_policy", "#Nope_policy"))],
        "#Nope_policy",
    ),
    ("unknown persona", lambda t: [*RUN, "--policy", str(GOOD), "--persona", "nobody"], "unknown: nobody"),
    ("personas folder missing", lambda t: [*RUN, "--policy", str(GOOD), "--personas", str(t / "none")], "--personas"),
    (
        "persona with {foo}",
        lambda t: [*RUN, "--policy", str(GOOD), "--personas", str(personas_with(t, "{order}", "{foo}"))],
        "only {order} and {target}",
    ),
    (
        "persona with {0}",
        lambda t: [*RUN, "--policy", str(GOOD), "--personas", str(personas_with(t, "{order}", "{0}"))],
        "only {order} and {target}",
    ),
    (
        "persona with {order",
        lambda t: [*RUN, "--policy", str(GOOD), "--personas", str(personas_with(t, "{order}", "{order"))],
        "stray brace",
    ),
    (
        "persona reading attributes",
        lambda t: [
            *RUN,
            "--policy",
            str(GOOD),
            "--personas",
            str(personas_with(t, "{order}", "{order.__class__.__mro__}")),
        ],
        "only {order} and {target}",
    ),
    (
        "persona accept above 1",
        lambda t: [*RUN, "--policy", str(GOOD), "--personas", str(personas_with(t, "accept: 1.0", "accept: 1.5"))],
        "accept",
    ),
    (
        "persona of another customer",
        lambda t: [
            *RUN,
            "--policy",
            str(GOOD),
            "--personas",
            str(personas_with(t, "customer_id: 1", "customer_id: 2")),
        ],
        "not an order of customer 2",
    ),
    (
        "persona unknown customer",
        lambda t: [
            *RUN,
            "--policy",
            str(GOOD),
            "--personas",
            str(personas_with(t, "customer_id: 1", "customer_id: 999")),
        ],
        "customer_id",
    ),
    (
        "persona not YAML",
        lambda t: [*RUN, "--policy", str(GOOD), "--personas", str(personas_with(t, "title:", "title: [\n"))],
        "not valid YAML",
    ),
    (
        "persona unknown field",
        lambda t: [*RUN, "--policy", str(GOOD), "--personas", str(personas_with(t, "title:", "colour: red\ntitle:"))],
        "colour",
    ),
    ("unknown model", lambda t: [*RUN, "--policy", str(GOOD), "--model", "claude"], "unknown model"),
    (
        "openai without key",
        lambda t: [*RUN, "--policy", str(GOOD), "--model", "openai:gpt-x"],
        "OPENAI_API_KEY is not set",
    ),
    ("compare without b", lambda t: ["evals", "compare", "--a", str(GOOD), "--out", str(t / "ab")], "--a/--b"),
    (
        "compare a folder that is not a run",
        lambda t: ["evals", "compare", "--runs", str(t), str(t), "--out", str(t / "c")],
        "not a run folder",
    ),
    ("report of a folder that is not a run", lambda t: ["evals", "report", str(t)], "not a run folder"),
    (
        "report of a broken run.json",
        lambda t: ["evals", "report", str(raw_file(t, "run.json", b"{trunc").parent)],
        "is broken",
    ),
    ("lint a missing file", lambda t: ["agent", "lint", str(t / "nope.md")], "no such file"),
    ("lint a binary file", lambda t: ["agent", "lint", str(raw_file(t, "bin.md", b"\x00\xff\xfe"))], "UTF-8"),
    (
        "lint two policies with one name",
        lambda t: ["agent", "lint", str(policy_with(t, "start at 10%", "start at 11%", "copy.md")), str(GOOD)],
        "also used by",
    ),
    (
        "chat with an unknown customer",
        lambda t: ["agent", "chat", "--policy", str(GOOD), "--customer", "99"],
        "no customer 99",
    ),
    (
        "chat with a missing policy",
        lambda t: ["agent", "chat", "--policy", str(t / "x.md"), "--customer", "1"],
        "not found",
    ),
    (
        "chat state-out is a folder",
        lambda t: ["agent", "chat", "--policy", str(GOOD), "--customer", "1", "--state-out", str(t)],
        "--state-out",
    ),
    (
        "chat with an unknown model",
        lambda t: ["agent", "chat", "--policy", str(GOOD), "--customer", "1", "--model", "gpt"],
        "unknown model",
    ),
    # the run's limits and the models around the agent
    ("max cost negative", lambda t: [*RUN, "--policy", str(GOOD), "--max-cost", "-1"], "--max-cost"),
    ("max cost nan", lambda t: [*RUN, "--policy", str(GOOD), "--max-cost", "nan"], "--max-cost"),
    (
        "conversation timeout zero",
        lambda t: [*RUN, "--policy", str(GOOD), "--conversation-timeout", "0"],
        "--conversation-timeout",
    ),
    ("call timeout zero", lambda t: [*RUN, "--policy", str(GOOD), "--timeout", "0"], "--timeout"),
    ("max retries negative", lambda t: [*RUN, "--policy", str(GOOD), "--max-retries", "-1"], "--max-retries"),
    ("rpm zero", lambda t: [*RUN, "--policy", str(GOOD), "--rpm", "0"], "--rpm"),
    ("tpm negative", lambda t: [*RUN, "--policy", str(GOOD), "--tpm", "-5"], "--tpm"),
    ("judge samples zero", lambda t: [*RUN, "--policy", str(GOOD), "--judge-samples", "0"], "--judge-samples"),
    ("trials not a number", lambda t: [*RUN, "--policy", str(GOOD), "--trials", "many"], "--trials"),
    ("unknown executor", lambda t: [*RUN, "--policy", str(GOOD), "--executor", "spark"], "--executor"),
    ("offline model as reader", lambda t: [*RUN, "--policy", str(GOOD), "--reader", "offline"], "cannot read"),
    ("offline model as judge", lambda t: [*RUN, "--policy", str(GOOD), "--judge-model", "offline"], "cannot read"),
    (
        "offline model as customer",
        lambda t: [*RUN, "--policy", str(GOOD), "--customer-model", "offline"],
        "cannot read",
    ),
    ("unknown judge model", lambda t: [*RUN, "--policy", str(GOOD), "--judge-model", "claude"], "unknown model"),
    ("out cannot be written", lambda t: [*RUN, "--policy", str(GOOD), "--out", "/proc/retention-lab"], "--out"),
    (
        "persona voice with an unknown field",
        lambda t: [
            *RUN,
            "--policy",
            str(GOOD),
            "--personas",
            str(personas_with(t, "language: English}", "accent: x}")),
        ],
        "voice.accent",
    ),
    (
        "persona voice not a mapping",
        lambda t: [*RUN, "--policy", str(GOOD), "--personas", str(personas_with(t, "voice: {", "voice: loud\nx: {"))],
        "voice",
    ),
    ("read with the offline model", lambda t: ["evals", "read", "--reader", "offline", "--no-cache"], "cannot read"),
    ("read with a cache folder", lambda t: ["evals", "read", "--cache", str(t)], "--cache"),
    ("calibrate an unknown set", lambda t: ["evals", "calibrate", "--set", "everything"], "--set"),
    (
        "chat with a bad customer id",
        lambda t: ["agent", "chat", "--policy", str(GOOD), "--customer", "x"],
        "--customer",
    ),
    ("empty out", lambda t: [*RUN, "--policy", str(GOOD), "--out", ""], "--out"),
    ("negative max errors", lambda t: [*RUN, "--policy", str(GOOD), "--max-errors", "-1"], "--max-errors"),
    ("base url not a url", lambda t: [*RUN, "--policy", str(GOOD), "--base-url", "not a url"], "--base-url"),
    ("base url unclosed ipv6", lambda t: [*RUN, "--policy", str(GOOD), "--base-url", "http://[::1"], "--base-url"),
    ("base url ftp", lambda t: [*RUN, "--policy", str(GOOD), "--base-url", "ftp://example.invalid/v1"], "--base-url"),
    (
        "base url port out of range",
        lambda t: [*RUN, "--policy", str(GOOD), "--base-url", "http://127.0.0.1:99999999"],
        "--base-url",
    ),  # fmt: skip
    ("offline model with a name", lambda t: [*RUN, "--policy", str(GOOD), "--model", "offline:extra"], "--model"),
    (
        "the same persona twice",
        lambda t: [*RUN, "--policy", str(GOOD), "--persona", "discount_at_once", "--persona", "discount_at_once"],
        "more than once",
    ),  # fmt: skip
    (
        "cache is not sqlite",
        lambda t: [*RUN, "--policy", str(GOOD), "--cache", str(text_file(t, "c.sqlite"))],
        "not a response cache",
    ),  # fmt: skip
    (
        "cache under a file",
        lambda t: [*RUN, "--policy", str(GOOD), "--cache", str(text_file(t, "f") / "c.sqlite")],
        "under a file",
    ),  # fmt: skip
    ("policy is a pipe", lambda t: [*RUN, "--policy", str(fifo(t))], "not a regular file"),
    ("lint a pipe", lambda t: ["agent", "lint", str(fifo(t))], "not a regular file"),
    (
        "policy too large",
        lambda t: [*RUN, "--policy", str(policy_with(t, "## 1. Find the order", "x" * 250_000))],
        "200 KB",
    ),  # fmt: skip
    (
        "chat step limit zero",
        lambda t: ["agent", "chat", "--policy", str(GOOD), "--customer", "1", "--step-limit", "0"],
        "--step-limit",
    ),  # fmt: skip
    ("plan model offline", lambda t: ["agent", "plan", str(GOOD), "--plan-model", "offline"], "--plan-model"),
    ("rescore a folder that is not a run", lambda t: ["evals", "rescore", str(t)], "not a run folder"),
    (
        "rescore into the run itself",
        lambda t: [
            "evals",
            "rescore",
            str(ROOT / "docs" / "examples" / "eval_retention_offers"),
            "--out",
            str(ROOT / "docs" / "examples" / "eval_retention_offers"),
        ],
        "is the run itself",
    ),  # fmt: skip
    # --- run folders whose files are not what they should be
    (
        "report: results.jsonl is a folder",
        lambda t: ["evals", "report", run_copy(t, folder="results.jsonl")],
        "results.jsonl",
    ),
    ("report: run.json is a folder", lambda t: ["evals", "report", run_copy(t, folder="run.json")], "run.json"),
    (
        "rescore: results.jsonl is a folder",
        lambda t: ["evals", "rescore", run_copy(t, folder="results.jsonl"), "--out", str(t / "rescored")],
        "results.jsonl",
    ),  # fmt: skip
    ("report of a missing folder", lambda t: ["evals", "report", str(t / "nowhere")], "not a run folder"),
    ("rescore out is a file", lambda t: ["evals", "rescore", EXAMPLE_RUN, "--out", str(text_file(t, "f"))], "--out"),
    # --- numbers and names on the command line
    ("seed negative", lambda t: [*RUN, "--policy", str(GOOD), "--seed", "-1"], "--seed"),
    ("seed not a number", lambda t: [*RUN, "--policy", str(GOOD), "--seed", "abc"], "--seed"),
    ("call timeout negative", lambda t: [*RUN, "--policy", str(GOOD), "--timeout", "-5"], "--timeout"),
    ("model empty", lambda t: [*RUN, "--policy", str(GOOD), "--model", ""], "unknown model"),
    ("openai model without a name", lambda t: [*RUN, "--policy", str(GOOD), "--model", "openai:"], "model name"),
    ("max errors not a number", lambda t: [*RUN, "--policy", str(GOOD), "--max-errors", "abc"], "--max-errors"),
    ("concurrency not a number", lambda t: [*RUN, "--policy", str(GOOD), "--concurrency", "abc"], "--concurrency"),
    ("fault rate not a number", lambda t: [*RUN, "--policy", str(GOOD), "--fault-rate", "abc"], "--fault-rate"),
    ("judge samples too many", lambda t: [*RUN, "--policy", str(GOOD), "--judge-samples", "100"], "--judge-samples"),
    ("persona id empty", lambda t: [*RUN, "--policy", str(GOOD), "--persona", ""], "persona"),
    ("base url without a host", lambda t: [*RUN, "--policy", str(GOOD), "--base-url", "http://"], "--base-url"),
    (
        "base url with a space",
        lambda t: [*RUN, "--policy", str(GOOD), "--base-url", "http://exa mple.com/v1"],
        "--base-url",
    ),  # fmt: skip
    # --- persona folders
    ("personas is a file", lambda t: [*RUN, "--policy", str(GOOD), "--personas", str(text_file(t, "p"))], "persona"),
    ("personas folder empty", lambda t: [*RUN, "--policy", str(GOOD), "--personas", str(empty_dir(t))], "no *.yaml"),
    (
        "persona file empty",
        lambda t: [*RUN, "--policy", str(GOOD), "--personas", personas_with(t, PERSONA, "")],
        "mapping",
    ),
    (
        "persona file is a list",
        lambda t: [*RUN, "--policy", str(GOOD), "--personas", personas_with(t, PERSONA, "- a\n- b\n")],
        "mapping",
    ),  # fmt: skip
    # --- policies
    ("policy empty file", lambda t: [*RUN, "--policy", str(text_file(t, "empty.md", ""))], "front matter"),
    ("policy in UTF-16", lambda t: [*RUN, "--policy", str(utf16_policy(t))], "UTF-8"),
    ("policy version missing", lambda t: [*RUN, "--policy", str(policy_with(t, "version: 1.0.0\n", ""))], "version"),
    (
        "policy name with spaces",
        lambda t: [*RUN, "--policy", str(policy_with(t, "name: Retention_offers_policy", "name: Retention offers"))],
        "name",
    ),  # fmt: skip
    (
        "discount cap negative",
        lambda t: [*RUN, "--policy", str(policy_with(t, "max_discount_percent: 15", "max_discount_percent: -5"))],
        "max_discount_percent",
    ),  # fmt: skip
    (
        "discount cap above 100",
        lambda t: [*RUN, "--policy", str(policy_with(t, "max_discount_percent: 15", "max_discount_percent: 150"))],
        "max_discount_percent",
    ),  # fmt: skip
    (
        "discount cap in words",
        lambda t: [*RUN, "--policy", str(policy_with(t, "max_discount_percent: 15", "max_discount_percent: lots"))],
        "max_discount_percent",
    ),  # fmt: skip
    (
        "plan with an unknown kind",
        lambda t: [*RUN, "--policy", str(policy_with(t, "- kind: swap", "- kind: teleport"))],
        "kind",
    ),
    (
        "plan percent above 100",
        lambda t: [*RUN, "--policy", str(policy_with(t, "percent: 20", "percent: 120"))],
        "percent",
    ),
    (
        "plan maximum below its start",
        lambda t: [*RUN, "--policy", str(policy_with(t, "max_percent: 15", "max_percent: 5"))],
        "below percent",
    ),  # fmt: skip
    ("plan line past the end", lambda t: [*RUN, "--policy", str(policy_with(t, "line: 44", "line: 4400"))], "4400"),
    # --- the chat, plan and compare commands
    (
        "chat state-out under a file",
        lambda t: [
            "agent",
            "chat",
            "--policy",
            str(GOOD),
            "--customer",
            "1",
            "--state-out",
            str(text_file(t, "f") / "s.json"),
        ],
        "--state-out",
    ),  # fmt: skip
    (
        "chat negative customer",
        lambda t: ["agent", "chat", "--policy", str(GOOD), "--customer", "-1"],
        "no customer -1",
    ),
    (
        "chat timeout zero",
        lambda t: ["agent", "chat", "--policy", str(GOOD), "--customer", "1", "--timeout", "0"],
        "--timeout",
    ),
    (
        "chat step limit negative",
        lambda t: ["agent", "chat", "--policy", str(GOOD), "--customer", "1", "--step-limit", "-3"],
        "--step-limit",
    ),  # fmt: skip
    (
        "chat step limit not a number",
        lambda t: ["agent", "chat", "--policy", str(GOOD), "--customer", "1", "--step-limit", "abc"],
        "--step-limit",
    ),  # fmt: skip
    ("plan a missing file", lambda t: ["agent", "plan", str(t / "nope.md")], "not found"),
    ("plan a folder", lambda t: ["agent", "plan", str(t)], "is a folder"),
    ("plan with an unknown model", lambda t: ["agent", "plan", str(GOOD), "--plan-model", "nope"], "unknown model"),
    (
        "compare a missing policy",
        lambda t: ["evals", "compare", "--a", str(t / "nope.md"), "--b", str(GOOD), "--out", str(t / "out")],
        "no such file",
    ),  # fmt: skip
    (
        "compare zero trials",
        lambda t: ["evals", "compare", "--a", str(GOOD), "--b", str(GOOD), "--trials", "0", "--out", str(t / "out")],
        "--trials",
    ),  # fmt: skip
    ("read with an unknown reader", lambda t: ["evals", "read", "--reader", "nope"], "unknown model"),
    ("calibrate limit zero", lambda t: ["evals", "calibrate", "--limit", "0"], "--limit"),
    (
        "chat state-out on a full disk",
        lambda t: ["agent", "chat", "--policy", str(GOOD), "--customer", "1", "--state-out", "/dev/full"],
        "No space left",
    ),  # fmt: skip
    ("lint an empty file", lambda t: ["agent", "lint", str(text_file(t, "empty.md", ""))], "front matter"),
    ("lint a UTF-16 file", lambda t: ["agent", "lint", str(utf16_policy(t))], "UTF-8"),
    (
        "persona acceptance in words",
        lambda t: [*RUN, "--policy", str(GOOD), "--personas", personas_with(t, "accept: 1.0", "accept: often")],
        "accept",
    ),  # fmt: skip
    (
        "persona minimum percent negative",
        lambda t: [*RUN, "--policy", str(GOOD), "--personas", personas_with(t, "min_percent: 10", "min_percent: -10")],
        "min_percent",
    ),  # fmt: skip
    (
        "persona with no orders",
        lambda t: [*RUN, "--policy", str(GOOD), "--personas", personas_with(t, 'orders: ["000000101"]', "orders: []")],
        "orders",
    ),  # fmt: skip
    (
        "persona order not an order number",
        lambda t: [*RUN, "--policy", str(GOOD), "--personas", personas_with(t, '"000000101"]', '"abc"]')],
        "not an order of customer",
    ),  # fmt: skip
    (
        "plan pacing unknown",
        lambda t: [*RUN, "--policy", str(policy_with(t, "pacing: together", "pacing: sometimes"))],
        "pacing",
    ),
    (
        "plan hand-over on an unknown event",
        lambda t: [*RUN, "--policy", str(policy_with(t, "when: [concern, request]", "when: [weather]"))],
        "handover",
    ),  # fmt: skip
    (
        "plan stacking in words",
        lambda t: [*RUN, "--policy", str(policy_with(t, "stacking: false", "stacking: maybe"))],
        "stacking",
    ),
    (
        "plan excludes an unknown kind",
        lambda t: [*RUN, "--policy", str(policy_with(t, "excluded: []", "excluded: [teleport]"))],
        "excluded",
    ),
    (
        "value limit above 100",
        lambda t: [*RUN, "--policy", str(policy_with(t, "max_value_percent: 25", "max_value_percent: 200"))],
        "max_value_percent",
    ),  # fmt: skip
    ("unknown suite", lambda t: [*RUN, "--policy", str(GOOD), "--suite", "nope"], "--suite"),
    ("fixtures folder without magento", lambda t: [*RUN, "--policy", str(GOOD), "--fixtures", str(t)], "--fixtures"),
    ("plan names an unknown customer group", lambda t: [*RUN, "--policy", str(unknown_group(t))], "Platinum"),
    ("tickets file missing", lambda t: tickets(t, t / "no.json"), "no such file"),
    ("tickets file not json", lambda t: tickets(t, raw_file(t, "t.json", b"{oops")), "not JSON"),
    ("tickets without data", lambda t: tickets(t, raw_file(t, "t.json", b'{"meta": {}}')), "data"),
    ("tickets all unreadable", lambda t: tickets(t, raw_file(t, "t.json", b'[{"id": "x"}]')), "[0].id"),
    (
        "orders without items",
        lambda t: [*tickets(t, raw_file(t, "t.json", b"[]")), "--orders", str(raw_file(t, "o.json", b"{}"))],
        "items",
    ),  # fmt: skip
    ("generate with zero per branch", lambda t: [*GENERATE, "--per-branch", "0", "--out", str(t)], "--per-branch"),
    (
        "generate for a missing policy",
        lambda t: ["evals", "generate-personas", "--policy", str(t / "no.md"), "--out", str(t)],
        "not found",
    ),  # fmt: skip
]

EXAMPLE_RUN = str(ROOT / "docs" / "examples" / "eval_retention_offers")


def run_copy(tmp: Path, folder: str) -> str:
    """A copy of the example run with one of its files replaced by a folder of that name."""
    run = tmp / "run"
    shutil.copytree(EXAMPLE_RUN, run)
    (run / folder).unlink()
    (run / folder).mkdir()
    return str(run)


def empty_dir(tmp: Path) -> Path:
    (tmp / "empty").mkdir()
    return tmp / "empty"


def utf16_policy(tmp: Path) -> Path:
    (tmp / "utf16.md").write_bytes(GOOD.read_text(encoding="utf-8").encode("utf-16"))
    return tmp / "utf16.md"


def text_file(tmp: Path, name: str, text: str = "not what it should be\n") -> Path:
    (tmp / name).write_text(text, encoding="utf-8")
    return tmp / name


def fifo(tmp: Path) -> Path:
    os.mkfifo(tmp / "policy.md")
    return tmp / "policy.md"


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bad_input_gets_one_clear_line(tmp_path, case):
    _, build, needle = case
    out = tmp_path / "out"
    argv = build(tmp_path)
    if argv[:2] == ["evals", "run"] and "--out" not in argv:
        argv += ["--out", str(out)]
    result = subprocess.run(
        [sys.executable, "-m", *argv],
        cwd=ROOT,
        input="hello\n",
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    lines = [line for line in (result.stderr + result.stdout).strip().splitlines() if line.strip()]
    problem = [line for line in lines if needle in line]
    assert result.returncode != 0, lines
    assert "Traceback" not in result.stderr, result.stderr
    assert problem, lines
    if argv[:2] != ["agent", "lint"]:
        said = [line for line in result.stderr.strip().splitlines() if not line.startswith("[")]  # not the chat banner
        assert len(said) == 1, result.stderr
    assert not out.exists(), "a refused run must not leave an output folder"
