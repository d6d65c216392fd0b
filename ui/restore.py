"""The chat lab's work across a browser reload: the tab's id in the URL, the offer to restore what it kept, the replay,
and keeping the work after each interaction (`ui/kept_sessions.py` holds the files). UI only."""

from __future__ import annotations

import streamlit as st

from agent.errors import RetentionLabError
from ui.kept_sessions import SESSION_ID, KeptSession, forget, keep, load_kept, new_session_id
from ui.lab import LabSession, md_escape, policy_files


def lab_session_id() -> str:
    """This browser tab's id, kept in the page's URL (`?lab=`), so a reload finds the work it kept."""
    session_id = st.query_params.get("lab", "")
    if not SESSION_ID.match(session_id):
        session_id = new_session_id()
        st.query_params["lab"] = session_id
    return session_id


def restore_choice(session_id: str) -> None:
    """On a fresh load of a tab that kept work (a conversation, or unsaved edits), offer to restore it."""
    if "restore_checked" not in st.session_state:
        st.session_state.restore_checked = True
        kept = load_kept(session_id)
        if kept is not None and kept.worth_restoring and kept.policy_file in {p.name for p in policy_files()}:
            st.session_state.restore_candidate = kept
    kept = st.session_state.get("restore_candidate")
    if kept is None:
        return
    box = st.container(border=True)
    box.info(f"Kept from before this page was reloaded: {md_escape(kept.describe())}.")
    left, right = box.columns(2)
    left.button("Restore it", key="restore_kept", type="primary", on_click=choose_restore, args=(kept,))
    right.button("Start afresh", key="discard_kept", on_click=discard_kept, args=(session_id,))


def choose_restore(kept: KeptSession) -> None:
    st.session_state.policy = kept.policy_file
    st.session_state.customer = kept.customer_id
    st.session_state.pending_restore = kept
    st.session_state.pop("restore_candidate", None)


def discard_kept(session_id: str) -> None:
    forget(session_id)
    st.session_state.pop("restore_candidate", None)


def apply_restore(lab: LabSession, kept: KeptSession) -> None:
    """Put the kept policy texts back and replay the customer's messages through the model selected now."""
    lab.policy_text = kept.policy_in_use
    lab.reset()
    st.session_state.editor = kept.editor_text
    if not kept.messages:
        return
    with st.spinner(f"Replaying {len(kept.messages)} customer message(s)…"):
        try:
            for message in kept.messages:
                for _ in lab.stream(message):
                    pass
        except RetentionLabError as exc:
            st.error(f"The conversation could not be replayed: {md_escape(exc)}")


def keep_work(session_id: str, lab: LabSession) -> None:
    """Keep this tab's work on disk after each interaction (not while a restore is still being offered)."""
    if "restore_candidate" in st.session_state:
        return
    turns = lab.conversation.turns if lab.conversation else []
    kept = KeptSession(
        lab.policy_path.name,
        st.session_state.get("editor", lab.policy_text),
        lab.policy_text,
        lab.customer_id,
        [t.customer for t in turns],
    )
    if kept != st.session_state.get("kept_last"):
        keep(session_id, kept)
        st.session_state.kept_last = kept
