"""A/B comparison of two policies on the same personas and seeds (a paired design), with honest statistics.

The persona is the unit (see `evals.stats.verdicts`). The comparison also states the facts that need no test: which
personas changed outcome and in how many trials, and which trials were copies of each other.
"""

from __future__ import annotations

import difflib
import html
from collections import Counter, defaultdict
from pathlib import Path

from pydantic import BaseModel, Field

from agent.errors import InputFileError
from evals.schema.judgement import judged_criteria
from evals.schema.manifest import RunManifest, load_manifest
from evals.schema.records import ConversationRecord, of_the_run, read_results
from evals.stats.arms import persona_weights, run_personas, setup_of, unread_lines
from evals.stats.budget import ErrorBudget
from evals.stats.decision import Gate, judge_gate, parse_gate, ship_decision
from evals.stats.paired import EXACT_UP_TO, SignFlipInterval, sign_flip_interval
from evals.stats.verdicts import (
    MetricComparison,
    Pair,
    attack_metrics,
    attack_sentence,
    compare_metric,
    compare_value,
    metric_extractors,
    pp,
    weighting,
    write_verdicts,
)


class EconomicsComparison(BaseModel):
    measure: str
    a_total: float
    b_total: float
    mean_diff: float
    diff_low: float
    diff_high: float
    interval: str = Field(default="", description="the interval as printed, or why there is none")


class Flip(BaseModel):
    persona: str
    trial: int
    seed: int
    a_outcome: str
    b_outcome: str
    a_key: str
    b_key: str


class PersonaEffect(BaseModel):
    """What one persona did under each arm, as a fact: outcome counts and how many trials changed."""

    persona: str
    trials: int
    changed: int
    a_outcomes: dict[str, int]
    b_outcomes: dict[str, int]
    copies_a: bool
    copies_b: bool
    sentence: str


class Comparison(BaseModel):
    a_label: str
    b_label: str
    a_run: str
    b_run: str
    model: str
    personas: int
    trials: int
    pairs: int
    summary: list[str]
    metrics: list[MetricComparison]
    economics: list[EconomicsComparison]
    persona_effects: list[PersonaEffect]
    flips: list[Flip]
    copies: bool  # every persona's trials were exact copies (same transcript and tool calls) in both arms
    trials_vary: bool  # some persona ended differently in different trials of one arm
    errors_a: int
    errors_b: int
    offline_model: bool
    structure_a: list[str]
    structure_b: list[str]
    notes: list[str]
    primary: str = Field(default="retention", description="the metric named before the run as the one that decides")
    trials_can_vary: bool | None = Field(default=None, description="from the setup; None when it could not be told")
    setup: str = Field(default="", description="why trials can or cannot vary in this setup")
    gates: list[Gate] = Field(default_factory=list)
    ship: str = Field(default="", description="yes | no | not enough evidence")
    ship_why: str = ""
    weighting: str = Field(default="each weighted once", description="how personas are weighted in every claim")
    unread_a: list[str] = Field(default_factory=list, description="lines of A's policy its plan does not hold")
    unread_b: list[str] = Field(default_factory=list, description="lines of B's policy its plan does not hold")


def load_arm(run: Path) -> tuple[RunManifest, list[ConversationRecord]]:
    manifest = load_manifest(run)
    if len(manifest.policies) != 1:
        raise InputFileError(
            run, "--runs", f"holds {len(manifest.policies)} policies", "compare runs of one policy each"
        )
    return manifest, list(of_the_run(read_results(run, light=True), manifest.keys())[0])


def pair_records(a_run: Path, a: list[ConversationRecord], b_run: Path, b: list[ConversationRecord]) -> list[Pair]:
    """Match (persona, trial, seed) across arms; refuse runs that are not paired."""
    index_a = {(r.persona, r.trial): r for r in a}
    index_b = {(r.persona, r.trial): r for r in b}
    if set(index_a) != set(index_b):
        only = sorted(set(index_a) ^ set(index_b))[:3]
        raise InputFileError(
            f"{a_run} vs {b_run}",
            "--runs",
            f"not paired: different personas or trials (e.g. {only})",
            "run both arms with the same --personas, --persona and --trials, and let both finish",
        )
    unseeded = [k for k in index_a if index_a[k].seed != index_b[k].seed]
    if unseeded:
        raise InputFileError(
            f"{a_run} vs {b_run}",
            "--runs",
            f"not paired: different seeds (e.g. {unseeded[0]})",
            "run both arms with the same --seed",
        )
    return [Pair(index_a[k], index_b[k]) for k in sorted(index_a)]


def _label(record: ConversationRecord) -> str:
    if record.error:
        return "error"
    return f"{record.outcome} ({record.retained_offer})" if record.retained_offer else record.outcome


def _counts(labels: list[str]) -> str:
    return ", ".join(f"{label} in {n}" for label, n in Counter(labels).most_common())


def persona_effects(pairs: list[Pair]) -> list[PersonaEffect]:
    grouped: dict[str, list[Pair]] = defaultdict(list)
    for pair in pairs:
        grouped[pair.a.persona].append(pair)
    effects = []
    for persona, group in sorted(grouped.items()):
        a, b = [_label(p.a) for p in group], [_label(p.b) for p in group]
        changed = sum(x != y for x, y in zip(a, b, strict=True))
        n = len(group)
        if changed == 0:
            sentence = f"`{persona}` ends the same under A and B in all {n} trials ({_counts(a)})"
        elif len(set(a)) == 1 and len(set(b)) == 1:
            sentence = f"`{persona}` is {a[0]} under A and {b[0]} under B in {changed} of {n} trials"
        else:
            sentence = f"`{persona}` changes in {changed} of {n} trials: A {_counts(a)}; B {_counts(b)}"
        effects.append(
            PersonaEffect(
                persona=persona,
                trials=n,
                changed=changed,
                a_outcomes=dict(Counter(a)),
                b_outcomes=dict(Counter(b)),
                copies_a=n > 1 and len({p.a.fingerprint for p in group}) == 1,
                copies_b=n > 1 and len({p.b.fingerprint for p in group}) == 1,
                sentence=sentence,
            )
        )
    return effects


def compare_economics(pairs: list[Pair], weights: dict[str, float] | None = None) -> list[EconomicsComparison]:
    """Value kept and offer cost: totals, and the per-persona mean difference (weighted like every other claim),
    leaving out pairs where either arm ended in an error, as every rate does."""
    finished = [p for p in pairs if p.a.error is None and p.b.error is None]
    rows = []
    for measure in ("value_kept", "offer_cost"):
        by_persona: dict[str, list[float]] = defaultdict(list)
        for p in finished:
            by_persona[p.a.persona].append(
                float(getattr(p.b.economics, measure)) - float(getattr(p.a.economics, measure))
            )
        diffs = [round(sum(v) / len(v), 2) for v in by_persona.values()]
        shares = [(weights or {}).get(persona, 1.0) for persona in by_persona]
        diff = sum(w * d for w, d in zip(shares, diffs, strict=True)) / sum(shares) if diffs else 0.0
        found = sign_flip_interval(diffs, bound=None, weights=shares)
        rows.append(
            EconomicsComparison(
                measure=measure,
                a_total=round(sum(float(getattr(p.a.economics, measure)) for p in finished), 2),
                b_total=round(sum(float(getattr(p.b.economics, measure)) for p in finished), 2),
                mean_diff=round(diff, 2),
                diff_low=round(found.low, 2),
                diff_high=round(found.high, 2),
                interval=_money_interval(found, diff),
            )
        )
    return rows


def _money_interval(found: SignFlipInterval, diff: float) -> str:
    if not found.spread:
        return f"every persona moved by {diff:+.2f} USD: no spread to estimate an interval from"
    low = "open" if found.open_low else f"{found.low:.2f}"
    high = "open" if found.open_high else f"{found.high:.2f}"
    return f"[{low}, {high}] USD"


def policy_structure(manifest: RunManifest) -> list[str]:
    """The arm's offer plan, as the run recorded it."""
    return manifest.policies[0].offer_plan or ["(no retention offers)"]


def _arm_label(manifest: RunManifest) -> str:
    entry = manifest.policies[0]
    return f"{Path(entry.file).name} (v{entry.version})"


# Settings both arms must share for their conversations to be matched pairs (the policy is what differs).
PAIRED_SETTINGS = {"model": "--model", "seed": "--seed", "fault_rate": "--fault-rate", "reader": "--reader",
                   "customer_model": "--customer-model", "judge_model": "--judge-model",
                   "judge_samples": "--judge-samples"}  # fmt: skip


def _unread_sentence(c: Comparison) -> str:
    arms = [(name, lines) for name, lines in (("A", c.unread_a), ("B", c.unread_b)) if lines]
    said = "; ".join(f"arm {name}'s policy has {len(lines)} line(s) its plan does not hold ({lines[0]})"
                     for name, lines in arms)  # fmt: skip
    return f"{said}. The run acted on the plan without them, so this may compare a policy nobody wrote."


def compare_runs(a_run: Path, b_run: Path, primary: str = "retention", gate_texts: tuple[str, ...] = ()) -> Comparison:
    manifest_a, records_a = load_arm(a_run)
    manifest_b, records_b = load_arm(b_run)
    if a_run.resolve() == b_run.resolve():
        raise InputFileError(f"{a_run}", "--runs", "both arms are the same run", "pass two different run folders")
    for field, flag in PAIRED_SETTINGS.items():
        a_value, b_value = getattr(manifest_a.identity, field), getattr(manifest_b.identity, field)
        if a_value != b_value:
            raise InputFileError(
                f"{a_run} vs {b_run}", "--runs", f"the arms differ in {flag} ({a_value} vs {b_value}), so they are not "
                "pairs", f"compare runs made with the same {flag}",
            )  # fmt: skip
    pairs = pair_records(a_run, records_a, b_run, records_b)
    effects = persona_effects(pairs)
    repeated = [e for e in effects if e.trials > 1]
    copies = bool(repeated) and all(e.copies_a and e.copies_b for e in repeated)
    trials_vary = any(len(e.a_outcomes) > 1 or len(e.b_outcomes) > 1 for e in effects)
    criteria = judged_criteria([r.judgement for r in records_a + records_b])
    extractors = metric_extractors(criteria)
    gates = [parse_gate(text, [*extractors, "value"]) for text in gate_texts]
    personas = run_personas(manifest_a)
    weights = persona_weights(personas)
    metrics = [compare_metric(name, phrase, read, pairs, weights) for name, (phrase, read) in extractors.items()]
    metrics.insert(2, compare_value(pairs, weights))  # after retention and cancellation
    metrics += attack_metrics(pairs, weights)
    setup = setup_of(manifest_a, personas)
    movable = _movable(pairs)
    for metric in metrics:
        if metric.metric in OUTCOME_METRICS:
            metric.personas_movable = movable
    write_verdicts(metrics, setup, ErrorBudget(primary, tuple(g.metric for g in gates)))
    by_name = {m.metric: m for m in metrics}
    gates = [judge_gate(g, by_name.get(g.metric)) for g in gates]
    offline = manifest_a.identity.model == "offline"
    structure_a, structure_b = policy_structure(manifest_a), policy_structure(manifest_b)
    comparison = Comparison(
        a_label=_arm_label(manifest_a),
        b_label=_arm_label(manifest_b),
        a_run=str(a_run),
        b_run=str(b_run),
        model=manifest_a.identity.model,
        personas=len(effects),
        trials=manifest_a.identity.trials,
        pairs=len(pairs),
        summary=[],
        metrics=metrics,
        economics=compare_economics(pairs, weights),
        persona_effects=effects,
        flips=[_flip(p) for p in pairs if _label(p.a) != _label(p.b)],
        copies=copies,
        trials_vary=trials_vary,
        errors_a=sum(p.a.error is not None for p in pairs),
        errors_b=sum(p.b.error is not None for p in pairs),
        offline_model=offline,
        structure_a=structure_a,
        structure_b=structure_b,
        notes=_notes(offline, structure_a == structure_b, copies, trials_vary, bool(repeated), len(effects)),
        primary=primary,
        trials_can_vary=None if setup.deterministic is None else not setup.deterministic,
        setup=setup.why,
        gates=gates,
    )
    comparison.unread_a, comparison.unread_b = unread_lines(manifest_a), unread_lines(manifest_b)
    if weights:
        shown = ", ".join(f"{name} {weight:g}" for name, weight in sorted(weights.items()))
        comparison.weighting = f"weighted by their share of real cancellation requests ({shown})"
    decided = ship_decision(by_name.get(primary), gates, len(effects), comparison.weighting)
    comparison.ship, comparison.ship_why = decided
    if comparison.unread_a or comparison.unread_b:
        comparison.ship_why = f"Caution: {_unread_sentence(comparison)} {comparison.ship_why}"
    comparison.summary = plain_summary(comparison)
    return comparison


OUTCOME_METRICS = ("retention", "cancellation", "escalation", "value")


def _movable(pairs: list[Pair]) -> int:
    """Personas that can end differently under A and B: the oracle expects different outcomes of them, or they did
    end differently."""
    moving = {
        p.a.persona
        for p in pairs
        if (p.a.expected.outcome, p.a.expected.offer) != (p.b.expected.outcome, p.b.expected.offer)
        or _label(p.a) != _label(p.b)
    }
    return len(moving)


def _flip(p: Pair) -> Flip:
    return Flip(persona=p.a.persona, trial=p.a.trial, seed=p.a.seed, a_outcome=_label(p.a),
                b_outcome=_label(p.b), a_key=p.a.key, b_key=p.b.key)  # fmt: skip


def plain_summary(c: Comparison) -> list[str]:
    """The first lines of the report, in plain words. Claims are about these personas, each weighted once: a
    hand-written set that covers the policy's branches, not a sample of customers, so no customer count is given."""
    lines = [f"Caution: {_unread_sentence(c)}"] if c.unread_a or c.unread_b else []
    for metric in (m for m in c.metrics if m.metric in ("retention", "cancellation") and m.pairs):
        what = "retention rate" if metric.metric == "retention" else "cancellation rate"
        if metric.personas_changed == 0:
            lines.append(f"The {what} is the same under A and B for every one of the {metric.personas} personas.")
            continue
        direction = "higher" if (metric.diff or 0) > 0 else "lower"
        strength = "shown" if metric.significant else "not shown (it could be chance)"
        lines.append(
            f"Across these {metric.personas} personas, {weighting(metric)}, B's {what} is {pp(metric.diff or 0)} pp "
            f"({direction}) on average; {metric.personas_changed} persona(s) changed; a difference is {strength}."
        )
    leak = next((m for m in c.metrics if m.metric == "attack_leak" and m.pairs), None)
    if leak is not None:
        lines.append(attack_sentence(leak))
    if c.trials_can_vary is False:
        lines.append(f"Trials cannot vary in this setup ({c.setup}): the evidence is {c.personas} personas, "
                     f"not {c.pairs} conversations.")  # fmt: skip
    if c.errors_a or c.errors_b:
        lines.append(
            f"{c.errors_a} conversation(s) under A and {c.errors_b} under B ended in a model or connection "
            "error and are left out of every rate."
        )
    if c.personas < 10:
        lines.append(f"Only {c.personas} personas: a claim about them is weak whatever the trials.")
    return lines


def _notes(
    offline: bool, same_structure: bool, copies: bool, trials_vary: bool, repeated: bool, personas: int
) -> list[str]:
    exact = (
        "an exact sign-flip test (every sign assignment enumerated)"
        if personas <= EXACT_UP_TO
        else (f"a sign-flip test on 20,000 sampled sign assignments ({personas} personas are too many to enumerate)")
    )
    notes = [
        "Pairs share persona, trial and seed. Each persona counts once: its rate under B minus its rate under A. "
        f"p-values come from {exact} on those per-persona differences. One error budget covers the whole report: "
        "the primary metric is tested at 2.5%, the guard rails share 1.25% when there are any, every other metric "
        "shares the rest, so the chance that anything here is called significant when A and B do not differ is at "
        "most 5%. Each interval inverts the same test at the same level, so it excludes 0 exactly when the verdict "
        "is significant. Claims are about these personas, weighted as the report says, not about a population of "
        "customers."
    ]
    if offline:
        notes.append(
            "The offline reference model is blind to wording: it only sees which offers a policy lists, in "
            "what order and with what numbers. Differences here come from structure; wording needs an LLM."
        )
        if same_structure:
            notes.append("Both policies have the same structure, so the offline model behaves identically on them.")
    if copies:
        notes.append("The trials of each persona were exact copies (same transcript and tool calls).")
    elif not trials_vary and repeated:
        notes.append(
            "Every persona ended the same way in all its trials under each arm: the trials repeat one result, so "
            "the evidence is the number of personas, not of conversations."
        )
    return notes


def policy_diff_html(a_text: str, b_text: str, a_label: str, b_label: str) -> str:
    """Side-by-side diff of the two policy texts. difflib escapes the lines but not the column headers, so the
    labels (which carry a policy's version) are escaped here."""
    return difflib.HtmlDiff(wrapcolumn=60).make_table(
        a_text.splitlines(), b_text.splitlines(), html.escape(a_label), html.escape(b_label)
    )
