"""The chat lab's policy editor: edit, lint (each problem quoting its line), see what the lab understood (the plan),
use the edited version, or save it as a new policy under a free name. UI only."""

from __future__ import annotations

import streamlit as st

from agent.errors import RetentionLabError
from agent.policy.lint import lint_text
from ui.lab import (
    LabSession,
    copy_identity,
    md_escape,
    plan_view,
    proposed_copy,
    save_policy_as,
    text_with_plan,
    with_identity,
)
from ui.live_text import live_text

SAVE_KEYS = ("save_name", "save_policy_name", "save_version")
EDITOR_OPEN = "policy_editor_open"  # the expander's state, a widget key


def use_version(lab: LabSession) -> None:
    """Run the next conversation on the editor's text (a callback, so the page draws the new version marker)."""
    lab.policy_text = st.session_state.editor
    lab.reset()
    st.toast("The next conversation runs on the edited policy.")


def keep_values_while_closed() -> None:
    """Streamlit drops a widget's value in a run that does not draw the widget, and the editor's widgets are drawn
    only while it is open: restating their values each run keeps them (Streamlit's documented way)."""
    for key in ("editor", *SAVE_KEYS):
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]


def policy_editor(lab: LabSession) -> None:
    """A closed expander. Its body (the text area, lint, the plan, the save form) is built only while it is open, so
    the first render does not wait for what is not on screen."""
    keep_values_while_closed()
    box = st.expander(
        f"Policy: {lab.policy_path.name} (edit, lint, use or save as)", key=EDITOR_OPEN, on_change="rerun"
    )
    if box.open:
        with box:
            editor_body(lab)


def editor_body(lab: LabSession) -> None:
    editor, understood = st.columns([3, 2])
    committed = editor.text_area(
        "Policy markdown",
        key="editor",
        height=420,
        help="Lint runs as you type; the text is kept when the editor loses focus, or on Ctrl+Enter.",
    )
    with editor:
        typed = live_text("editor")
    text = typed if typed is not None else committed
    problems = lint_text(text, lab.policy_path)
    errors = [p for p in problems if p.severity == "error"]
    lines = text.splitlines()
    for problem in problems:
        show = editor.error if problem.severity == "error" else editor.warning
        quoted = lines[problem.line - 1].strip()[:70] if 0 < problem.line <= len(lines) else ""
        where = f"line {problem.line}" + (f" («{md_escape(quoted)}»)" if quoted else "")
        show(f"{where}: {md_escape(problem.message)}")
    if not problems:
        editor.success("No lint problems.")
    with editor.popover("Show the text with line numbers"):
        st.code(text, language="markdown", line_numbers=True)
    plan_panel(understood, text, lab)
    st.button("Use this version", key="use_version", disabled=bool(errors), on_click=use_version, args=(lab,))
    save_as_form(text, lab, disabled=bool(errors))


def save_as_form(text: str, lab: LabSession, disabled: bool) -> None:
    """Save the editor's text as a new policy: the file, its `name:` and its version are proposed so that nothing
    clashes with the policies already in policies/, and a name another policy has is refused."""
    if not all(key in st.session_state for key in SAVE_KEYS):  # proposed once per policy opened: it reads policies/
        proposal = proposed_copy(text, lab.policy_path)
        if proposal is None:
            st.caption("Save as: the text does not parse yet.")
            return
        stem, renamed = proposal
        for key, value in zip(SAVE_KEYS, (stem, *copy_identity(renamed)), strict=True):
            st.session_state.setdefault(key, value)  # the user's edits stay
    columns = st.columns(3)
    file_stem = columns[0].text_input("Save as file (in policies/)", key="save_name")
    name = columns[1].text_input("Policy name", key="save_policy_name")
    version = columns[2].text_input("Version", key="save_version")
    if st.button("Save as new policy", key="save_as", disabled=disabled or not file_stem or not name):
        try:
            saved = save_policy_as(with_identity(text, name, version), file_stem)
            said = f"Saved {saved.name} as {name} v{version}. Pick it in the sidebar to run it."
            st.success(md_escape(said))
        except RetentionLabError as exc:
            st.error(md_escape(exc))


def plan_panel(container, text: str, lab: LabSession) -> None:
    """What the lab understood: the plan it acts on, with the line of each entry. A drafted plan can be put into the
    front matter (then corrected there, used and saved), so the numbers rest on a plan the user confirmed."""
    view = plan_view(text, lab.policy_path)
    container.markdown("**What the lab understood**")
    if view is None:
        container.caption("The policy does not compile yet: see the errors.")
        return
    source, plan_text = view
    container.caption(
        "The plan in the front matter: the offline model, the expectations, the rules and the store follow it."
        if source == "explicit"
        else "Drafted from the text, not confirmed: check it, then put it into the front matter and correct it."
    )
    container.code(plan_text, language="yaml")
    if source == "draft":
        container.button("Put this draft into the front matter", key="confirm_plan", on_click=confirm_plan,
                         args=(text, lab))  # fmt: skip


def confirm_plan(text: str, lab: LabSession) -> None:
    confirmed = text_with_plan(text, lab.policy_path)
    if confirmed is not None:
        st.session_state.editor = confirmed
