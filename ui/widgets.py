"""Widgets of the Evals and A/B pages (the chat lab imports only ui.model_picker, to keep its first render light)."""

from __future__ import annotations

import base64
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from agent.options import bounds
from evals.personas.loader import load_personas, persona_folder
from evals.reports import charts
from evals.reports.report import left_out_note
from evals.running.config import RunConfig
from evals.running.runner import RunControls
from evals.running.runs import run_progress, run_title
from evals.schema.manifest import load_manifest
from evals.schema.records import ConversationRecord, load_record, run_records
from evals.service import Progress
from evals.stats.arms import persona_weights, run_personas
from evals.stats.metrics import OUTCOMES, persona_outcomes, summarize
from ui.lab import md_escape, reply_markdown

FAILURE_CELL = "background-color: rgba(220, 53, 69, 0.30); font-weight: 600"  # readable in light and dark themes


@dataclass(frozen=True)
class RunSettings:
    """What the Evals and A/B forms share: which personas, how many trials, how many at once, which seed."""

    persona_ids: list[str]
    trials: int
    concurrency: int
    seed: int
    personas_dir: Path

    def as_config_fields(self) -> dict[str, Any]:
        return asdict(self)


def run_settings(key: str) -> RunSettings:
    """The persona picker and the trials, concurrency and seed inputs, with widget keys prefixed by `key`."""
    folder = persona_folder()
    personas = [p.id for p in load_personas(folder)]
    picked = st.multiselect("Personas", personas, default=personas, key=f"{key}_personas")
    left, middle, right = st.columns(3)
    return RunSettings(
        persona_ids=picked,
        trials=config_number(left, "trials", "Trials per persona", key),
        concurrency=config_number(middle, "concurrency", "Concurrency", key),
        seed=config_number(right, "seed", "Base seed", key),
        personas_dir=folder,
    )


def config_number(container: Any, field: str, label: str, key: str) -> int:
    """A number input for one of RunConfig's integer fields: its range, default and help are the field's own."""
    low, high, default = bounds(RunConfig, field)
    help_text = RunConfig.model_fields[field].description
    return int(container.number_input(label, low, high, default, key=f"{key}_{field}", help=help_text))


def progress_bars(live_figures: bool = False) -> Callable[[Progress], None]:
    """A progress callback for the service layer: one Streamlit progress bar per label (one per A/B arm), and with
    `live_figures` this run's own figures so far under each bar (outcomes, wrong outcomes, rule failures, errors)."""
    bars: dict[str, Any] = {}
    figures: dict[str, Any] = {}
    counts: dict[str, Counter[str]] = {}

    def update(event: Progress) -> None:
        if event.label not in bars:
            bars[event.label] = st.progress(0.0, text=f"{event.label}: starting…")
            figures[event.label] = st.empty()
            counts[event.label] = Counter()
        text = f"{event.label}: {event.done}/{event.total} · {event.record.key} → {event.record.outcome}"
        bars[event.label].progress(event.done / event.total, text=text)
        if live_figures:
            tally = counts[event.label]
            tally.update(live_tally(event.record))
            figures[event.label].caption(f"This run so far: {live_line(tally)}")

    return update


def live_tally(record: ConversationRecord) -> list[str]:
    """What one finished conversation adds to a run's live figures."""
    if record.error is not None:
        return ["error"]
    found = [record.outcome]
    if not record.correct:
        found.append("wrong outcome")
    found += ["rule failure"] * sum(s.passed is False for s in record.scores)
    return found


def live_line(tally: Counter[str]) -> str:
    order = [*OUTCOMES, "wrong outcome", "rule failure", "error"]
    return " · ".join(f"{name} {tally[name]}" for name in order if tally[name]) or "nothing yet"


def page_closed() -> bool:
    """True once the browser tab that started this script has gone: a run started from it stops starting new
    conversations (what finished is kept, and the run can be resumed)."""
    from streamlit.runtime import Runtime, exists
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    if ctx is None or not exists():
        return False
    return not Runtime.instance().is_active_session(ctx.session_id)


def run_controls() -> RunControls:
    """How a page steers a run: it stops when the tab closes. The Stop button needs nothing here: Streamlit stops
    the script, which cancels the run's conversations in flight through the same path as Ctrl+C."""
    return RunControls(should_stop=page_closed)


def embed_report(report: Path, height: int = 1400) -> None:
    """Show a report inside the page as a data: URL, so even a script that slipped into it runs in an opaque
    origin and cannot reach the app (the reports escape every value; this is the second wall)."""
    encoded = base64.b64encode(report.read_bytes()).decode()
    st.iframe(f"data:text/html;base64,{encoded}", height=height)


def pick_run(label: str, runs: list[Path], key: str, selected: str | None) -> Path:
    """A run picker that shows `selected` (the run just made) when it is there; unfinished runs are marked."""
    titles = {run_label(r): r for r in runs}
    wanted = next((t for t, r in titles.items() if str(r) == selected), None)
    if wanted and st.session_state.get(f"{key}_shown") != selected:
        st.session_state[key] = wanted  # a keyed selectbox ignores index=; its state decides
        st.session_state[f"{key}_shown"] = selected
    if st.session_state.get(key) not in titles:
        st.session_state[key] = next(iter(titles))
    return titles[st.selectbox(label, list(titles), key=key)]


def run_label(run: Path) -> str:
    done, total = run_progress(run)
    return run_title(run) + ("" if done >= total else f" · unfinished {done}/{total}")


def summary_frame(records: Sequence[ConversationRecord], weights: dict[str, float] | None = None) -> pd.DataFrame:
    rows = []
    for stem, s in summarize(records, weights).items():
        row = {
            "policy": stem,
            **{o: s.outcomes[o].fmt() for o in OUTCOMES},
            "correct outcome": s.correct.fmt(),
            "pass^1": round(s.pass_k.get(1, 0), 2),
            "value kept ($)": s.value_kept,
            "offer cost ($)": s.offer_cost,
            "errors": s.errors,
        }
        rows.append(row)
    return pd.DataFrame(rows)


def show_run(run: Path) -> None:
    records, left_out = run_records(run)
    if left_out:
        st.warning(md_escape(left_out_note(left_out)))
    if not records:
        st.info("This run has no finished conversations yet.")
        return
    weights = persona_weights(run_personas(load_manifest(run)))
    summaries = summarize(records, weights)
    st.dataframe(summary_frame(records, weights), hide_index=True, width="stretch")
    if weights:
        st.caption("Rates are weighted by the personas' `weight:` (their share of real requests).")
    errors = sum(r.error is not None for r in records)
    if errors:
        st.warning(f"{errors} conversation(s) ended in a model or connection error: they are left out of every rate.")
    left, right = st.columns(2)
    left.altair_chart(charts.overall_mix(summaries))
    right.altair_chart(charts.economics(summaries))
    st.altair_chart(charts.outcome_mix(persona_outcomes(records)))
    st.altair_chart(charts.adherence(summaries))
    report = run / "report.html"
    if report.exists():
        st.download_button(
            "Download report.html",
            report.read_bytes(),
            file_name=f"{run.name}-report.html",
            mime="text/html",
            key=f"dl_{run.name}",
        )
    show_failures(records)
    show_conversation_picker(run, records)
    if report.exists():
        with st.expander("The full report", expanded=False):
            embed_report(report)


def failure_rows(records: Sequence[ConversationRecord]) -> pd.DataFrame:
    """One row per failed check of a run: a wrong outcome, a rule that failed, or an error."""
    rows = []
    for r in records:
        base = {"conversation": r.key, "policy": r.policy, "persona": r.persona, "outcome": r.outcome}
        if r.error is not None:
            rows.append({**base, "check": "error", "evidence": r.error})
            continue
        if not r.correct:
            rows.append({**base, "check": "outcome", "evidence": f"expected {r.expected.outcome}: {r.expected.why}"})
        rows += [{**base, "check": s.name, "evidence": s.evidence} for s in r.scores if s.passed is False]
    return pd.DataFrame(rows, columns=["check", "persona", "policy", "outcome", "conversation", "evidence"])


def show_failures(records: Sequence[ConversationRecord]) -> None:
    """The run's failures, filterable by check, persona and outcome (click a column to sort)."""
    failures = failure_rows(records)
    st.subheader(f"Failures ({len(failures)})")
    if failures.empty:
        st.success("No failures: every outcome as expected, every rule passed, no errors.")
        return
    left, middle, right = st.columns(3)
    wanted = {
        "check": left.multiselect("Check", sorted(failures["check"].unique()), key="fail_check"),
        "persona": middle.multiselect("Persona", sorted(failures["persona"].unique()), key="fail_persona"),
        "outcome": right.multiselect("Outcome", sorted(failures["outcome"].unique()), key="fail_outcome"),
    }
    for column, values in wanted.items():
        if values:
            failures = failures[failures[column].isin(values)]
    styled = failures.style.map(lambda _: FAILURE_CELL, subset=["check"])
    st.dataframe(styled, hide_index=True, width="stretch", key="failures_table")


def show_conversation_picker(run: Path, records: Sequence[ConversationRecord]) -> None:
    def label(r: ConversationRecord) -> str:
        mark = "ok" if r.correct and r.adherence_ok else "CHECK"
        return f"[{mark}] {r.key} → {r.outcome}"

    keys = {label(r): r.key for r in sorted(records, key=lambda r: (r.correct and r.adherence_ok, r.key))}
    choice = st.selectbox("Open a conversation", list(keys), key=f"conv_{run.name}")
    record = load_record(run, keys[choice]) if choice else None
    if record is not None:
        show_conversation(record)


def show_conversation(record: ConversationRecord) -> None:
    st.caption(
        md_escape(
            f"seed {record.seed} · expected {record.expected.outcome} ({record.expected.why})"
            f" · stop: {record.stop_reason}" + (f" · error: {record.error}" if record.error else "")
        )
    )
    for line in record.transcript:
        if line.role == "customer":
            st.chat_message("user").markdown(md_escape(line.content).replace("\n", "  \n"))
        else:
            st.chat_message("assistant").markdown(reply_markdown(line.content))
    st.markdown("**Tool trace**")
    st.dataframe(
        pd.DataFrame(
            [
                {"turn": c.turn, "tool": c.tool, "ok": c.ok, "args": str(c.args), "result": c.result[:200]}
                for c in record.trace
            ]
        ),
        hide_index=True,
        width="stretch",
    )
    st.markdown("**Scores**")
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "score": s.name,
                    "passed": {True: "pass", False: "FAIL", None: "n/a"}[s.passed],
                    "evidence": s.evidence,
                }
                for s in record.scores
            ]
        ),
        hide_index=True,
        width="stretch",
    )
