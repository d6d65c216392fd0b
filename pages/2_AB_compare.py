"""A/B comparison of two policy wordings on the same personas and seeds. UI only."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from agent.errors import RetentionLabError
from agent.policy.lint import lint_text
from evals.personas.loader import load_personas, persona_folder
from evals.running.config import RunConfig
from evals.running.runs import list_comparisons, new_run_dir
from evals.service import ABConfig, run_ab
from evals.stats.budget import PRIMARY_METRICS
from evals.stats.planner import plan_ab
from ui.lab import default_policy_index, md_escape, policy_files
from ui.model_picker import model_picker
from ui.widgets import embed_report, progress_bars, run_settings


@st.cache_data(show_spinner=False, max_entries=32)
def power_plan(persona_ids: tuple[str, ...], trials: int, effect: int) -> tuple[list[str], list[dict[str, object]]]:
    """The planner's sentences and its table (personas, trials, power), cached per choice."""
    personas = load_personas(persona_folder(), list(persona_ids) or None)
    planned = plan_ab(personas, trials, effect / 100, comparisons=60)
    rows = [{"personas": r.personas, "trials": r.trials, "power": f"{r.power:.0%}"} for r in planned.rows]
    return planned.lines(), rows


st.set_page_config(page_title="Retention Lab · A/B", layout="wide")
st.title("A/B comparison")
st.caption(
    "Both policies meet the same personas with the same per-trial seeds: every difference is within a matched pair."
)

with st.sidebar:
    model = model_picker("ab_model")

EDITED = "edited text from the chat lab"
paths = policy_files()
names = [p.name for p in paths]
sources = names + ([EDITED] if "lab" in st.session_state else [])
# no form: Enter in a number field only sets the number; the comparison starts on its button alone
left, right = st.columns(2)
a = left.selectbox("Policy A", sources, index=default_policy_index(paths), key="ab_a")
lean = names.index("retention_offers_lean.md") if "retention_offers_lean.md" in names else max(0, len(names) - 1)
b = right.selectbox("Policy B", sources, index=lean, key="ab_b")
settings = run_settings("ab")
decide, gates_box = st.columns(2)
primary = decide.selectbox(
    "Primary metric (decides 'Ship B?')", PRIMARY_METRICS, key="ab_primary",
    help="Named before the run: it gets half of the report's 5% error budget.",
)  # fmt: skip
gate_text = gates_box.text_area(
    "Guard rails, one per line", key="ab_gates", placeholder="adherence>=-2pp\nescalation<=+5pp", height=80,
    help="Each passes when B is shown to be no worse than its margin; they share a quarter of the error budget.",
)  # fmt: skip
gates = tuple(line.strip() for line in gate_text.splitlines() if line.strip())
with st.expander("What can this comparison show? (power, before the run)"):
    effect = st.slider("True retention effect to detect (percentage points)", 5, 50, 20, 5, key="ab_effect")
    if st.button("Estimate power", key="ab_power"):
        with st.spinner("Simulating comparisons through the report's own verdict code…"):
            lines, rows = power_plan(tuple(settings.persona_ids or ()), settings.trials, effect)
        for line in lines:
            st.markdown(md_escape(line))
        st.dataframe(rows, hide_index=True)
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
        ab = ABConfig(a=policy_a, b=policy_b, out=out, template=template, primary=primary, gates=gates)
        run_ab(ab, progress_bars(live_figures=True))
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
