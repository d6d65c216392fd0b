"""An in-memory Gorgias helpdesk holding the one chat ticket of a conversation."""

from __future__ import annotations

from agent.errors import NotFound
from agent.store.domain import GorgiasDirectory, GorgiasMessage, GorgiasTag, MessageChannel, Ticket
from agent.store.faults import FaultInjector
from agent.store.magento import now_iso


class GorgiasHelpdesk:
    """The ticket, its messages, notes, tags, assignment and status."""

    def __init__(self, ticket: Ticket, directory: GorgiasDirectory, faults: FaultInjector | None = None) -> None:
        self.ticket = ticket
        self.directory = directory
        self.faults = faults or FaultInjector()

    def _add(
        self,
        body: str,
        *,
        from_agent: bool,
        public: bool = True,
        is_async: bool = False,
        channel: MessageChannel = "chat",
    ) -> GorgiasMessage:
        sender = self.directory.agent_user if from_agent else (self.ticket.customer or {})
        message = GorgiasMessage(
            id=len(self.ticket.messages) + 1,
            channel=channel,
            from_agent=from_agent,
            public=public,
            body_text=body,
            sender=sender,
            created_datetime=now_iso(),
            is_async=is_async,
        )
        self.ticket.messages.append(message)
        return message

    def post_chat_message(self, body: str, *, from_agent: bool) -> GorgiasMessage:
        """A live chat line. Not a tool: the conversation loop posts both sides of the chat. A customer's line
        reopens a closed ticket, as in Gorgias."""
        if not from_agent and self.ticket.status == "closed":
            self.ticket.status = "open"
        return self._add(body, from_agent=from_agent)

    def settle(self, resolved: bool) -> None:
        """The ticket's status after the agent's reply: open while a person has it or nothing is settled yet,
        closed once the conversation settled an order (cancelled, or kept with an offer)."""
        self.ticket.status = "closed" if resolved and self.ticket.assignee_team is None else "open"

    def send_async_message(self, body: str) -> GorgiasMessage:
        self.faults.check("POST /api/tickets/{id}/messages (async)")
        for message in self.ticket.messages:
            if message.is_async and message.body_text == body:
                return message
        return self._add(body, from_agent=True, is_async=True, channel="email")

    def add_internal_note(self, body: str) -> GorgiasMessage:
        return self._add(body, from_agent=True, public=False, channel="internal-note")

    def add_tags(self, names: list[str]) -> list[str]:
        self.faults.check("POST /api/tickets/{id}/tags")
        present = {t.name for t in self.ticket.tags}
        for name in names:
            if name not in present:
                self.ticket.tags.append(GorgiasTag(name=name))
                present.add(name)
        return [t.name for t in self.ticket.tags]

    def assign_team(self, team_name: str, reason: str) -> Ticket:
        """Hand the ticket to a human team: assign, tag `escalated` and leave an internal note, all together.

        One request to the helpdesk: when it fails, nothing changed; when it is repeated, it completes what is
        missing (idempotent), so a retry never leaves an assignment without its tag and note.
        """
        self.faults.check("PUT /api/tickets/{id}")
        team = next((t for t in self.directory.teams if t.name.lower() == team_name.lower()), None)
        if team is None:
            names = ", ".join(t.name for t in self.directory.teams) or "none (check fixtures/gorgias/teams.json)"
            raise NotFound(f"no team named '{team_name}'; teams are: {names}")
        self.ticket.assignee_team = {"id": team.id, "name": team.name}
        if "escalated" not in {t.name for t in self.ticket.tags}:
            self.ticket.tags.append(GorgiasTag(name="escalated"))
        note = f"Escalated to {team.name}: {reason}"
        if not any(
            m.channel == "internal-note" and m.body_text.startswith(f"Escalated to {team.name}")
            for m in self.ticket.messages
        ):
            self.add_internal_note(note)
        return self.ticket
