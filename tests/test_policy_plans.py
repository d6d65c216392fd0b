"""The policy's plan is explicit: the layouts issue 22 found misread (a tiered discount, a shipped-only coupon, a
priority column, numbered sub-steps, a hand-over that names no tool) act as their confirmed plan end to end through
`python -m agent chat`, the store enforces the plan, a drafted-then-confirmed plan is the explicit one, and a draft
that says less than the text is refused by `evals run` until it is confirmed."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

from agent.errors import RuleViolation
from agent.policy.compiled import compile_policy_file, compile_policy_text
from agent.policy.offer_rules import PlanOfferRules
from agent.policy.plan_draft import plan_yaml, write_plan
from agent.policy.plan_spec import PlanSpec
from agent.store.fixtures import default_fixtures
from agent.store.world import World
from agent.tools.toolkit import Toolkit
from evals.personas.loader import load_personas
from evals.running.config import RunConfig
from evals.running.runner import execute_run
from tests.conftest import POLICIES, ROOT, prose_only
from tests.test_offline_cases import chat, order, writes

LAYOUTS = ROOT / "fixtures" / "policy_layouts"
OPENING = "I want to cancel my order"


def layout(name: str) -> str:
    return str(LAYOUTS / f"{name}.md")


@pytest.mark.parametrize(("customer", "order_id", "percent"), [(11, "000000119", 5), (1, "000000101", 10),
                                                               (3, "000000105", 15)])  # fmt: skip
def test_a_tiered_discount_gives_the_tier_of_the_orders_total(tmp_path, customer, order_id, percent):
    state = chat(customer, [OPENING, "yes please"], tmp_path, layout("tiered_discount"))
    assert f"{percent}% off this order" in state["transcript"][1]["content"]
    assert order(state, order_id)["discount_percent"] == percent


def test_a_coupon_for_shipped_orders_is_never_offered_on_an_unshipped_one(tmp_path):
    state = chat(1, [OPENING, "I'd rather have a coupon for next time", "no thanks"], tmp_path,
                 layout("shipped_only_coupon"))  # fmt: skip
    assert "coupon" not in state["transcript"][1]["content"].lower()
    assert state["final_state"]["coupons"] == [] and order(state, "000000101")["status"] == "canceled"


def test_a_priority_column_decides_which_offer_comes_first(tmp_path):
    state = chat(1, [OPENING, "yes please"], tmp_path, layout("priority_table"))
    assert "20% coupon" in state["transcript"][1]["content"] and "expedited" not in state["transcript"][1]["content"]
    assert [c["discount_percent"] for c in state["final_state"]["coupons"]] == [20]
    assert order(state, "000000101")["discount_percent"] == 0


def test_numbered_sub_steps_are_made_one_after_the_other(tmp_path):
    state = chat(1, [OPENING, "no thanks", "ok, yes to that"], tmp_path, layout("numbered_substeps"))
    replies = [line["content"] for line in state["transcript"] if line["role"] == "agent"]
    assert "expedited" in replies[0] and "15% off" not in replies[0] and "15% off this order" in replies[1]
    assert order(state, "000000101")["discount_percent"] == 15 and writes(state) == [
        "set_discount_to_order",
        "send_async_message",
    ]


def test_hand_the_ticket_to_a_human_without_naming_the_tool_is_a_hand_over(tmp_path):
    state = chat(1, [OPENING, "can I speak to a human please?"], tmp_path, layout("hand_ticket_to_human"))
    tags = {t["name"] for t in state["final_state"]["ticket"]["tags"]}
    assert "escalated" in tags and order(state, "000000101")["status"] == "pending"


@pytest.mark.parametrize("policy", sorted(p.name for p in POLICIES.glob("*.md")))
def test_a_drafted_and_confirmed_plan_is_the_shipped_explicit_one(tmp_path, policy):
    """Strip the plan from a shipped policy, draft it from the prose and write it back: the same file."""
    shipped = (POLICIES / policy).read_text(encoding="utf-8")
    draft = tmp_path / policy
    draft.write_text(prose_only(shipped), encoding="utf-8")
    write_plan(compile_policy_file(draft))
    assert draft.read_text(encoding="utf-8") == shipped


def test_the_explicit_plan_and_its_draft_play_every_persona_identically(tmp_path):
    drafted = tmp_path / "drafted"
    drafted.mkdir()
    (drafted / "retention_offers.md").write_text(prose_only((POLICIES / "retention_offers.md").read_text()))
    records = {}
    for name, policy in (("explicit", POLICIES / "retention_offers.md"), ("draft", drafted / "retention_offers.md")):
        config = RunConfig(policies=[policy], trials=1, cache_path=None, out=tmp_path / name)
        records[name] = {r.key: r for r in execute_run(config)}
    assert records["explicit"].keys() == records["draft"].keys() and len(records["draft"]) == len(load_personas())
    for key, explicit in records["explicit"].items():
        draft = records["draft"][key]
        assert (explicit.fingerprint, explicit.outcome, explicit.expected.outcome) == (
            draft.fingerprint, draft.outcome, draft.expected.outcome), key  # fmt: skip
        assert [(s.name, s.passed) for s in explicit.scores] == [(s.name, s.passed) for s in draft.scores], key


def test_the_store_refuses_what_the_plan_does_not_allow():
    fixtures = default_fixtures()
    tiered = compile_policy_file(layout("tiered_discount"))
    world = World(fixtures, 1, 15, offer_rules=PlanOfferRules(tiered.offer_plan))
    with pytest.raises(RuleViolation, match="at most 10% on this order"):
        Toolkit(world).set_discount_to_order("000000101", 15)  # the 100-200 tier on a $148 order
    with pytest.raises(RuleViolation, match="no shipping upgrade offer"):
        Toolkit(world).upgrade_shipping("000000101")
    none = compile_policy_file(POLICIES / "cancel_without_retention.md")
    world = World(fixtures, 12, 0, offer_rules=PlanOfferRules(none.offer_plan))
    with pytest.raises(RuleViolation, match="no swap offer"):
        Toolkit(world).swap_order_item("000000121", "JKT-RAIN-M", "JKT-RAIN-PRO-M")


def test_agent_plan_prints_yaml_that_parses_back_into_the_plan():
    compiled = compile_policy_file(POLICIES / "retention_offers.md")
    printed = yaml.safe_load(plan_yaml(compiled))["plan"]
    assert PlanSpec.model_validate(printed) == compiled.main.meta.plan


def test_a_draft_that_says_less_than_the_text_is_named_by_lint_and_refused_by_evals_run(tmp_path):
    policy = tmp_path / "tiers.md"
    policy.write_text(prose_only((LAYOUTS / "tiered_discount.md").read_text()), encoding="utf-8")
    lint = subprocess.run([sys.executable, "-m", "agent", "lint", str(policy)], cwd=ROOT, capture_output=True,
                          text=True)  # fmt: skip
    # line 12 is "under $100: 5% off; $100–200: 10% off; over $200: 15% off." once the plan is gone
    assert "condition on the order" in lint.stdout and ":12: warning" in lint.stdout, lint.stdout
    argv = ["run", "--policy", str(policy), "--trials", "1", "--no-cache", "--out", str(tmp_path / "run")]
    run = subprocess.run([sys.executable, "-m", "evals", *argv], cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 2 and "--allow-draft-plan" in run.stderr and "Traceback" not in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1 and not (tmp_path / "run").exists()


def test_an_explicit_plan_number_the_text_contradicts_is_a_lint_error():
    text = (POLICIES / "retention_offers.md").read_text().replace("      percent: 10\n", "      percent: 12\n")
    compiled = compile_policy_text(text, POLICIES / "retention_offers.md")
    from agent.policy.lint import coverage_problems

    errors = [p for p in coverage_problems(compiled) if p.severity == "error"]
    assert errors and "10%" in errors[0].message and errors[0].line == 43


def test_a_conditional_offer_made_on_the_wrong_order_is_a_violation():
    from tests.test_evals_scorers import play, rescore, with_reply

    policy = LAYOUTS / "shipped_only_coupon.md"
    record = play("discount_at_once", policy)  # customer 1, order 000000101: pending
    assert rescore(record, policy)["adherence.offers_fit_the_order"] is True
    coupon = with_reply(record, 1, "Before I cancel, I can give you a 15% coupon for your next purchase.")
    assert rescore(coupon, policy)["adherence.offers_fit_the_order"] is False
    assert "adherence.offers_fit_the_order" not in rescore(play("discount_at_once"))  # unconditional plan: not stated


@pytest.mark.parametrize(
    ("body", "line_says"),
    [
        ("Customers with orders over $150 get 15% off; everyone else gets free express shipping.", "condition"),
        ("Biete zuerst 10 % Rabatt an. Lehnt der Kunde ab, biete einen Gutschein über 20 % an.", "not in the plan"),
        ("If the parcel is already on its way, we can only offer a 10% voucher for next time.", "condition"),
    ],
)
def test_lint_names_a_line_written_in_words_the_reader_was_not_built_on(tmp_path, body, line_says):
    """Phrasings tried after the labelled sets: the draft misses what they say, and lint names the line."""
    front = "---\nname: Own\nversion: 1.0.0\ndescription: d\nlimits:\n  max_discount_percent: 20\n---\n"
    policy = tmp_path / "own.md"
    policy.write_text(front + body + "\n", encoding="utf-8")
    compiled = compile_policy_file(policy)
    from agent.policy.lint import coverage_problems

    assert any(p.line == 8 and line_says in p.message for p in coverage_problems(compiled))


def test_no_single_offer_gives_away_more_than_the_policys_share_of_the_order():
    """limits.max_value_percent: 25 in retention_offers.md. Socks ($24) for hiking boots ($165) would give away $141
    of a $143 order; a trail runner for the Pro ($20 more) and the shipping upgrade ($10 more) stay within it."""
    policy = compile_policy_file(POLICIES / "retention_offers.md")
    rules = PlanOfferRules(policy.offer_plan, policy.main.meta.limits.max_value_percent)
    world = World(default_fixtures(), 1, 15, offer_rules=rules)
    with pytest.raises(RuleViolation, match="gives away 141.00 USD, more than the policy's 25%"):
        Toolkit(world).swap_order_item("000000101", "SOCK-MERINO-3", "SHOE-HIKE-42")
    Toolkit(world).swap_order_item("000000101", "SHOE-TRAIL-42", "SHOE-TRAIL-PRO-42")


def test_a_plan_line_that_does_not_name_its_offer_is_a_warning(tmp_path):
    from agent.policy.lint import lint_text

    text = (POLICIES / "retention_offers.md").read_text(encoding="utf-8")
    text = text.replace("      line: 44\n", "      line: 46\n")
    problems = [p for p in lint_text(text, tmp_path / "retention_offers.md") if "does not name it" in p.message]
    assert [(p.severity, "shipping_upgrade entry says line 46" in p.message) for p in problems] == [("warning", True)]
