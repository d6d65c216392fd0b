"""LLM-voiced customers with checkable contracts: the persona's contract decides what the customer says (drawn from
the trial's seed, as for the scripted customer, so A/B pairing holds); a model writes how they say it.

Each message is read back with the customer-intent reader. If it does not say what was decided, the model tries once
more; if it still does not, the scripted line is sent and the message counts as a simulator deviation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import cache

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

from agent.datafiles import DEFAULT_FIXTURES
from agent.models.offline.intents import Reading, default_rules
from agent.store.ids import normalize_order_id
from evals.schema.persona import Persona, Voice

PROMPT_FILE = DEFAULT_FIXTURES / "simulator" / "voice_prompt.md"
Check = Callable[[Reading, "Decision"], bool]


@dataclass(frozen=True)
class Decision:
    """What the contract decided this message says."""

    kind: str
    example: str
    offer: str | None = None
    percent: float | None = None
    order: str | None = None

    def describe(self) -> str:
        offer = (self.offer or "").replace("_", " ")
        percent = f"{self.percent:g}%" if self.percent is not None else "more"
        order = self.order or "their order"
        lines = {
            "accept": f"they accept the {offer} offer{f' ({percent})' if self.percent else ''} and want it applied",
            "decline": "they turn down the offers, politely, without insisting on anything else",
            "insist": "they still want the order cancelled and ask for it to be done",
            "haggle": f"they would keep the order for {percent} off and ask for that",
            "pick_order": f"the order they mean is {order}",
            "concern": f"they raise this worry: {self.example}",
            "opening": f"they want to cancel {order}",
            "repeat_request": f"they repeat that they want to cancel {order}",
            "give_up": "they accept that nothing can be done and say goodbye",
            "off_topic": f"they ask about something else first: {self.example}",
        }
        return lines.get(self.kind, self.example)


def _says_cancel(r: Reading) -> bool:
    return (r.has("cancel") or r.has("insist")) and not r.has("keep") and not r.kinds("accept")


CHECKS: dict[str, Check] = {
    "accept": lambda r, d: d.offer in r.kinds("accept") and d.offer not in r.kinds("decline"),
    "decline": lambda r, d: not r.kinds("accept") and not r.has("keep"),
    "insist": lambda r, d: _says_cancel(r),
    "haggle": lambda r, d: d.percent in r.percents and not r.kinds("accept"),
    "pick_order": lambda r, d: d.order is not None and normalize_order_id(d.order) in r.order_ids,
    "concern": lambda r, d: not r.kinds("accept") and not r.has("goodbye"),
    "opening": lambda r, d: r.has("cancel") or r.has("insist") or r.has("human"),
    "repeat_request": lambda r, d: _says_cancel(r),
    "give_up": lambda r, d: not r.kinds("accept") and not r.has("cancel"),
    "off_topic": lambda r, d: not r.kinds("accept") and not r.has("insist"),
}


ECHO_RATIO = 0.8  # a message this close to the agent's last reply is the agent's words, not the customer's


def says(decision: Decision, text: str, agent_said: str = "") -> bool:
    """Whether `text` says what `decision` decided, as the customer-intent reader reads it, in the customer's own
    words (a weak model sometimes sends the agent's reply back)."""
    if not text.strip() or _echoes(text, agent_said):
        return False
    check = CHECKS.get(decision.kind)
    return check is None or check(default_rules().read(text), decision)


def _echoes(text: str, agent_said: str) -> bool:
    mine, theirs = " ".join(text.lower().split()), " ".join(agent_said.lower().split())
    return bool(theirs) and (mine in theirs or SequenceMatcher(None, mine, theirs).ratio() >= ECHO_RATIO)


@cache
def voice_prompt() -> str:
    return PROMPT_FILE.read_text(encoding="utf-8")


class CustomerVoice:
    """Writes the customer's messages with a model, keeping to the contract's decisions."""

    def __init__(self, model: BaseChatModel, name: str) -> None:
        self.model, self.name = model, name

    def write(self, persona: Persona, decision: Decision, history: list[tuple[str, str]]) -> tuple[str, str]:
        """(message, how it was voiced: 'model', 'regenerated' or 'deviation')."""
        voice = persona.voice or Voice()
        system = voice_prompt().format(title=persona.title, reason=persona.reason, style=voice.style,
                                       mood=voice.mood, language=voice.language, decision=decision.describe(),
                                       example=decision.example)  # fmt: skip
        messages: list[BaseMessage] = [SystemMessage(system)]
        # the conversation from the customer's side: the agent speaks to them, they answered
        for role, text in history:
            messages.append(HumanMessage(text) if role == "agent" else AIMessage(text))
        if not history or history[-1][0] != "agent":
            messages.append(HumanMessage("(the chat opens; write the customer's first message)"))
        agent_said = next((text for role, text in reversed(history) if role == "agent"), "")
        for attempt, label in enumerate(("model", "regenerated")):
            text = self._ask(messages if attempt == 0 else [*messages, HumanMessage(self._retry_note(decision))])
            if says(decision, text, agent_said):
                return text, label
        return decision.example, "deviation"

    def _ask(self, messages: list[BaseMessage]) -> str:
        try:
            return str(self.model.invoke(messages).content).strip().strip('"')
        except Exception:  # a model fault costs this message its voice, never the conversation
            return ""

    @staticmethod
    def _retry_note(decision: Decision) -> str:
        return f"(That message did not clearly say it. Write it again so that it clearly says: {decision.describe()})"
