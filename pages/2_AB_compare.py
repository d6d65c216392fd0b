"""A/B comparison of two policy wordings on the same personas and seeds. UI only."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from agent.errors import RetentionLabError
from agent.policy.lint import lint_text
from evals.running.config import RunConfig
from evals.running.runs import list_comparisons, new_run_dir
from evals.service import ABConfig, run_ab
from ui.lab import md_escape, policy_files
from ui.model_picker import model_picker
from ui.widgets import embed_report, progress_bars, run_settings

st.set_page_config(page_title="Retention Lab · A/B", layout="wide")
st.title("A/B comparison")
st.caption(
    "Both policies meet the same personas with the same per-trial seeds: every difference is within a matched pair."
)

with st.sidebar:
    model = model_picker("ab_model")

EDITED = "edited text from the chat lab"
names = [p.name for p in policy_files()]
sources = names + ([EDITED] if "lab" in st.session_state else [])
# no form: Enter in a number field only sets the number; the comparison starts on its button alone
left, right = st.columns(2)
a = left.selectbox("Policy A", sources, index=names.index("retention_offers.md"), key="ab_a")
b = right.selectbox("Policy B", sources, index=names.index("retention_offers_lean.md"), key="ab_b")
settings = run_settings("ab")
submitted = st.button("Compare", type="primary", key="run_compare")
shown = st.empty()  # while a comparison runs, the one shown before is cleared


def arm_policy(source: str, out: Path, arm: str) -> Path:
    """The file for one arm: a saved policy, or the chat lab's edited text written into the comparison folder."""
    if source != EDITED:
        return dict((p.name, p) for p in policy_files())[source]
    lab = st.session_state.lab
    problems = lint_text(lab.policy_text, lab.policy_path)
    if problems:
        raise RetentionLabError(f"the edited policy has lint problems: {problems[0]}")
    path = out / f"edited_{arm}_{lab.policy_path.name}"
    path.write_text(lab.policy_text, encoding="utf-8")
    return path


if submitted:
    try:
        if not settings.persona_ids:
            raise RetentionLabError("pick at least one persona")
        out = new_run_dir("compare")
        out.mkdir(parents=True)
        policy_a, policy_b = arm_policy(a, out, "a"), arm_policy(b, out, "b")
        template = RunConfig(policies=[policy_a], **settings.as_config_fields(), model=model, out=out)
        run_ab(ABConfig(a=policy_a, b=policy_b, out=out, template=template), progress_bars(live_figures=True))
        st.session_state.selected_comparison = str(out)
    except RetentionLabError as exc:
        st.error(md_escape(exc))

found = list_comparisons()
shown.empty()
if found:
    by_name = {p.name: p for p in found}
    selected = st.session_state.get("selected_comparison")
    if selected and st.session_state.get("ab_choice_shown") != selected and Path(selected).name in by_name:
        st.session_state.ab_choice = Path(selected).name  # a keyed selectbox ignores index=; its state decides
        st.session_state.ab_choice_shown = selected
    folder = by_name[st.selectbox("Comparisons", list(by_name), key="ab_choice")]
    report = (folder / "report.html").read_text(encoding="utf-8")
    st.download_button("Download report.html", report, file_name=f"{folder.name}.html", mime="text/html")
    embed_report(folder / "report.html")
else:
    st.info("No comparisons yet. Run one above, or `python -m evals compare --a FILE --b FILE`.")
