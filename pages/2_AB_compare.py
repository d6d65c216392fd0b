"""A/B comparison of two policy wordings on the same personas and seeds. UI only."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from agent.errors import RetentionLabError
from agent.lab import policy_files
from agent.lint import lint_text
from agent.models import make_chat_model
from evals.compare import compare_runs
from evals.compare_report import write_comparison
from evals.runner import RunConfig
from evals.runs import list_comparisons, new_run_dir
from ui.model_picker import model_picker
from ui.widgets import run_settings, run_with_progress

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
with st.form("ab_form"):
    left, right = st.columns(2)
    a = left.selectbox("Policy A", sources, index=names.index("retention_offers.md"), key="ab_a")
    b = right.selectbox("Policy B", sources, index=names.index("retention_offers_lean.md"), key="ab_b")
    settings = run_settings("ab")
    submitted = st.form_submit_button("Compare", type="primary")


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
        make_chat_model(model)
        out = new_run_dir("compare")
        out.mkdir(parents=True)
        arms = []
        for arm, source in (("a", a), ("b", b)):
            config = RunConfig(
                policies=[arm_policy(source, out, arm)],
                **settings.as_config_fields(),
                model=model,
                out=out / f"arm_{arm}",
            )
            run_with_progress(config, f"Arm {arm.upper()} ({source})")
            arms.append(config.out)
        write_comparison(compare_runs(*arms), out)
        st.session_state.selected_comparison = str(out)
    except RetentionLabError as exc:
        st.error(str(exc))

found = list_comparisons()
if found:
    default = next((i for i, r in enumerate(found) if str(r) == st.session_state.get("selected_comparison")), 0)
    choice = st.selectbox("Comparisons", [p.name for p in found], index=default, key="ab_choice")
    folder = found[[p.name for p in found].index(choice)]
    report = (folder / "report.html").read_text(encoding="utf-8")
    st.download_button("Download report.html", report, file_name=f"{folder.name}.html", mime="text/html")
    # the report escapes every customer and model text (Jinja autoescape), so it is safe to embed
    st.iframe(folder / "report.html", height=1400)
else:
    st.info("No comparisons yet. Run one above, or `python -m evals compare --a FILE --b FILE`.")
