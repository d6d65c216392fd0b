"""The mutation harness: play every persona under every policy with the misbehaving agent double, once per mistake
and once clean, then join the double's ground truth with the scorers' verdicts.

For each mistake: in how many conversations it was made, how many of those the rules that exist for it flagged, and
how many only other rules (or only `correct_outcome`) noticed. For each rule: its false alarms on the clean runs.
A mistake made under a policy that does not state its rule is counted apart ("not stated"), never as a catch or a
miss. `python scripts/mutation_table.py` prints the table the README shows.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from evals.running.config import RunConfig
from evals.running.runner import execute_run
from evals.schema.records import ConversationRecord, iter_results
from testing.misbehaving_agent import MISTAKES, Injection, mistaken_agent

Played = list[tuple[ConversationRecord, Injection]]


@dataclass
class MistakeTally:
    mistake: str
    rules: tuple[str, ...]
    made: int = 0
    caught: int = 0
    not_stated: int = 0
    only_elsewhere: int = 0  # flagged, but not by the rules that exist for it
    misses: list[str] = field(default_factory=list)  # record keys, with what was injected


@dataclass
class RuleTally:
    rule: str
    scored: int = 0  # clean conversations where the rule applied
    false_alarms: int = 0
    alarms: list[str] = field(default_factory=list)


def play(mistake: str, policies: list[Path], out: Path, personas: list[str] | None = None, trials: int = 1) -> Played:
    """Every persona under every policy, played by the double making `mistake` ("" for a clean run). Each trial has
    its own seed, so its own reply style."""
    ledger: dict[tuple[str, int, int], Injection] = {}
    config = RunConfig(policies=policies, trials=trials, cache_path=None, out=out, persona_ids=personas)
    execute_run(config, agent=mistaken_agent(mistake, ledger))
    return [(r, ledger[(r.policy, r.customer_id, r.seed)]) for r in iter_results(out)]


def tally_mistake(mistake: str, played: Played) -> MistakeTally:
    rules = MISTAKES[mistake][1]
    tally = MistakeTally(mistake, rules)
    for record, injection in played:
        if injection.turn is None:
            continue
        if not any(record.score(rule) for rule in rules):
            tally.not_stated += 1
            continue
        tally.made += 1
        if any((s := record.score(rule)) is not None and s.passed is False for rule in rules):
            tally.caught += 1
            continue
        if any(s.passed is False for s in record.scores if s.name.startswith("adherence.")):
            tally.only_elsewhere += 1
        tally.misses.append(f"{record.key} [{injection.style}] turn {injection.turn}: {injection.detail}")
    return tally


def tally_clean(played: Played) -> list[RuleTally]:
    by_rule: dict[str, RuleTally] = {}
    for record, injection in played:
        for score in record.scores:
            if not score.name.startswith("adherence.") or score.passed is None:
                continue
            rule = by_rule.setdefault(score.name, RuleTally(score.name))
            rule.scored += 1
            if score.passed is False:
                rule.false_alarms += 1
                rule.alarms.append(f"{record.key} [{injection.style}]: {score.evidence[:160]}")
    return sorted(by_rule.values(), key=lambda r: r.rule)


def measure(
    policies: list[Path], mistakes: Iterable[str] = MISTAKES, personas: list[str] | None = None, trials: int = 1
) -> tuple[list[MistakeTally], list[RuleTally], Counter[str]]:
    """(each mistake's tally, each rule's false alarms on clean runs, the reply styles the clean runs used)."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        clean_runs = play("", policies, root / "clean", personas, trials)
        tallies = [tally_mistake(m, play(m, policies, root / m, personas, trials)) for m in mistakes]
    return tallies, tally_clean(clean_runs), styles_seen(clean_runs)


def markdown_table(tallies: list[MistakeTally], clean: list[RuleTally]) -> str:
    """The README's table: each mistake with the rules for it, how often it was made and caught; then each rule's
    false alarms on clean conversations."""
    rows = ["| injected mistake | rule(s) for it | made | caught | flagged only by another rule | not stated |",
            "|---|---|---:|---:|---:|---:|"]  # fmt: skip
    for t in tallies:
        rate = f"{t.caught}/{t.made} ({t.caught / t.made:.0%})" if t.made else "0/0"
        rules = ", ".join(r.removeprefix("adherence.") for r in t.rules)
        rows.append(f"| {t.mistake} | {rules} | {t.made} | {rate} | {t.only_elsewhere} | {t.not_stated} |")
    rows += ["", "| rule | clean conversations scored | false alarms |", "|---|---:|---:|"]
    for r in clean:
        rows.append(f"| {r.rule.removeprefix('adherence.')} | {r.scored} | {r.false_alarms} |")
    return "\n".join(rows)


def styles_seen(played: Played) -> Counter[str]:
    return Counter(injection.style for _, injection in played)
