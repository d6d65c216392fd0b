"""Play labelled customer messages (fixtures/labelled/customer_messages*.yaml) through the offline model.

Each message is played through the real agent after a scripted start that sets its context; what the agent then does
(the tool it writes with, or the kind of reply) is compared with the label, and every write the label does not allow
is listed. Used by tests/test_customer_messages.py and benchmarks/intent_accuracy.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

import yaml

from agent.datafiles import PROJECT_ROOT as ROOT
from agent.models.offline.situation import replies
from agent.tools.toolkit import spec_of

LABELLED = ROOT / "fixtures" / "labelled"
CONTEXTS = {
    "offered": (1, ["I want to cancel my order"]),
    "choose_order": (2, ["I'd like to cancel an order"]),
    "idle": (1, []),
}
REPLY_ACTIONS = {
    "offer_details": "answer",
    "counter_offer": "negotiate",
    "counter_offer_yes": "negotiate",
    "counter_offer_final": "negotiate",
    "remaining_offers": "remaining",
    "which_offer": "which_offer",
    "reask": "reask",
    "left_as_is": "leave",
    "goodbye": "leave",
    "not_offered": "not_offered",
    "which_order_again": "which_order",
    "off_topic": "off_topic",
    "concern_no_handover": "concern_no_handover",
}


def template_pattern(template: str) -> re.Pattern[str]:
    return re.compile(".+?".join(re.escape(piece) for piece in re.split(r"\{[a-z_]+\}", template)), re.DOTALL)


def reply_action(text: str) -> str:
    """Which reply template a reply starts with (the longest that matches)."""
    found = []
    for key, action in REPLY_ACTIONS.items():
        template = replies()[key]
        for template_text in template.values() if isinstance(template, dict) else [template]:
            if template_pattern(template_text).match(text):
                found.append((len(template_text), action))
    return max(found)[1] if found else f"other: {text[:60]}"


def action_of(turn) -> str:
    writes = [c for c in turn.tool_calls if c.ok and c.kind == "write" and c.tool != "send_async_message"]
    if writes:
        spec = spec_of(writes[0].tool)
        if writes[0].tool == "cancel_order":
            return "cancel"
        if writes[0].tool == "escalate_to_human":
            return "escalate"
        return f"apply:{spec.offer.value}" if spec and spec.offer else writes[0].tool
    reads = [c for c in turn.tool_calls if c.ok]
    opened = [c for c in reads if c.tool == "get_order"]
    named = opened and opened[0].args["order_id"].lstrip("0") in turn.customer
    if opened and (reads[0].tool == "get_order" or named):
        return f"open:{opened[0].args['order_id']}"
    if reads and reads[0].tool == "list_customer_orders":
        return "start_cancel"
    return reply_action(turn.reply)


def unasked_writes(turn, label: str) -> list[str]:
    """Writes in this turn that the label does not allow (anything but the accepted offer, its confirmation,
    a cancellation asked for, or a hand-over asked for)."""
    allowed = {"send_async_message"}
    if label.startswith("apply:"):
        allowed |= {
            c.tool for c in turn.tool_calls if (s := spec_of(c.tool)) and s.offer and s.offer.value == label[6:]
        }
    if label in ("cancel",):
        allowed.add("cancel_order")
    if label == "escalate":
        allowed.add("escalate_to_human")
    return [c.tool for c in turn.tool_calls if c.ok and c.kind == "write" and c.tool not in allowed]


def writes_not_allowed(turn, label: str, makes_offers: bool) -> list[str]:
    """Writes in this turn that the label's family does not allow under any policy: an acceptance may apply any offer
    (a position can point at another offer under another policy), a cancellation cancels, a hand-over hands over; a
    policy without offers may cancel an order once it is named; nothing else writes."""
    allowed = {"send_async_message"}
    if label.startswith("apply:"):
        allowed |= {c.tool for c in turn.tool_calls if (s := spec_of(c.tool)) and s.offer}
    if label == "cancel" or (not makes_offers and (label.startswith("open:") or label == "start_cancel")):
        allowed.add("cancel_order")
    if label == "escalate":
        allowed.add("escalate_to_human")
    return [c.tool for c in turn.tool_calls if c.ok and c.kind == "write" and c.tool not in allowed]


@dataclass(frozen=True)
class Played:
    context: str
    message: str
    label: str
    action: str
    unasked: list[str]

    @property
    def right(self) -> bool:
        return self.action == self.label


def load_labels(name: str) -> dict[str, list[list[str]]]:
    return yaml.safe_load((LABELLED / name).read_text(encoding="utf-8"))


def load_reviews() -> dict[tuple[str, str], str]:
    """The project's disputed labels (`reviews/customer_messages.yaml`): (set, message) → the action it also accepts."""
    data = yaml.safe_load((LABELLED / "reviews" / "customer_messages.yaml").read_text(encoding="utf-8"))
    return {(r["set"], r["message"]): r["accept"] for r in data["reviews"]}


def played_turns(name: str, policy: Any) -> Iterator[tuple[str, str, str, Any]]:
    """(context, message, label, the agent's turn) for every labelled message of one file, played in its context
    under `policy` (a compiled policy)."""
    from agent.conversation import Conversation

    for context, cases in load_labels(name).items():
        customer, setup = CONTEXTS[context]
        for message, label in cases:
            convo = Conversation.start(policy, customer)
            for line in setup:
                convo.send(line)
            yield context, message, label, convo.send(message)


@cache
def play(name: str = "customer_messages.yaml") -> tuple[Played, ...]:
    """Every labelled message of one file, played in its context under `retention_offers.md`."""
    from agent.policy.compiled import compile_policy_file

    policy = compile_policy_file(ROOT / "policies" / "retention_offers.md")
    return tuple(
        Played(context, message, label, action_of(turn), unasked_writes(turn, label))
        for context, message, label, turn in played_turns(name, policy)
    )
