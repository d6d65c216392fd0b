"""Widgets shared by the chat lab and the Evals and A/B pages."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import streamlit as st

from agent.models import ModelSettings
from evals import charts
from evals.metrics import OUTCOMES, persona_outcomes, summarize
from evals.records import ConversationRecord
from evals.runner import RunConfig, read_results, run_eval
from evals.runs import load_record

MODEL_KINDS = ["offline (reference model)", "OpenAI", "OpenAI-compatible server"]


def model_picker(key: str = "model") -> ModelSettings:
    """Pick offline, OpenAI or a compatible server; explains what the offline model can and cannot see."""
    kind = st.radio("Model", MODEL_KINDS, key=f"{key}_kind")
    if kind == MODEL_KINDS[1]:
        name = st.text_input("OpenAI model", "gpt-4o-mini", key=f"{key}_openai")
        if not os.environ.get("OPENAI_API_KEY"):
            st.warning("OPENAI_API_KEY is not set: export it before `make run`, or use a compatible server.")
        return ModelSettings(spec=f"openai:{name}")
    if kind == MODEL_KINDS[2]:
        url = st.text_input(
            "Base URL", os.environ.get("OPENAI_BASE_URL", "http://127.0.0.1:8765/v1"), key=f"{key}_base_url"
        )
        name = st.text_input("Model name", "local", key=f"{key}_compat")
        return ModelSettings(spec=f"openai:{name}", base_url=url)
    st.caption(
        "Deterministic and offline. It follows the policy's structure (which offers, their order and "
        "numbers) and is blind to wording: rephrasing a policy does not change what it does."
    )
    return ModelSettings()


def run_with_progress(config: RunConfig, label: str) -> list[ConversationRecord]:
    bar = st.progress(0.0, text=f"{label}: starting…")

    def on_result(record: ConversationRecord, done: int, total: int) -> None:
        bar.progress(done / total, text=f"{label}: {done}/{total} · {record.key} → {record.outcome}")

    records = run_eval(config, on_result)
    bar.progress(1.0, text=f"{label}: {len(records)} conversations done")
    return records


def summary_frame(records: list[ConversationRecord]) -> pd.DataFrame:
    rows = []
    for stem, s in summarize(records).items():
        row = {
            "policy": stem,
            **{o: s.outcomes[o].fmt() for o in OUTCOMES},
            "correct outcome": s.correct.fmt(),
            "pass^1": round(s.pass_k.get(1, 0), 2),
            "value kept ($)": s.value_kept,
            "offer cost ($)": s.offer_cost,
        }
        rows.append(row)
    return pd.DataFrame(rows)


def show_run(run: Path) -> None:
    records = read_results(run, light=True)
    if not records:
        st.info("This run has no finished conversations yet.")
        return
    summaries = summarize(records)
    st.dataframe(summary_frame(records), hide_index=True, width="stretch")
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
    show_conversation_picker(run, records)


def show_conversation_picker(run: Path, records: list[ConversationRecord]) -> None:
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
        f"seed {record.seed} · expected {record.expected['outcome']} · stop: {record.stop_reason}"
        + (f" · error: {record.error}" if record.error else "")
    )
    for line in record.transcript:
        st.chat_message("user" if line["role"] == "customer" else "assistant").write(line["content"])
    st.markdown("**Tool trace**")
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "turn": c["turn"],
                    "tool": c["tool"],
                    "ok": c["ok"],
                    "args": str(c["args"]),
                    "result": c["result"][:200],
                }
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
