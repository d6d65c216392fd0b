"""Batch evals: replay personas against policies, then browse runs, charts and conversations. UI only."""

from __future__ import annotations

import streamlit as st

from agent.errors import RetentionLabError
from agent.lab import policy_files
from agent.models import make_chat_model
from evals.report import write_report
from evals.runner import RunConfig
from evals.runs import list_runs, new_run_dir, run_title
from ui.model_picker import model_picker
from ui.widgets import run_settings, run_with_progress, show_run

st.set_page_config(page_title="Retention Lab · Evals", layout="wide")
st.title("Batch evals")

with st.sidebar:
    model = model_picker("evals_model")

with st.form("eval_form"):
    names = [p.name for p in policy_files()]
    chosen = st.multiselect("Policies", names, default=["retention_offers.md"], key="eval_policies")
    settings = run_settings("eval")
    submitted = st.form_submit_button("Run eval", type="primary")

if submitted:
    paths = {p.name: p for p in policy_files()}
    try:
        if not chosen or not settings.persona_ids:
            raise RetentionLabError("pick at least one policy and one persona")
        make_chat_model(model)
        out = new_run_dir("eval")
        config = RunConfig(
            policies=[paths[n] for n in chosen],
            **settings.as_config_fields(),
            model=model,
            out=out,
        )
        run_with_progress(config, "Evaluating")
        write_report(out)
        st.session_state.selected_run = str(out)
        st.success(f"Finished: {out.name}")
    except RetentionLabError as exc:
        st.error(str(exc))

runs = list_runs()
if not runs:
    st.info("No runs yet: run one above, or with `python -m evals run --policy policies/retention_offers.md`.")
else:
    titles = {run_title(r): r for r in runs}
    default = next((i for i, r in enumerate(runs) if str(r) == st.session_state.get("selected_run")), 0)
    choice = st.selectbox("Past runs", list(titles), index=default, key="eval_run_choice")
    show_run(titles[choice])
