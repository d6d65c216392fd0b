"""Altair charts shared by the HTML reports (as inline SVG) and the Streamlit pages (interactive).

Data goes in as rows (`alt.Data(values=...)`), every field typed: no pandas, which an eval would otherwise import
for its report alone (about 60 MB of memory).
"""

from __future__ import annotations

import altair as alt

from evals.stats.metrics import OUTCOMES, PolicySummary

OUTCOME_COLORS = alt.Scale(domain=list(OUTCOMES), range=["#2e7d32", "#c62828", "#f9a825", "#78909c"])


def outcome_mix(rows: list[dict]) -> alt.Chart:
    """Stacked bars: how each persona's conversations ended, one row of bars per policy."""
    return (
        alt.Chart(alt.Data(values=rows))
        .mark_bar()
        .encode(
            y=alt.Y("persona:N", title=None, sort=None),
            x=alt.X("count:Q", title="conversations", stack="normalize", axis=alt.Axis(format="%")),
            color=alt.Color("outcome:N", scale=OUTCOME_COLORS, legend=alt.Legend(orient="top")),
            row=alt.Row("policy:N", title=None, header=alt.Header(labelFontWeight="bold", labelOrient="top")),
            tooltip=["policy:N", "persona:N", "outcome:N", "count:Q"],
        )
        .properties(width=420, title="Outcome per persona")
    )


def overall_mix(summaries: dict[str, PolicySummary]) -> alt.FacetChart:
    rows = [
        {"policy": stem, "outcome": o, "rate": r.rate or 0, "low": r.low or 0, "high": r.high or 0}
        for stem, s in summaries.items()
        for o, r in s.outcomes.items()
    ]
    base = alt.Chart(alt.Data(values=rows))
    bars = base.mark_bar().encode(
        x=alt.X("outcome:N", sort=list(OUTCOMES), title=None, axis=alt.Axis(labelAngle=0)),
        y=alt.Y("rate:Q", axis=alt.Axis(format="%"), title="rate"),
        color=alt.Color("outcome:N", scale=OUTCOME_COLORS, legend=None),
        tooltip=["policy:N", "outcome:N", alt.Tooltip("rate:Q", format=".0%")],
    )
    errors = base.mark_rule().encode(x=alt.X("outcome:N", sort=list(OUTCOMES)), y="low:Q", y2="high:Q")
    return (
        (bars + errors)
        .properties(width=260, height=200)
        .facet(
            column=alt.Column("policy:N", title=None, header=alt.Header(labelFontWeight="bold")),
        )
        .properties(title="Outcomes overall, with 95% CI")
    )


def placeholder(text: str) -> alt.Chart:
    return alt.Chart(alt.Data(values=[{"text": text}])).mark_text(size=13).encode(text="text:N").properties(width=300)


def adherence(summaries: dict[str, PolicySummary]) -> alt.Chart:
    rows = [
        {
            "policy": stem,
            "rule": rule.removeprefix("adherence."),
            "rate": r.rate,
            "low": r.low,
            "high": r.high,
            "n": r.n,
        }
        for stem, s in summaries.items()
        for rule, r in s.adherence.items()
        if r.n
    ]
    if not rows:
        return placeholder("No adherence rule applied in these conversations.")
    data = alt.Data(values=rows)
    points = (
        alt.Chart(data)
        .mark_point(filled=True, size=70)
        .encode(
            y=alt.Y("rule:N", title=None),
            x=alt.X(
                "rate:Q",
                scale=alt.Scale(domain=[0, 1]),
                axis=alt.Axis(format="%"),
                title="followed (among conversations where the rule applied)",
            ),
            color="policy:N",
            yOffset="policy:N",
            tooltip=["policy:N", "rule:N", alt.Tooltip("rate:Q", format=".0%"), "n:Q"],
        )
    )
    rules = alt.Chart(data).mark_rule().encode(y="rule:N", yOffset="policy:N", x="low:Q", x2="high:Q", color="policy:N")
    return (rules + points).properties(width=420, title="Adherence per policy rule, with 95% CI")


def economics(summaries: dict[str, PolicySummary]) -> alt.Chart:
    rows = [
        {"policy": stem, "measure": m, "usd": v}
        for stem, s in summaries.items()
        for m, v in (("order value kept", s.value_kept), ("offer cost", s.offer_cost))
    ]
    return (
        alt.Chart(alt.Data(values=rows))
        .mark_bar()
        .encode(
            x=alt.X("measure:N", title=None, axis=alt.Axis(labelAngle=0)),
            y=alt.Y("usd:Q", title="USD"),
            xOffset="policy:N",
            color="policy:N",
            tooltip=["policy:N", "measure:N", alt.Tooltip("usd:Q", format=",.2f")],
        )
        .properties(width=300, height=220, title="Economics")
    )


def to_svg(chart: alt.TopLevelMixin) -> str:
    """A self-contained SVG (no JavaScript, no network) for the HTML report."""
    import vl_convert

    return vl_convert.vegalite_to_svg(chart.to_json())
