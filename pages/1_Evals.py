"""Batch evals: replay personas against policies, then browse runs, charts and conversations. UI only."""

from __future__ import annotations

import streamlit as st

from agent.errors import RetentionLabError
from evals.running.config import RunConfig
from evals.running.runs import list_runs, new_run_dir, run_progress
from evals.service import resume_eval, run_eval
from ui.lab import DEFAULT_POLICY_FILE, md_escape, policy_files
from ui.model_picker import model_picker
from ui.widgets import pick_run, progress_bars, run_controls, run_settings, show_run

st.set_page_config(page_title="Retention Lab · Evals", layout="wide")
st.title("Batch evals")

with st.sidebar:
    model = model_picker("evals_model")

# no form: Enter in a number field only sets the number; the run starts on its button alone
names = [p.name for p in policy_files()]
chosen = st.multiselect("Policies", names, default=[n for n in names if n == DEFAULT_POLICY_FILE], key="eval_policies")
settings = run_settings("eval")
submitted = st.button("Run eval", type="primary", key="run_eval")
shown_run = st.empty()  # while a run is going, the run shown before it is cleared, not left under its progress

if submitted:
    paths = {p.name: p for p in policy_files()}
    try:
        if not chosen or not settings.persona_ids:
            raise RetentionLabError("pick at least one policy and one persona")
        config = RunConfig(
            policies=[paths[n] for n in chosen], **settings.as_config_fields(), model=model, out=new_run_dir("eval")
        )
        st.session_state.selected_run = str(config.out)  # a stopped run is still the one to show
        st.button("Stop", key="stop_run", help="Stops between conversations; the run can be resumed below.")
        summary = run_eval(config, progress_bars(live_figures=True), label="Evaluating", controls=run_controls())
        errors = sum(r.error is not None for r in summary.records)
        if errors:
            st.warning(f"Finished with {errors} error(s): {summary.out.name}")
        else:
            st.success(f"Finished: {summary.out.name}")
    except RetentionLabError as exc:
        st.error(md_escape(exc))

runs = list_runs()
shown_run.empty()
if not runs:
    st.info("No runs yet: run one above, or with `python -m evals run --policy policies/retention_offers.md`.")
else:
    run = pick_run("Past runs", runs, "eval_run_choice", st.session_state.get("selected_run"))
    done, total = run_progress(run)
    if done < total:
        st.warning(f"This run is unfinished: {done} of {total} conversations. It can be resumed.")
        if st.button("Resume this run", key="resume_run"):
            try:
                resume_eval(run, model, progress_bars(), run_controls())
                st.rerun()
            except RetentionLabError as exc:
                st.error(md_escape(exc))
    show_run(run)
