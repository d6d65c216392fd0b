"""What changed between two scorings of the same conversations: rules added or dropped, verdicts and outcomes that
flipped. `python -m evals rescore` reports it."""

from __future__ import annotations

from pydantic import BaseModel, Field

from evals.schema.records import ConversationRecord


class Flip(BaseModel):
    key: str
    before: bool | str | None
    after: bool | str | None
    evidence: str = ""


class ScoringChanges(BaseModel):
    conversations: int
    rules_added: list[str] = Field(default_factory=list)
    rules_dropped: list[str] = Field(default_factory=list)
    verdict_flips: dict[str, list[Flip]] = Field(default_factory=dict, description="rule -> conversations that flipped")
    outcome_flips: list[Flip] = Field(default_factory=list)
    expected_flips: list[Flip] = Field(default_factory=list, description="the oracle's expected outcome changed")

    @property
    def unchanged(self) -> bool:
        return not (self.rules_added or self.rules_dropped or self.verdict_flips or self.outcome_flips
                    or self.expected_flips)  # fmt: skip

    def lines(self) -> list[str]:
        """The changes in a few plain lines, for the terminal and the report."""
        if self.unchanged:
            return [f"{self.conversations} conversation(s) rescored: no rule, verdict or outcome changed"]
        lines = [f"{self.conversations} conversation(s) rescored"]
        if self.rules_added:
            lines.append("rules added: " + ", ".join(self.rules_added))
        if self.rules_dropped:
            lines.append("rules dropped: " + ", ".join(self.rules_dropped))
        for rule, flips in self.verdict_flips.items():
            shown = ", ".join(f"{f.key} {_verdict(f.before)} -> {_verdict(f.after)}" for f in flips[:3])
            more = f" and {len(flips) - 3} more" if len(flips) > 3 else ""
            lines.append(f"{rule}: {len(flips)} verdict(s) flipped ({shown}{more})")
        for label, flips in (("outcome", self.outcome_flips), ("expected outcome", self.expected_flips)):
            if flips:
                shown = ", ".join(f"{f.key} {f.before} -> {f.after}" for f in flips[:3])
                lines.append(f"{label}: {len(flips)} changed ({shown}{' ...' if len(flips) > 3 else ''})")
        return lines


def _verdict(value: bool | str | None) -> str:
    return {True: "pass", False: "FAIL", None: "n/a"}.get(value, str(value))  # type: ignore[arg-type]


def scoring_changes(before: list[ConversationRecord], after: list[ConversationRecord]) -> ScoringChanges:
    """Compare the scores of the same records (matched by key) before and after a rescoring."""
    old = {r.key: r for r in before}
    rules_before = {s.name for r in before for s in r.scores}
    rules_after = {s.name for r in after for s in r.scores}
    changes = ScoringChanges(
        conversations=len(after),
        rules_added=sorted(rules_after - rules_before),
        rules_dropped=sorted(rules_before - rules_after),
    )
    for record in after:
        previous = old.get(record.key)
        if previous is None:
            continue
        for score in record.scores:
            was = previous.score(score.name)
            if was is not None and was.passed != score.passed:
                flip = Flip(key=record.key, before=was.passed, after=score.passed, evidence=score.evidence)
                changes.verdict_flips.setdefault(score.name, []).append(flip)
        if previous.outcome != record.outcome:
            changes.outcome_flips.append(Flip(key=record.key, before=previous.outcome, after=record.outcome))
        if previous.expected.outcome != record.expected.outcome:
            changes.expected_flips.append(
                Flip(key=record.key, before=previous.expected.outcome, after=record.expected.outcome)
            )
    return changes
