"""The chat lab's view model: choices, the session object, the world panel's tables and diffs.

Kept out of the chat page (ui/chat_lab.py) so the page stays widgets only and this logic is testable without Streamlit.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.errors import InputFileError
from agent.models.settings import ModelSettings
from agent.policy.compiled import CompiledPolicy, compile_policy_text
from agent.policy.document import DEFAULT_POLICY_DIR
from agent.policy.lint import LintProblem, errors_only, lint_text
from agent.store.fixtures import FixtureSet, default_fixtures
from agent.store.world import World

if TYPE_CHECKING:  # the agent stack is imported on the first message, not on the first render
    from agent.conversation import Conversation, StreamEvent

SAFE_POLICY_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
DEFAULT_POLICY_FILE = "retention_offers.md"
ORDER_COLUMNS = ("order", "status", "discount %", "grand total", "shipping", "subtotal", "items")


MARKDOWN_SPECIALS = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~:$])")
IMAGE = re.compile(r"!\[")


def md_escape(value: object) -> str:
    """A value from a model, tool, customer or fixture, shown literally inside Streamlit markdown."""
    return MARKDOWN_SPECIALS.sub(r"\\\1", str(value))


def reply_markdown(text: str) -> str:
    """An agent reply keeps its markdown (lists, bold), but never loads a remote image or breaks into HTML."""
    return IMAGE.sub("!\\[", text).replace("<", "&lt;")


def policy_files(folder: Path = DEFAULT_POLICY_DIR) -> list[Path]:
    return sorted(folder.glob("*.md"))


def default_policy_index(paths: list[Path]) -> int:
    """The policy the chat lab opens on: the shipped retention policy when it is there, else the first file."""
    names = [p.name for p in paths]
    return names.index(DEFAULT_POLICY_FILE) if DEFAULT_POLICY_FILE in names else 0


def prepare_first_session() -> None:
    """Once per process, what the first visitor's page would otherwise wait for: read the fixtures and the policies
    folder, then compile and lint the policy the lab opens on (the linter's rules and patterns stay cached)."""
    paths = policy_files()
    if paths:
        lab = LabSession.open(paths[default_policy_index(paths)], min(default_fixtures().customers))
        lab.problems()
        lab.version_marker()
        lab.state()


def customer_label(fixtures: FixtureSet, customer_id: int) -> str:
    customer = fixtures.customers[customer_id]
    orders = fixtures.orders_of(customer_id)
    open_count = sum(o.is_cancellable for o in orders)
    return f"{customer.full_name} (#{customer_id}) - {len(orders)} orders, {open_count} open"


def order_rows(orders: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The world panel's order table, one row per order (works on snapshots and on fixture dumps)."""
    return [
        {
            "order": o["increment_id"],
            "status": o["status"],
            "discount %": o.get("discount_percent", 0.0),
            "grand total": o["grand_total"],
            "shipping": o["shipping_description"].split(" ")[0],
            "subtotal": o["subtotal"],
            "items": ", ".join(f"{i['qty_ordered']}x {i['name']}" for i in o["items"]),
        }
        for o in orders
    ]


def changed_cells(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> set[tuple[str, str]]:
    """(order, column) pairs whose value differs between two order tables."""
    old = {row["order"]: row for row in before}
    return {
        (row["order"], column)
        for row in after
        for column in ORDER_COLUMNS
        if row["order"] in old and old[row["order"]][column] != row[column]
    }


ORDER_FORMATS = {"discount %": "{:g}", "grand total": "{:.2f}", "subtotal": "{:.2f}"}


def cell_text(value: object) -> str:
    """A value on one line of a markdown table or list: escaped, its line breaks made spaces."""
    return md_escape(" ".join(str(value).split()))


def orders_table(rows: list[dict[str, Any]], changed: set[tuple[str, str]]) -> str:
    """The world panel's order table as markdown: every value escaped, the cells changed in the last turn
    highlighted (Streamlit's own colours, readable in both themes). A markdown table draws with the page's text;
    the interactive grid would make a new visitor wait for its code (docs/performance.md)."""
    if not rows:
        return "_No orders._"
    columns = [c for c in ORDER_COLUMNS if c != "items"]  # items go under the table: they would widen it past the panel
    lines = ["| " + " | ".join(columns) + " |", "|" + " --- |" * len(columns)]
    for row in rows:
        cells = []
        for column in columns:
            text = cell_text(ORDER_FORMATS.get(column, "{}").format(row[column]))
            cells.append(f":orange-background[**{text}**]" if (row["order"], column) in changed else text)
        lines.append("| " + " | ".join(cells) + " |")
    items = [f"**{cell_text(row['order'])}** {cell_text(row['items'])}" for row in rows]
    return "\n".join(lines) + "\n\nItems:  \n" + "  \n".join(items)


def new_items(before: list[Any], after: list[Any]) -> list[Any]:
    """Items appended since `before` (emails and ticket messages only ever grow)."""
    return after[len(before) :]


@lru_cache(maxsize=32)  # the chat page redraws on every interaction: the same text gives the same view
def plan_view(text: str, path: Path) -> tuple[str, str] | None:
    """("explicit" or "draft", the plan as front-matter YAML with its lines); None when the text does not compile."""
    from agent.policy.plan_draft import plan_yaml

    try:
        compiled = compile_policy_text(text, path)
        return ("explicit" if compiled.read_plan.explicit else "draft"), plan_yaml(compiled)
    except InputFileError:
        return None


def text_with_plan(text: str, path: Path) -> str | None:
    """`text` with its drafted plan in the front matter; None when it does not compile or has a plan already."""
    from agent.policy.plan_draft import with_plan

    try:
        return with_plan(compile_policy_text(text, path))
    except InputFileError:
        return None


def offer_plan_lines(text: str, path: Path) -> list[str]:
    """What the offline reference model reads from a policy text (saved at `path`): its offers, in order,
    included policies' offers too. Empty when the text does not compile."""
    try:
        return compile_policy_text(text, path).offer_plan.describe()
    except InputFileError:
        return []


def save_policy_as(text: str, name: str, folder: Path = DEFAULT_POLICY_DIR) -> Path:
    """Write `text` to `folder/name.md`. Refuses unsafe names, paths outside `folder`, existing files and a policy
    `name:` another policy in `folder` already has."""
    from agent.policy.copies import check_name_free
    from agent.policy.document import parse_policy

    stem = name.strip().removesuffix(".md")
    if not SAFE_POLICY_NAME.match(stem):
        raise InputFileError(
            name, "file name", "must be letters, digits, '-' or '_' (no folders)", "e.g. retention_offers_v2"
        )
    path = (folder / f"{stem}.md").resolve()
    if path.parent != folder.resolve():
        raise InputFileError(name, "file name", "would write outside policies/", "use a plain file name")
    if path.exists():
        raise InputFileError(path.name, "file name", "already exists", "choose another name; nothing was overwritten")
    check_name_free(parse_policy(text, path).meta.name, folder)
    path.write_text(text, encoding="utf-8")
    return path


def copy_identity(text: str) -> tuple[str, str]:
    """(name, version) as the front matter of `text` says them."""
    from agent.policy.document import parse_policy

    meta = parse_policy(text, DEFAULT_POLICY_DIR / "copy.md").meta
    return meta.name, meta.version


def with_identity(text: str, name: str, version: str) -> str:
    from agent.policy.copies import with_identity as renamed

    return renamed(text, name, version)


def proposed_copy(text: str, path: Path, folder: Path = DEFAULT_POLICY_DIR) -> tuple[str, str] | None:
    """(file stem, text renamed and re-versioned) for "Save as": a name no policy in `folder` has; None when the
    text does not parse."""
    from agent.policy.copies import propose_copy, with_identity
    from agent.policy.document import parse_policy

    try:
        meta = parse_policy(text, path).meta
    except InputFileError:
        return None
    copy = propose_copy(path.stem, meta.name, meta.version, folder)
    return copy.stem, with_identity(text, copy.name, copy.version)


@dataclass
class LabSession:
    """One chat lab session: the chosen policy text, customer and model, and the live conversation."""

    policy_path: Path
    policy_text: str
    customer_id: int
    model: ModelSettings = field(default_factory=ModelSettings)
    fixtures: FixtureSet = field(default_factory=default_fixtures)
    conversation: Conversation | None = None
    previous_state: dict[str, Any] | None = None

    @classmethod
    def open(cls, policy_path: Path, customer_id: int, model: ModelSettings | None = None) -> LabSession:
        return cls(policy_path, policy_path.read_text(encoding="utf-8"), customer_id, model or ModelSettings())

    def problems(self) -> list[LintProblem]:
        """The errors that stop the policy in use from running (warnings do not)."""
        return errors_only(lint_text(self.policy_text, self.policy_path))

    def file_text(self) -> str:
        try:
            return self.policy_path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return ""

    @property
    def edited(self) -> bool:
        """True when the version in use differs from the file it was opened from."""
        return self.policy_text != self.file_text()

    def version_marker(self) -> str:
        """Which policy the agent runs: name, version, a short hash of its texts, and whether it is edited."""
        try:
            compiled = self.compiled()
        except InputFileError:
            return f"{self.policy_path.name} (does not compile)"
        edited = " · edited, not saved" if self.edited else ""
        return f"{compiled.name} v{compiled.version} · {compiled.sha[:8]}{edited}"

    def for_customer(self, customer_id: int) -> LabSession:
        """A fresh session for another customer that keeps the policy version in use (edits included)."""
        return LabSession(self.policy_path, self.policy_text, customer_id, self.model, self.fixtures)

    def export_name(self) -> str:
        """A descriptive file name for the JSON export."""
        sha = self.compiled().sha[:8] if not self.problems() else "unlinted"
        stamp = time.strftime("%Y%m%d-%H%M%S")
        edited = "-edited" if self.edited else ""
        return f"conversation-{self.policy_path.stem}{edited}-{sha}-customer{self.customer_id}-{stamp}.json"

    def compiled(self) -> CompiledPolicy:
        return compile_policy_text(self.policy_text, self.policy_path)

    def ensure_conversation(self) -> Conversation:
        """Start the conversation on first use. Raises RetentionLabError if the policy or model is unusable."""
        if self.conversation is None:
            from agent.conversation import Conversation

            problems = self.problems()
            if problems:
                raise InputFileError(
                    self.policy_path,
                    "policy",
                    f"has {len(problems)} problem(s): {problems[0]}",
                    "fix them before starting the agent",
                )
            self.conversation = Conversation.start(self.compiled(), self.customer_id, self.model, self.fixtures)
        return self.conversation

    def reset(self) -> None:
        """Forget the conversation; the next message starts a fresh world."""
        self.conversation, self.previous_state = None, None

    def stream(self, text: str) -> Iterator[StreamEvent]:
        """Play a customer message; remembers the state before it so the panel can show what changed."""
        convo = self.ensure_conversation()
        self.previous_state = convo.world.snapshot().model_dump()
        yield from convo.stream(text)

    def state(self) -> dict[str, Any]:
        """The world as it is now (before any conversation, the customer's fixtures)."""
        if self.conversation is not None:
            return self.conversation.world.snapshot().model_dump()
        return World(self.fixtures, self.customer_id, 100).snapshot().model_dump()

    def export_json(self) -> str:
        """The conversation export (`agent chat --state-out`'s format) plus `lab`: whether the policy in use was
        edited, the hashes of the text in use and of the file, and what the rules reader took from each reply."""
        if self.conversation is None:
            return json.dumps({"transcript": [], "trace": []})
        export = json.loads(self.conversation.export().model_dump_json())
        export["lab"] = {
            "policy_edited": self.edited,
            "policy_sha_in_use": self.compiled().sha,
            "policy_file_sha": self.file_sha(),
            "readings": [
                {"turn": n, "reply": turn.reply, "read_as": reading_summary(turn.reply)}
                for n, turn in enumerate(self.conversation.turns, start=1)
                if turn.reply
            ],
        }
        return json.dumps(export, indent=2, ensure_ascii=False)

    def file_sha(self) -> str | None:
        """The hash of the saved file's policy (None when the file no longer compiles)."""
        try:
            return compile_policy_text(self.file_text(), self.policy_path).sha
        except InputFileError:
            return None


def reading_summary(reply: str) -> str:
    """What the rules reader takes from an agent reply, in one line: the same reading the simulator and the
    scorers use (`python -m evals read` prints it in full)."""
    from evals.reading.rules import read_with_rules

    reading = read_with_rules(reply)
    parts = []
    if reading.offers:
        offers = ", ".join(
            o.kind.value.replace("_", " ")
            + (f" {o.percent:g}%" if o.percent is not None else "")
            + (f" (${o.amount:,.2f})" if o.amount is not None else "")
            for o in reading.offers
        )
        parts.append(f"offers {offers}")
    if reading.asks_which_order:
        parts.append("asks which order")
    if reading.cannot_proceed:
        parts.append(f"says it cannot cancel ({reading.cannot_proceed_reason})")
    for claim in reading.claims:
        figures = [f"{claim.percent:g}%" if claim.percent is not None else "",
                   f"total {claim.new_total:.2f}" if claim.new_total is not None else "", claim.code or ""]  # fmt: skip
        detail = ", ".join(f for f in figures if f)
        parts.append(f"claims {claim.kind.replace('_', ' ')}" + (f" ({detail})" if detail else ""))
    return "; ".join(parts) or "nothing the scorers count (no offer, no question about the order, no refusal, no claim)"
