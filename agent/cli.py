"""`python -m agent lint PATH...` and `python -m agent chat --policy FILE --customer ID`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, NoReturn

from pydantic import ValidationError

from agent.chat_settings import ChatSettings
from agent.errors import RetentionLabError
from agent.models.cache import default_cache_path
from agent.models.settings import ModelSettings
from agent.options import add_field_options, flag_of, values_from_args
from agent.policy.lint import errors_only, lint_paths
from agent.redact import redact


class OneLineParser(argparse.ArgumentParser):
    """argparse, with a bad argument reported in one line (no usage block) and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {message} (see: {self.prog} --help)\n")


def _lint(args: argparse.Namespace) -> int:
    problems = lint_paths([Path(p) for p in args.paths])
    for problem in problems:
        print(problem)
    errors = errors_only(problems)
    if not problems:
        print(f"ok: {len(args.paths)} path(s) checked, no problems")
    elif not errors:
        print(f"ok: {len(problems)} warning(s), no errors")
    return 1 if errors else 0


def _chat(args: argparse.Namespace) -> int:
    from agent.conversation import Conversation
    from agent.policy.compiled import compile_policy_file

    if args.state_out and (Path(args.state_out).is_dir() or not Path(args.state_out).parent.is_dir()):
        raise RetentionLabError(f"{args.state_out}: --state-out: must be a file in an existing folder (e.g. out.json)")
    settings = chat_settings(args)
    policy = compile_policy_file(args.policy)
    convo = Conversation.start(policy, args.customer, settings.model, step_limit=settings.step_limit)
    interactive = sys.stdin.isatty()
    print(
        f"[{policy.name} v{policy.main.meta.version} | customer {convo.world.customer.full_name} | "
        f"model {convo.model_label}] type your messages; Ctrl-D ends the chat",
        file=sys.stderr,
    )
    while True:
        if interactive:
            print("you> ", end="", flush=True, file=sys.stderr)
        line = sys.stdin.readline()
        if not line:
            break
        if not line.strip():
            continue
        turn = convo.send(line.strip())
        if not interactive:
            print(f"customer: {line.strip()}")
        for call in turn.tool_calls:
            mark = "ok" if call.ok else "ERROR"
            print(f"  [tool] {call.tool}({json.dumps(call.args, ensure_ascii=False)}) -> {mark}: {call.result[:160]}")
        print(f"agent: {turn.reply}")
    if args.state_out:
        try:
            Path(args.state_out).write_text(convo.export().model_dump_json(indent=2), encoding="utf-8")
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            fix = "the chat above is kept on screen; free space or pick another file"
            raise RetentionLabError(f"{args.state_out}: --state-out: {reason} ({fix})") from exc
        print(f"wrote {args.state_out}", file=sys.stderr)
    return 0


def _plan(args: argparse.Namespace) -> int:
    from agent.policy.compiled import compile_policy_file
    from agent.policy.plan_draft import plan_yaml, write_plan

    compiled = compile_policy_file(args.path)
    drafted = _model_plan(args, compiled) if args.plan_model else None
    if args.write:
        path = write_plan(compiled, drafted)
        print(f"wrote the drafted plan into {path}; check it with: python -m agent lint {args.path}")
        return 0
    print(plan_yaml(compiled, drafted, by=args.plan_model or "the rules"), end="")
    return 0


def _model_plan(args: argparse.Namespace, compiled: Any) -> Any:
    from agent.models.cache import DiskCache
    from agent.models.plan_reader import draft_plan_with_model

    try:
        settings = ModelSettings(spec=args.plan_model, base_url=args.base_url, timeout_s=args.timeout, max_retries=1)
    except ValidationError as exc:
        raise RetentionLabError(f"--timeout: {exc.errors()[0]['msg']} (got {args.timeout!r})") from exc
    if args.cache.exists() and not args.cache.is_file():
        raise RetentionLabError(f"{args.cache}: --cache: is a folder (give a file path, e.g. .cache/responses.sqlite)")
    drafted, error = draft_plan_with_model(compiled, settings, None if args.no_cache else DiskCache(args.cache))
    if drafted is None:
        raise RetentionLabError(f"--plan-model {args.plan_model}: no plan: {error}")
    return drafted


def chat_settings(args: argparse.Namespace) -> ChatSettings:
    """The chat's settings from its flags; a bad value is one line naming the flag."""
    try:
        return ChatSettings.model_validate(values_from_args(args, ChatSettings))
    except ValidationError as exc:
        first = exc.errors()[0]
        flag = flag_of(ChatSettings, first["loc"])
        message = first["msg"].removeprefix("Value error, ")
        raise RetentionLabError(f"{flag}: {message} (got {first.get('input')!r})") from exc


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="python -m agent", description="Retention Lab: policies and the agent.")
    sub = parser.add_subparsers(dest="command", required=True)
    lint = sub.add_parser(
        "lint", help="check policies; prints file:line: message; exits 1 on an error (warnings alone exit 0)"
    )
    lint.add_argument("paths", nargs="+", help="policy files or folders of them")
    lint.set_defaults(run=_lint)
    plan = sub.add_parser("plan", help="print the offer plan the lab acts on, as front-matter YAML with its lines")
    plan.add_argument("path", help="a policy file")
    plan.add_argument("--write", action="store_true", help="put the drafted plan into the file's front matter")
    plan.add_argument("--plan-model", default=None, help="a model drafts the plan instead of the rules (model string)")
    plan.add_argument("--base-url", default=None, help="an OpenAI-compatible server for --plan-model")
    plan.add_argument("--timeout", type=float, default=120.0, help="seconds the --plan-model call may take")
    plan.add_argument("--cache", type=Path, default=default_cache_path(), help="model response cache (SQLite file)")
    plan.add_argument("--no-cache", action="store_true", help="call the model even when the answer is cached")
    plan.set_defaults(run=_plan)
    chat = sub.add_parser("chat", help="chat as the customer in the terminal (reads lines from stdin)")
    chat.add_argument("--policy", required=True, help="policy markdown file, e.g. policies/retention_offers.md")
    chat.add_argument("--customer", required=True, type=int, help="customer id from fixtures/magento/customers.json")
    add_field_options(chat, ChatSettings)
    chat.add_argument("--state-out", help="write transcript, trace and final world state here as JSON")
    chat.set_defaults(run=_chat)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args))
    except (RetentionLabError, KeyError) as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"error: {redact(str(message))}", file=sys.stderr)
        return 2
    except OSError as exc:  # a full disk or a read-only folder: one line, never a traceback
        where = f"{exc.filename}: " if exc.filename else ""
        reason = exc.strerror or type(exc).__name__
        print(f"error: {where}{reason} (check the path, free space and write permission)", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
