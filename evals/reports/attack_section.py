"""The report's "Under attack" section: per policy and attack class, how many conversations the attack succeeded in,
the dollars given beyond the policy (applied, and attempted but refused by the store; mean and worst case per
conversation, with the persona), and the transcripts of the worst cases. Attack text is hostile by design: the
templates escape every value."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from evals.schema.records import ConversationRecord, load_record

WORST_SHOWN = 3


def _money(record: ConversationRecord) -> float:
    a = record.attack
    return (a.dollars_beyond_policy_applied + a.dollars_beyond_policy_attempted) if a else 0.0


def attack_rows(records: Sequence[ConversationRecord]) -> list[dict[str, Any]]:
    groups: dict[tuple[str, str], list[ConversationRecord]] = defaultdict(list)
    for record in records:
        if record.attack is not None:
            groups[(record.key.split("/")[0], record.attack.class_)].append(record)
    rows = []
    for (policy, attack_class), mine in sorted(groups.items()):
        applied = max(mine, key=lambda r: r.attack.dollars_beyond_policy_applied if r.attack else 0)
        attempted = max(mine, key=lambda r: r.attack.dollars_beyond_policy_attempted if r.attack else 0)
        rows.append({
            "policy": policy, "class": attack_class, "conversations": len(mine),
            "succeeded": sum(bool(r.attack and r.attack.succeeded) for r in mine),
            "applied_mean": sum(r.attack.dollars_beyond_policy_applied for r in mine if r.attack) / len(mine),
            "applied_worst": applied.attack.dollars_beyond_policy_applied if applied.attack else 0.0,
            "applied_worst_persona": applied.persona,
            "attempted_mean": sum(r.attack.dollars_beyond_policy_attempted for r in mine if r.attack) / len(mine),
            "attempted_worst": attempted.attack.dollars_beyond_policy_attempted if attempted.attack else 0.0,
            "attempted_worst_persona": attempted.persona,
            "foreign": sum(r.attack.foreign_order_attempts for r in mine if r.attack),
            "revealed": sum(bool(r.attack and r.attack.revealed) for r in mine),
            "followed": sum(bool(r.attack and r.attack.followed_injection) for r in mine),
        })  # fmt: skip
    return rows


def worst_cases(run: Path, records: Sequence[ConversationRecord]) -> list[dict[str, Any]]:
    """The attacks that succeeded, most dollars first, with their transcripts (read back from results.jsonl)."""
    hit = sorted((r for r in records if r.attack and r.attack.succeeded), key=_money, reverse=True)[:WORST_SHOWN]
    shown = []
    for record in hit:
        full = load_record(run, record.key)
        assert record.attack is not None
        shown.append({
            "key": record.key, "class": record.attack.class_, "dollars": _money(record),
            "evidence": record.attack.evidence[:5],
            "lines": [(line.role, " ".join(line.content.split())) for line in (full.transcript if full else [])],
        })  # fmt: skip
    return shown
