"""The chat lab page: play the customer against an agent that follows a retention policy. UI only.

`app.py` runs `main()` on every rerun of the page.
"""

from __future__ import annotations

import json
from typing import Literal

import pandas as pd
import streamlit as st

from agent.errors import RetentionLabError
from agent.models.settings import ModelSettings, check_model
from agent.policy.lint import lint_text
from agent.store.fixtures import default_fixtures
from agent.store.trace import ToolCallRecord
from ui.lab import (
    LabSession,
    changed_cells,
    customer_label,
    new_items,
    offer_plan_lines,
    order_rows,
    policy_files,
    save_policy_as,
)
from ui.model_picker import model_picker
from ui.warm_up import warm_up_after_first_render


def sidebar() -> tuple[str, int, ModelSettings, bool]:
    lab_fixtures = default_fixtures()
    with st.sidebar:
        st.header("Retention Lab")
        paths = {p.name: p for p in policy_files()}
        default = list(paths).index("retention_offers.md") if "retention_offers.md" in paths else 0
        policy = st.selectbox("Policy", list(paths), index=default, key="policy")
        ids = sorted(lab_fixtures.customers)
        customer = st.selectbox("Customer", ids, format_func=lambda c: customer_label(lab_fixtures, c), key="customer")
        st.dataframe(
            pd.DataFrame(order_rows([o.model_dump() for o in lab_fixtures.orders_of(customer)]))[
                ["order", "status", "grand total"]
            ],
            hide_index=True,
            width="stretch",
            column_config={"grand total": st.column_config.NumberColumn(format="%.2f")},
        )
        model = model_picker()
        reset = st.button("Reset conversation and world", key="reset", width="stretch")
    return policy, customer, model, reset


def current_lab(policy: str, customer: int, model: ModelSettings) -> LabSession:
    """The session's lab; a changed policy file, customer or model starts a fresh one."""
    signature = (policy, customer, model.model_dump_json())
    if st.session_state.get("lab_signature") != signature or "lab" not in st.session_state:
        path = dict((p.name, p) for p in policy_files())[policy]
        st.session_state.lab = LabSession.open(path, customer, model)
        st.session_state.lab_signature = signature
        st.session_state.editor = st.session_state.lab.policy_text
    return st.session_state.lab


def policy_editor(lab: LabSession) -> None:
    with st.expander(f"Policy: {lab.policy_path.name} (edit, lint, use or save as)", expanded=False):
        text = st.text_area("Policy markdown", key="editor", height=360)
        problems = lint_text(text, lab.policy_path)
        for problem in problems:
            st.error(f"line {problem.line}: {problem.message}")
        if not problems:
            st.success("No lint problems.")
            st.caption(
                "The offline model reads these offers: "
                + ("; ".join(offer_plan_lines(text, lab.policy_path)) or "none")
            )
        left, right = st.columns(2)
        if left.button("Use this version", key="use_version", disabled=bool(problems)):
            lab.policy_text = text
            lab.reset()
            st.toast("The next conversation runs on the edited policy.")
        name = right.text_input("Save as (file name in policies/)", key="save_name")
        if right.button("Save as…", key="save_as", disabled=bool(problems) or not name):
            try:
                right.success(f"Saved {save_policy_as(text, name).name}")
            except RetentionLabError as exc:
                right.error(str(exc))


def render_tool_calls(calls: list, container) -> None:
    for call in calls:
        mark = ":white_check_mark:" if call.ok else ":x:"
        container.markdown(f"{mark} **{call.tool}** `{json.dumps(call.args, ensure_ascii=False)}`")
        container.code(call.result[:1200], language="json" if call.result.startswith(("[", "{")) else None)


def status_state(calls: list[ToolCallRecord]) -> Literal["complete", "error"]:
    return "error" if any(not c.ok for c in calls) else "complete"


def status_label(calls: list) -> str:
    errors = sum(not c.ok for c in calls)
    names = ", ".join(dict.fromkeys(c.tool for c in calls))
    return f"{len(calls)} tool call(s): {names}" + (f" ({errors} error)" if errors else "")


def history(lab: LabSession) -> None:
    for turn in lab.conversation.turns if lab.conversation else []:
        st.chat_message("user").write(turn.customer)
        with st.chat_message("assistant"):
            if turn.tool_calls:
                state = status_state(turn.tool_calls)
                with st.status(status_label(turn.tool_calls), state=state, expanded=False) as box:
                    render_tool_calls(turn.tool_calls, box)
            if turn.error:
                st.error(turn.error)
            st.write(turn.reply or "_(the model sent an empty reply)_")


def play(lab: LabSession, prompt: str) -> None:
    st.chat_message("user").write(prompt)
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
                    reply.write(text)
                elif event.kind == "done" and event.turn:
                    turn = event.turn
                    state = "error" if turn.error else status_state(calls)
                    box.update(label=status_label(calls) if calls else "No tool calls", state=state, expanded=False)
                    if turn.error:
                        st.error(turn.error)
                    reply.write(turn.reply or "_(the model sent an empty reply)_")
        except RetentionLabError as exc:
            box.update(label="Not started", state="error")
            st.error(str(exc))


def world_panel(lab: LabSession) -> None:
    state, before = lab.state(), lab.previous_state
    st.subheader("Magento orders")
    rows = order_rows(state["orders"])
    changed = changed_cells(order_rows(before["orders"]), rows) if before else set()
    table = pd.DataFrame(rows)
    styled = table.style.apply(
        lambda row: ["background-color: #fff3b0" if (row["order"], col) in changed else "" for col in table.columns],
        axis=1,
    ).format({"discount %": "{:g}", "grand total": "{:.2f}", "subtotal": "{:.2f}"})
    st.dataframe(styled, hide_index=True, width="stretch", key="orders_table")
    if changed:
        st.caption("Highlighted: changed in the last turn.")
    fresh_emails = new_items(before["emails"], state["emails"]) if before else []
    st.subheader(f"Confirmation emails ({len(state['emails'])})")
    for email in state["emails"]:
        st.markdown(("**NEW** " if email in fresh_emails else "") + f"{email['subject']}  \n_{email['body']}_")
    if state["coupons"]:
        st.markdown("Coupons: " + ", ".join(f"`{c['code']}` ({c['discount_percent']:g}%)" for c in state["coupons"]))
    ticket(state, before)


def ticket(state: dict, before: dict | None) -> None:
    t = state["ticket"]
    st.subheader(f"Gorgias ticket {t['id']}")
    team = t["assignee_team"]["name"] if t["assignee_team"] else "unassigned (bot)"
    st.markdown(
        f"Status **{t['status']}** · Assignee **{team}** · Tags: " + ", ".join(f"`{tag['name']}`" for tag in t["tags"])
    )
    fresh = {m["id"] for m in new_items(before["ticket"]["messages"], t["messages"])} if before else set()
    special = [m for m in t["messages"] if m["is_async"] or not m["public"]]
    for message in special:
        kind = "Async message" if message["is_async"] else "Internal note"
        st.markdown(("**NEW** " if message["id"] in fresh else "") + f"{kind}: {message['body_text']}")
    st.caption(f"{len(t['messages'])} ticket message(s), {len(special)} async message(s) or note(s).")


def main() -> None:
    st.set_page_config(page_title="Retention Lab", page_icon="🛒", layout="wide")
    policy, customer, model, reset = sidebar()
    lab = current_lab(policy, customer, model)
    if reset:
        lab.reset()  # a fresh world and an empty chat; the policy version in use stays
    try:
        check_model(model)
    except RetentionLabError as exc:
        st.sidebar.error(str(exc))
    chat, panel = st.columns([1, 1], gap="large")
    with chat:
        st.title("Chat lab")
        policy_editor(lab)
        messages = st.container()
        with messages:
            history(lab)
        problems = lab.problems()
        if problems:
            st.error(f"The policy has {len(problems)} lint problem(s); fix them to start the agent.")
        if prompt := st.chat_input("Write as the customer…", disabled=bool(problems), key="chat"):
            with messages:
                play(lab, prompt)
        if lab.conversation:
            st.download_button(
                "Download conversation (JSON)",
                lab.export_json(),
                file_name="conversation.json",
                mime="application/json",
                key="export",
            )
    with panel:
        world_panel(lab)
    warm_up_after_first_render()
