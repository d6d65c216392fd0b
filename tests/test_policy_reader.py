"""The policy reader follows the text, not one layout: a labelled set of layouts and wordings (none of them shipped)."""

from __future__ import annotations

import pytest
import yaml

from agent.policy.offers import read_offer_plan
from agent.tools.toolkit import offer_tools
from tests.conftest import ROOT

CASES = yaml.safe_load((ROOT / "fixtures" / "labelled" / "policy_layouts.yaml").read_text(encoding="utf-8"))["cases"]


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_each_layout_gives_its_labelled_plan(case):
    read = read_offer_plan(case["body"], offer_tools(), "case.md")
    plan = read.effective()
    assert [[o.kind.value, list(o.percents)] for o in plan.options] == case["offers"], read.describe()
    assert sorted(x.kind.value for x in read.exclusions if x.kind) == sorted(case.get("excluded", []))
    assert plan.pacing == case.get("pacing", "together")


def test_the_same_offers_in_every_layout_give_the_same_plan():
    layouts = ["bullet list", "numbered list without tools", "table"]
    plans = [read_offer_plan(c["body"], offer_tools()).effective() for c in CASES if c["name"] in layouts]
    assert len({tuple((o.kind, o.percents) for o in p.options) for p in plans}) == 1


def test_every_offer_keeps_its_line():
    case = next(c for c in CASES if c["name"] == "one heading per offer")
    plan = read_offer_plan(case["body"], offer_tools(), "case.md", first_line=8)
    assert [o.where for o in plan.options] == ["case.md:9", "case.md:13", "case.md:16"]
