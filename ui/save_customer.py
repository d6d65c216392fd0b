"""The chat lab's "Save as test customer": the persona contract the chat implies, as a form to review (who, which
order and why, the opening line, each offer taken or refused, a person asked for), saved into the personas folder
the Evals page and the CLI run. UI only: the contract comes from `evals.growing`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import streamlit as st
from pydantic import ValidationError

from agent.errors import RetentionLabError
from ui.lab import LabSession, md_escape

if TYPE_CHECKING:
    from evals.growing.from_chat import SavedChat
    from evals.schema.persona import Persona


def save_as_test_customer(lab: LabSession) -> None:
    """Drafted on a click, not on every rerun (the oracle runs on it), and imported then too: the chat lab's first
    paint needs none of it."""
    with st.expander("Save as test customer"):
        if lab.conversation is None:
            return
        key = (id(lab.conversation), len(lab.conversation.turns))  # a new turn or a new chat needs a new draft
        draft = st.session_state.get("customer_draft")
        if draft is None or draft[0] != key:
            if not st.button("Draft a test customer from this chat", key="draft_customer"):
                return
            draft = st.session_state.customer_draft = (key, *_draft(lab))
        _, export, saved = draft
        if saved is None:
            return
        for note in saved.notes:
            st.caption(md_escape(f"Note: {note}"))
        edited = _review_form(saved)
        if edited is not None:
            _save(edited, saved, export)


def _save(edited: Persona, saved: SavedChat, export: Any) -> None:
    """Write the reviewed contract into the personas folder, unless the oracle says it would not replay the chat."""
    from evals.growing.from_chat import SavedChat, oracle_disagrees, persona_yaml
    from evals.growing.saving import write_persona
    from evals.personas.loader import persona_folder

    reviewed = SavedChat(edited, saved.notes)
    if problem := oracle_disagrees(reviewed, export):
        st.warning(md_escape(f"Not saved: {problem}. Adjust the contract so it replays this chat."))
        return
    try:
        path = write_persona(persona_yaml(reviewed), edited.id, persona_folder())
    except (RetentionLabError, OSError) as exc:
        st.error(md_escape(str(exc)))
        return
    st.success(md_escape(f"Saved {path.name}: the Evals page lists it as {edited.id}."))


def _draft(lab: LabSession) -> tuple[Any, SavedChat | None]:
    from evals.growing.saving import build_chat_persona

    assert lab.conversation is not None
    export = lab.conversation.export()
    try:
        return export, build_chat_persona(export, None, "the chat")
    except RetentionLabError as exc:
        st.info(md_escape(f"Not yet: {exc}"))
        return export, None


def _review_form(saved: SavedChat) -> Persona | None:
    """The contract's fields to review; the edited persona when saved and valid, else None."""
    p = saved.persona
    pinned = p.pinned[0]
    with st.form("save_customer"):
        persona_id = st.text_input("Id (letters, digits, _)", p.id)
        title = st.text_input("Title", p.title)
        reason = st.text_input("Why they cancel", p.reason)
        opening = st.text_area("Opening line ({order} stands for the order's number)", p.opening[0], height=80)
        offers = st.data_editor(_offer_rows(p), hide_index=True, key="save_customer_offers", disabled=["offer"])
        patience = st.number_input("Refusals before they insist", 0, 10, p.patience)
        person = st.checkbox("Asks for a person in the first message", p.asks_for_person)
        outcome = f"{pinned.outcome}" + (f" ({pinned.offer.value})" if pinned.offer else "")
        st.caption(md_escape(f"Expected under {pinned.policy}: {outcome}, as this chat ended."))
        if not st.form_submit_button("Save test customer"):
            return None
    update: dict[str, Any] = {
        "id": persona_id.strip(), "title": title, "reason": reason, "opening": [opening], "patience": patience,
        "asks_for_person": person, "offers": _offers_from_rows(offers),
    }  # fmt: skip
    from evals.schema.persona import Persona

    try:
        return Persona.model_validate({**p.model_dump(mode="json"), **update})
    except ValidationError as exc:
        first = exc.errors()[0]
        st.error(md_escape(f"{'.'.join(str(x) for x in first['loc'])}: {first['msg']}"))
        return None


def _offer_rows(p: Persona) -> list[dict[str, Any]]:
    return [
        {"offer": kind.value, "takes it": terms.accept >= 1.0, "only from % (discounts)": terms.min_percent}
        for kind, terms in p.offers.items()
    ]


def _offers_from_rows(rows: Any) -> dict[str, dict[str, Any]]:
    records = rows.to_dict("records") if hasattr(rows, "to_dict") else list(rows)
    offers = {}
    for row in records:
        least = row.get("only from % (discounts)")
        offers[row["offer"]] = {
            "accept": 1.0 if row.get("takes it") else 0.0,
            "min_percent": None if least is None or least != least else float(least),  # NaN from an empty cell
        }
    return offers
