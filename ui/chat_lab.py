"""The chat lab page: play the customer against an agent that follows a retention policy. UI only.

`app.py` runs `main()` on every rerun of the page.
"""

from __future__ import annotations

import json
from typing import Literal

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from agent.errors import RetentionLabError
from agent.models.settings import ModelSettings, check_model
from agent.store.fixtures import default_fixtures
from agent.store.trace import ToolCallRecord
from agent.tools.toolkit import tool_names
from ui.lab import (
    LabSession,
    changed_cells,
    customer_label,
    default_policy_index,
    md_escape,
    new_items,
    order_rows,
    orders_table,
    policy_files,
    reading_summary,
    reply_markdown,
)
from ui.model_picker import model_picker
from ui.policy_editor import SAVE_KEYS, policy_editor
from ui.restore import apply_restore, keep_work, lab_session_id, restore_choice
from ui.save_customer import save_as_test_customer
from ui.warm_up import warm_up_after_first_render


def sidebar() -> tuple[str, int, ModelSettings, bool, DeltaGenerator]:
    lab_fixtures = default_fixtures()
    with st.sidebar:
        st.header("Retention Lab")
        paths = policy_files()
        policy = st.selectbox("Policy", [p.name for p in paths], index=default_policy_index(paths), key="policy")
        ids = sorted(lab_fixtures.customers)
        customer = st.selectbox("Customer", ids, format_func=lambda c: customer_label(lab_fixtures, c), key="customer")
        orders = st.empty()  # filled last, from the same world state as the world panel
        model = model_picker()
        reset = st.button("Reset conversation and world", key="reset", width="stretch")
    return policy, customer, model, reset, orders


def sidebar_orders(lab: LabSession, slot: DeltaGenerator) -> None:
    """The customer's orders as they are now, one line each (plain markdown: it draws with the page's text)."""
    slot.markdown(
        "  \n".join(
            f"**{md_escape(r['order'])}** {md_escape(r['status'])} · {r['grand total']:.2f}"
            for r in order_rows(lab.state()["orders"])
        )
    )


def keep_editing(policy: str) -> None:
    st.session_state.policy = policy


def policy_switch_confirmed(wanted: str) -> bool:
    """Switching policy with unsaved edits asks first; until confirmed, the lab stays on the edited policy."""
    lab: LabSession | None = st.session_state.get("lab")
    editor = st.session_state.get("editor")
    unsaved = lab is not None and (lab.edited or (editor is not None and editor != lab.policy_text))
    if lab is None or wanted == lab.policy_path.name or not unsaved:
        return True
    if st.session_state.get("discard_confirmed") == wanted:
        return True
    st.warning(
        f"{md_escape(lab.policy_path.name)} has edits that are not saved. "
        f"Switching to {md_escape(wanted)} throws them away."
    )
    left, right = st.columns(2)
    if left.button(f"Discard edits and open {wanted}", key="discard_edits"):
        st.session_state.discard_confirmed = wanted
        st.rerun()
    right.button("Keep editing", key="keep_editing", on_click=keep_editing, args=(lab.policy_path.name,))
    return False


def current_lab(policy: str, customer: int, model: ModelSettings) -> LabSession:
    """The session's lab. Another policy file opens it afresh; another customer or model keeps the policy in use
    (edits included) and starts a new conversation."""
    lab: LabSession | None = st.session_state.get("lab")
    if lab is None or lab.policy_path.name != policy:
        path = dict((p.name, p) for p in policy_files())[policy]
        lab = LabSession.open(path, customer, model)
        st.session_state.editor = lab.policy_text
        st.session_state.pop("discard_confirmed", None)
        for key in SAVE_KEYS:
            st.session_state.pop(key, None)
    elif lab.customer_id != customer:
        lab = lab.for_customer(customer)
    if lab.model != model:
        lab.model = model
        lab.reset()
    st.session_state.lab = lab
    return lab


def tool_label(name: str) -> str:
    """A real tool's name as it is; a name the model made up, escaped."""
    return name if name in tool_names() else md_escape(name)


def render_tool_calls(calls: list, container) -> None:
    for call in calls:
        args = json.dumps(call.args, ensure_ascii=False)
        if call.ok:
            container.markdown(f":green[**OK**] **{tool_label(call.tool)}** {md_escape(args)}")
            container.code(call.result[:1200], language="json", wrap_lines=True)
        else:
            container.markdown(f":red[**FAILED**] **{tool_label(call.tool)}** {md_escape(args)}")
            container.error(md_escape(call.result[:1200]))


def status_state(calls: list[ToolCallRecord]) -> Literal["complete", "error"]:
    return "error" if any(not c.ok for c in calls) else "complete"


def status_label(calls: list) -> str:
    errors = sum(not c.ok for c in calls)
    names = ", ".join(dict.fromkeys(tool_label(c.tool) for c in calls))
    return f"{len(calls)} tool call(s): {names}" + (f" ({errors} error)" if errors else "")


def customer_says(text: str) -> None:
    """The customer's words as plain text: no markdown, no links or images, line breaks kept."""
    st.chat_message("user").text(text)


def notice(error: str) -> None:
    said = f"System notice: the model or a backend failed, so the agent did not answer. {md_escape(error)}"
    st.error(said, icon="⚠️")


def why_caption(why: str) -> None:
    if why:
        st.caption(f"Why (offline model): {md_escape(why)}")


def reading_caption(reply: str) -> None:
    """What the simulated customer and the scorers take from this reply (the rules reader)."""
    if reply:
        st.caption(f"Read as: {md_escape(reading_summary(reply))}")


def history(lab: LabSession) -> None:
    for turn in lab.conversation.turns if lab.conversation else []:
        customer_says(turn.customer)
        if turn.tool_calls or not turn.error:
            with st.chat_message("assistant"):
                if turn.tool_calls:
                    state = status_state(turn.tool_calls)
                    with st.status(status_label(turn.tool_calls), state=state, expanded=False) as box:
                        render_tool_calls(turn.tool_calls, box)
                if not turn.error:
                    st.markdown(reply_markdown(turn.reply) or "_(the model sent an empty reply)_")
                    reading_caption(turn.reply)
                    why_caption(turn.why)
        if turn.error:
            notice(turn.error)


def play(lab: LabSession, prompt: str) -> None:
    customer_says(prompt)
    with st.chat_message("assistant"):
        box, reply = st.status("Working…", expanded=True), st.empty()
        calls: list[ToolCallRecord] = []
        try:
            text = ""
            for event in lab.stream(prompt):
                if event.kind == "tool_call" and event.tool_call:
                    calls.append(event.tool_call)
                    render_tool_calls([event.tool_call], box)
                elif event.kind == "text":
                    text += event.text
                    reply.markdown(reply_markdown(text))
                elif event.kind == "done" and event.turn:
                    turn = event.turn
                    state = "error" if turn.error else status_state(calls)
                    box.update(label=status_label(calls) if calls else "No tool calls", state=state, expanded=False)
                    if turn.error:
                        reply.empty()
                        notice(turn.error)
                    else:
                        reply.markdown(reply_markdown(turn.reply) or "_(the model sent an empty reply)_")
                        reading_caption(turn.reply)
                        why_caption(turn.why)
        except RetentionLabError as exc:
            box.update(label="Not started", state="error")
            st.error(md_escape(exc))


def world_panel(lab: LabSession) -> None:
    state, before = lab.state(), lab.previous_state
    st.subheader("Magento orders")
    rows = order_rows(state["orders"])
    changed = changed_cells(order_rows(before["orders"]), rows) if before else set()
    st.markdown(orders_table(rows, changed))
    if changed:
        st.caption("Highlighted: changed in the last turn.")
    fresh_emails = new_items(before["emails"], state["emails"]) if before else []
    st.subheader(f"Confirmation emails ({len(state['emails'])})")
    for email in state["emails"]:
        st.markdown(
            ("**NEW** " if email in fresh_emails else "")
            + f"{md_escape(email['subject'])}  \n{md_escape(email['body'])}"
        )
    if state["coupons"]:
        st.markdown(
            "Coupons: " + ", ".join(f"{md_escape(c['code'])} ({c['discount_percent']:g}%)" for c in state["coupons"])
        )
    ticket(state, before)


def ticket(state: dict, before: dict | None) -> None:
    t = state["ticket"]
    st.subheader(f"Gorgias ticket {t['id']}")
    team = t["assignee_team"]["name"] if t["assignee_team"] else "unassigned (bot)"
    st.markdown(
        f"Status **{t['status']}** · Assignee **{md_escape(team)}** · Tags: "
        + ", ".join(md_escape(tag["name"]) for tag in t["tags"])
    )
    fresh = {m["id"] for m in new_items(before["ticket"]["messages"], t["messages"])} if before else set()
    special = [m for m in t["messages"] if m["is_async"] or not m["public"]]
    for message in special:
        kind = "Async message" if message["is_async"] else "Internal note"
        st.markdown(("**NEW** " if message["id"] in fresh else "") + f"{kind}: {md_escape(message['body_text'])}")
    st.caption(f"{len(t['messages'])} ticket message(s), {len(special)} async message(s) or note(s).")


def model_problem(model: ModelSettings) -> str | None:
    try:
        check_model(model)
    except RetentionLabError as exc:
        return str(exc)
    return None


def opening_lab() -> LabSession | None:
    """On a session's first run every sidebar widget is at its default, so the lab it opens is known before the
    sidebar is drawn. None on later runs, or when something (a test, a restore) set a choice already."""
    if any(key in st.session_state for key in ("lab", "policy", "customer", "model_kind")):
        return None
    paths = policy_files()
    if not paths:
        return None
    return current_lab(paths[default_policy_index(paths)].name, min(default_fixtures().customers), ModelSettings())


def chat_box(lab: LabSession, model: ModelSettings) -> str | None:
    """The chat input, pinned to the bottom of the page; disabled while the policy or the model cannot run."""
    unusable = bool(lab.problems()) or model_problem(model) is not None
    return st.chat_input("Write as the customer…", disabled=unusable, key="chat")


def main() -> None:
    st.set_page_config(page_title="Retention Lab", page_icon="🛒", layout="wide")
    # A new visitor's chat input goes first: the browser fetches the code of each kind of element as it meets it,
    # and the rest of the page would otherwise queue ahead of it (docs/performance.md).
    opening = opening_lab()
    prompt = chat_box(opening, ModelSettings()) if opening else None
    session_id = lab_session_id()
    restore_choice(session_id)
    policy, customer, model, reset, orders_slot = sidebar()
    if not policy_switch_confirmed(policy):
        policy = st.session_state.lab.policy_path.name
    lab = current_lab(policy, customer, model)
    if (kept := st.session_state.pop("pending_restore", None)) is not None:
        apply_restore(lab, kept)
    if reset:
        lab.reset()  # a fresh world and an empty chat; the policy version in use stays
    unusable = model_problem(model)
    problems = lab.problems()
    if opening is None:
        prompt = chat_box(lab, model)
    chat, panel = st.columns([1, 1], gap="large")
    with chat:
        st.title("Chat lab")
        marker = md_escape(lab.version_marker())
        st.caption(f"The agent runs: {marker}", help="name, version and a hash of the policy texts in use")
        policy_editor(lab)
        messages = st.container(height=560, border=False)  # scrolls; the world panel stays beside the latest turn
        with messages:
            history(lab)
            if prompt:
                play(lab, prompt)
        if problems:
            st.error(f"The policy in use has {len(problems)} lint error(s); fix them to start the agent.")
        if unusable:
            st.error(f"The model cannot be used: {md_escape(unusable)}")
        if lab.conversation:
            st.download_button(
                "Download conversation (JSON)",
                lab.export_json,  # built when clicked, not on every rerun
                file_name=lab.export_name(),
                mime="application/json",
                key="export",
            )
            save_as_test_customer(lab)
    with panel:
        world_panel(lab)
    sidebar_orders(lab, orders_slot)
    keep_work(session_id, lab)
    warm_up_after_first_render()
