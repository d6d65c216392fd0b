"""The soft-criteria judge: exact behaviour with a scripted model, kept apart from the deterministic checks."""

from __future__ import annotations

from agent.store.fixtures import default_fixtures
from agent.store.trace import TranscriptLine
from evals.calibration.calibration import load_conversations, score_judge
from evals.judging.judge import Judge
from evals.judging.rubric import load_rubric
from evals.reading.rules import RulesReader
from evals.running.config import RunConfig
from evals.running.helpers import RunHelpers
from evals.running.play import build_model, run_conversation
from evals.running.runner import plan_jobs
from testing.scripted_model import ScriptedChatModel
from tests.conftest import POLICIES

TRANSCRIPT = [
    TranscriptLine(role="customer", content="I want to cancel, the jacket is too expensive."),
    TranscriptLine(role="agent", content="I understand the price matters. I can take 10% off this order."),
    TranscriptLine(role="customer", content="No thanks, just cancel."),
    TranscriptLine(role="agent", content="Order 000000102 is cancelled."),
]


def answer(**verdicts: str) -> dict:
    """A judge answer: pass and fail verdicts quote the agent; n/a needs no quote."""
    quote = "I can take 10% off this order."
    return {"verdicts": [{"criterion": c, "verdict": v, "evidence": "" if v == "n/a" else quote}
                         for c, v in verdicts.items()]}  # fmt: skip


def test_each_criterion_gets_the_majority_of_the_samples_and_their_agreement():
    names = load_rubric().names
    samples = [answer(**dict.fromkeys(names, "pass")), answer(**dict.fromkeys(names, "pass")),
               answer(**{**dict.fromkeys(names, "pass"), "empathy": "fail"})]  # fmt: skip
    judgement = Judge(ScriptedChatModel(script=samples), "scripted", samples=3).judge(TRANSCRIPT)
    by_name = {c.criterion: c for c in judgement.criteria}
    assert by_name["tone"].verdict == "pass" and by_name["tone"].agreement == 1.0
    assert by_name["empathy"].verdict == "pass" and by_name["empathy"].agreement == round(2 / 3, 3)
    assert by_name["empathy"].samples == ["pass", "pass", "fail"]
    assert by_name["tone"].evidence == "I can take 10% off this order."


def test_a_quote_that_is_not_in_the_conversation_makes_that_verdict_unusable():
    names = load_rubric().names
    made_up = answer(**dict.fromkeys(names, "fail"))
    made_up["verdicts"][0]["evidence"] = "You are wasting my time."
    judgement = Judge(ScriptedChatModel(script=[made_up]), "scripted").judge(TRANSCRIPT)
    first = judgement.criteria[0]
    assert first.verdict is None and "quote not in the conversation" in first.note
    assert judgement.criteria[1].verdict == "fail"


def test_a_broken_or_failed_judge_answer_is_an_error_never_a_crash():
    script = ["I would say the tone is fine.", TimeoutError("no answer"), {"verdicts": "all good"}]
    judgement = Judge(ScriptedChatModel(script=script), "scripted", samples=3).judge(TRANSCRIPT)
    assert judgement.criteria == [] and len(judgement.errors) == 3
    assert all("\n" not in e for e in judgement.errors)


def test_the_judge_never_changes_the_outcome_or_the_adherence_checks():
    config = RunConfig(policies=[POLICIES / "retention_offers.md"], persona_ids=["declines_everything"], trials=1,
                       cache_path=None)  # fmt: skip
    fixtures = default_fixtures()
    jobs, _, _ = plan_jobs(config, fixtures)
    model = build_model(config.model, None)
    plain = run_conversation(jobs[0], config, fixtures, model, None)
    harsh = Judge(ScriptedChatModel(script=[answer(**dict.fromkeys(load_rubric().names, "fail"))]), "scripted")
    judged = run_conversation(jobs[0], config, fixtures, model, None, RunHelpers(RulesReader(), harsh))
    assert judged.judgement is not None and {c.verdict for c in judged.judgement.criteria} <= {"fail", None}
    assert (judged.outcome, judged.scores) == (plain.outcome, plain.scores)


def test_the_labelled_conversations_cover_every_criterion_both_ways():
    labelled = load_conversations()
    assert len(labelled) >= 30
    for name in load_rubric().names:
        verdicts = [c.labels[name] for c in labelled]
        assert verdicts.count("pass") >= 6 and verdicts.count("fail") >= 6, name


def test_kappa_is_one_for_a_judge_that_agrees_with_every_label_and_low_for_one_that_always_passes():
    from evals.schema.judgement import ConversationJudgement, CriterionJudgement

    labelled = load_conversations()
    names = load_rubric().names

    def judgement(verdicts: dict[str, str]) -> ConversationJudgement:
        criteria = [CriterionJudgement(criterion=n, verdict=v, samples=[v], agreement=1.0) for n, v in verdicts.items()]
        return ConversationJudgement(judge="fake", criteria=criteria)

    perfect = score_judge([judgement(dict(c.labels)) for c in labelled], labelled, names)
    lazy = score_judge([judgement(dict.fromkeys(names, "pass")) for _ in labelled], labelled, names)
    assert all(k == 1.0 for k in perfect.kappa.values())
    assert all(k is None or k < 0.2 for k in lazy.kappa.values())


def test_reports_and_the_ab_comparison_show_the_judge_in_its_own_section(tmp_path, monkeypatch):
    import evals.running.planning as planning
    import evals.running.runner as runner
    from evals.service import compare_existing, run_eval

    names = load_rubric().names

    def scripted_judges(config, cache, traffic=None, agent=None):
        verdict = "pass" if "retention" in str(config.policies[0]) else "fail"
        script = [answer(**dict.fromkeys(names, verdict)) for _ in range(50)]
        return RunHelpers(RulesReader(), Judge(ScriptedChatModel(script=script), "scripted"))

    monkeypatch.setattr(runner, "build_helpers", scripted_judges)
    monkeypatch.setattr(planning, "build_helpers", scripted_judges)
    runs = []
    for policy in ("retention_offers.md", "cancel_without_retention.md"):
        personas = ["declines_everything", "discount_at_once"]
        config = RunConfig(policies=[POLICIES / policy], trials=1, cache_path=None, out=tmp_path / policy,
                           judge_model="openai:scripted", persona_ids=personas)  # fmt: skip
        summary = run_eval(config)
        runs.append(config.out)
        markdown = (config.out / "report.md").read_text(encoding="utf-8")
        assert "## Soft criteria (LLM judge" in markdown and "judged by `openai:scripted`" in markdown
        assert "judge.tone" in (config.out / "results.csv").read_text(encoding="utf-8").splitlines()[0]
        assert summary.records
    result = compare_existing(runs[0], runs[1], tmp_path / "ab")
    judge_rows = [m for m in result.comparison.metrics if m.family == "judge"]
    assert [m.metric for m in judge_rows] == [f"judge.{n}" for n in names]
    compare_md = result.reports[1].read_text(encoding="utf-8")
    assert "## Soft criteria (LLM judge" in compare_md
    verdict_table = compare_md.split("## Soft criteria")[0]
    assert "judge.tone" not in verdict_table  # the judge never mixes into the verdicts on outcomes and rules


def test_the_judges_tokens_are_priced_with_the_conversation_and_an_unpriced_judge_is_refused_a_budget(monkeypatch):
    import pytest

    from agent.errors import InputFileError
    from evals.running.pricing import cost_usd

    config = RunConfig(policies=[POLICIES / "retention_offers.md"], persona_ids=["declines_everything"], trials=1,
                       cache_path=None)  # fmt: skip
    fixtures = default_fixtures()
    jobs, _, _ = plan_jobs(config, fixtures)
    passing = answer(**dict.fromkeys(load_rubric().names, "pass"))
    judge = Judge(ScriptedChatModel(script=[passing], usage=(3000, 200)), "openai:gpt-4o")
    record = run_conversation(jobs[0], config, fixtures, build_model(config.model, None), None,
                              RunHelpers(RulesReader(), judge))  # fmt: skip
    assert record.economics.helper_tokens == {"openai:gpt-4o": [3000, 200]}
    assert record.economics.cost_usd == cost_usd("openai:gpt-4o", 3000, 200)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key")  # building the judge's client needs one
    unpriced = config.model_copy(update={"judge_model": "openai:a-model-with-no-price", "max_cost_usd": 1.0})
    with pytest.raises(InputFileError, match="no price for openai:a-model-with-no-price"):
        plan_jobs(unpriced, fixtures)
