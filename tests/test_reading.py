"""The one reader of agent replies: the rules reader on the labelled sets and the cases it once misread, the model
reader with a scripted model, and the `read` and `calibrate` commands."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from evals.calibration.calibration import REPLY_SETS, TUNED_REPLY_SETS, load_replies, score_reader
from evals.reading.model import ModelReader
from evals.reading.rules import RulesReader
from testing.scripted_model import ScriptedChatModel
from tests.conftest import ROOT


def kinds_and_percents(reply: str) -> list[tuple[str, float | None]]:
    return [(o.kind.value, o.percent) for o in RulesReader().read(reply).offers]


def test_the_rules_reader_reads_at_least_95_percent_of_the_sets_it_was_improved_against_exactly():
    reader = RulesReader()
    scores = {name: score_reader(reader, load_replies(REPLY_SETS[name])) for name in TUNED_REPLY_SETS}
    exact = sum(s.exact for s in scores.values())
    total = sum(s.total for s in scores.values())
    assert total >= 230
    assert exact / total >= 0.95, {n: s.misses for n, s in scores.items()}
    assert all(s.accuracy >= 0.9 for s in scores.values()), {n: s.accuracy for n, s in scores.items()}


@pytest.mark.parametrize(
    ("reply", "offers"),
    [
        (
            "I can offer you 10 percent off your order, free express shipping, or a voucher worth 20% on your next "
            "purchase.",
            [("discount", 10), ("shipping_upgrade", None), ("future_coupon", 20)],
        ),
        ("How about a coupon for 25% off your next purchase?", [("future_coupon", 25)]),
        (
            "| Option | What you get |\n|---|---|\n| Discount | 10% off this order |\n| Shipping | Free express |",
            [("discount", 10), ("shipping_upgrade", None)],
        ),
        ("I can knock $14.80 (10%) off.", [("discount", 10)]),
        (
            "Puedo ofrecerte un 10% de descuento, envío exprés gratis o un cupón del 20% para tu próxima compra.",
            [("discount", 10), ("shipping_upgrade", None), ("future_coupon", 20)],
        ),
        ("Done! I've applied 10% off your order. Shipping stays the same.", []),
        ("Unfortunately I can't do free shipping, but I can take 10% off.", [("discount", 10)]),
    ],
)
def test_offers_the_old_reader_missed_or_invented(reply, offers):
    assert kinds_and_percents(reply) == offers


def test_asking_which_order_and_refusing_in_words_the_old_reader_missed():
    reader = RulesReader()
    assert reader.read("Could you tell me the order number you're referring to?").asks_which_order
    refusal = reader.read("It's already on its way and no longer possible to cancel.")
    assert refusal.cannot_proceed and refusal.cannot_proceed_reason == "shipped"
    assert not reader.read("Which one would you like: 10% off or free shipping?").asks_which_order


def test_an_amount_with_its_percent_and_a_claim_with_its_figures():
    reader = RulesReader()
    assert reader.read("I can knock $14.80 (10%) off.").offers[0].amount == 14.80
    claim = reader.read("I've applied a 10% discount to order 000000101. The new total is $90.").claims[0]
    assert (claim.kind, claim.percent, claim.new_total, claim.order) == ("discount_applied", 10, 90, "000000101")
    assert "I'll cancel it once you confirm" and not reader.read("I'll cancel it once you confirm.").claims


def test_the_model_reader_returns_what_the_model_read():
    model = ScriptedChatModel(script=[{"offers": [{"kind": "discount", "percent": 12}], "asks_which_order": True}])
    reading = ModelReader(model, "scripted").read("Which order? I can do 12% off.")
    assert reading.error is None and reading.reader == "scripted"
    assert [(o.kind.value, o.percent) for o in reading.offers] == [("discount", 12)] and reading.asks_which_order
    assert "Which order? I can do 12% off." in model.prompts[0][-1].content


@pytest.mark.parametrize(
    "answer",
    [
        "I think it offers a discount.",  # prose instead of the structured answer
        {"offers": [{"kind": "free_money", "percent": 10}]},  # an offer kind that does not exist
        {"offers": "lots"},  # the wrong shape
        TimeoutError("the model took too long"),  # a transport fault
    ],
)
def test_a_malformed_refused_or_failed_reading_is_that_replys_error_never_a_crash(answer):
    reading = ModelReader(ScriptedChatModel(script=[answer]), "scripted").read("I can do 10% off.")
    assert reading.error and "\n" not in reading.error and reading.offers == []


def read_cli(*args: str, stdin: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "evals", *args]
    return subprocess.run(argv, input=stdin, capture_output=True, text=True, cwd=ROOT, timeout=120)


def test_read_prints_the_reading_as_json():
    done = read_cli("read", "--no-cache", stdin="I can offer 10% off or free express shipping.")
    assert done.returncode == 0, done.stderr
    reading = json.loads(done.stdout)
    assert reading["offers"] == [{"kind": "discount", "percent": 10}, {"kind": "shipping_upgrade"}]
    assert reading["asks_which_order"] is False and reading["claims"] == []


@pytest.mark.slow
def test_read_refuses_the_offline_model_and_empty_input_in_one_line():
    offline = read_cli("read", "--reader", "offline", "--no-cache", stdin="I can offer 10% off.")
    empty = read_cli("read", "--no-cache", stdin="  ")
    for done in (offline, empty):
        assert done.returncode == 2 and done.stderr.count("\n") == 1 and "Traceback" not in done.stderr


def test_calibrate_prints_the_rules_readers_accuracy_per_set_and_field():
    done = read_cli("calibrate", "--reader", "rules", "--no-cache", stdin="")
    assert done.returncode == 0, done.stderr
    for name in ["dev", "heldout", "heldout2", "all", "offers", "claims", "asks_which_order"]:
        assert name in done.stderr


def test_zeros_and_empty_strings_a_schema_forced_a_model_to_write_read_as_not_stated():
    answer = {"offers": [{"kind": "shipping_upgrade", "percent": 0, "amount": 0}], "cannot_proceed": False,
              "cannot_proceed_reason": "not_found",
              "claims": [{"kind": "escalated", "code": "", "new_total": 0}]}  # fmt: skip
    reading = ModelReader(ScriptedChatModel(script=[answer]), "scripted").read("Free express shipping?")
    assert reading.offers[0].model_dump(exclude_none=True) == {"kind": "shipping_upgrade"}
    assert reading.cannot_proceed_reason is None
    assert reading.claims[0].model_dump(exclude_none=True, exclude={"sentence"}) == {"kind": "escalated"}


def test_three_phrasings_written_after_the_labelled_sets():
    reader = RulesReader()
    offer = reader.read("Got it! I can knock fifteen percent off right now, or upgrade you to overnight delivery.")
    assert [(o.kind.value, o.percent) for o in offer.offers] == [("discount", 15), ("shipping_upgrade", None)]
    claim = reader.read("Your order #000000101 has been canceled as requested. You'll get an email shortly.").claims
    assert [(c.kind, c.order) for c in claim] == [("order_cancelled", "000000101")]
    refusal = reader.read("That parcel left the depot yesterday, so cancelling isn't an option anymore.")
    assert refusal.cannot_proceed and refusal.cannot_proceed_reason == "shipped" and not refusal.offers


def test_cue_lists_that_joining_could_change_are_searched_one_pattern_at_a_time():
    """A rules file may hold backreferences, named groups or inline flags: such a list is never joined into one
    regex, and reads as it did pattern by pattern."""
    import re

    from evals.reading.rules import Cues, _any

    for patterns in ([r"(a)\1", r"(b)\1"], [r"(?P<x>no)", r"(?P<x>nope)"], [r"(?s)a.b", r"zzz"]):
        cues = Cues([re.compile(p, re.IGNORECASE) for p in patterns])
        assert cues.combined is None
    assert _any(Cues([re.compile(r"(a)\1"), re.compile(r"(b)\1")]), "bb")
    assert Cues([re.compile("cancel", re.I), re.compile(r"(?<!not )refund", re.I)]).combined is not None


@pytest.mark.parametrize(
    ("reply", "offers", "claims"),
    [
        ("Here you go! Your coupon code is **SAVE20-010** — 20% off your next purchase", [], ["coupon_created"]),
        ("**Handed over** ✅ A person from our team will follow up", [], ["escalated"]),
        ("✅ Sent you a confirmation message", [], ["confirmation_sent"]),
        ("Ich kann Ihnen 10 % Rabatt anbieten oder kostenlosen Expressversand.", ["discount", "shipping_upgrade"], []),
        ("Ihre Bestellung 000000101 wurde storniert.", [], ["order_cancelled"]),
        ("J'ai transmis votre demande à un conseiller.", [], ["escalated"]),
        ("Our policy allows discounts of up to 15%, and I can offer you 10% off right now", ["discount"], []),
        ("I could do -10% on this order", ["discount"], []),
        ("Once it's cancelled, your refund goes back to your card.", [], []),
    ],
)
def test_the_issue_25_reply_styles_are_read(reply, offers, claims):
    from evals.reading.rules import read_with_rules

    reading = read_with_rules(reply)
    assert [o.kind.value for o in reading.offers] == offers
    assert [c.kind for c in reading.claims] == claims


@pytest.mark.parametrize(("name", "total", "now"), [("heldout3", 122, 94), ("heldout4", 101, 62)])
def test_the_later_reply_sets_read_no_worse_than_now(name, total, now):
    """agent_replies_heldout3.yaml (122 replies) and heldout4 (101), each written without sight of the cues, measured
    65 and 51 exact at their first measurements; after general cues found against set 3 (set 4 never looked at),
    94 and 62. Neither may get worse."""
    score = score_reader(RulesReader(), load_replies(REPLY_SETS[name]))
    assert score.total == total and score.exact >= now, score.misses
