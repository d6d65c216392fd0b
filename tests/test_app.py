"""The chat lab page, driven headlessly with Streamlit's AppTest."""

from __future__ import annotations

import json
import re

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT


@pytest.fixture
def app():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    assert not at.exception
    return at


@pytest.fixture
def editing(app):
    """The chat page with the policy editor open: its body is built only while it is open."""
    app.session_state["policy_editor_open"] = True
    app.run()
    return app


def say(at: AppTest, text: str) -> AppTest:
    at.chat_input(key="chat").set_value(text).run()
    assert not at.exception, at.exception
    return at


CELL_EDGE = re.compile(r"(?<!\\)\|")
HIGHLIGHT = re.compile(r"^:orange-background\[\*\*(.*)\*\*\]$")


def world_orders(at: AppTest) -> dict[str, dict[str, str]]:
    """The world panel's order table, read back from its markdown: {order: {column: shown text}}, and whether
    each cell is highlighted under the key "highlighted"."""
    table = next(m.value for m in at.markdown if m.value.startswith("| order |")).split("\n\n")[0]
    header, _, *lines = table.splitlines()
    columns = [c.strip() for c in CELL_EDGE.split(header.strip()[1:-1])]
    orders = {}
    for line in lines:
        cells = [c.strip() for c in CELL_EDGE.split(line.strip()[1:-1])]
        shown = {col: re.sub(r"\\(.)", r"\1", HIGHLIGHT.sub(r"\1", c)) for col, c in zip(columns, cells, strict=True)}
        shown["highlighted"] = ",".join(col for col, c in zip(columns, cells, strict=True) if HIGHLIGHT.match(c))
        orders[shown["order"]] = shown
    return orders


def markdown_texts(at: AppTest) -> list[str]:
    return [m.value for m in at.markdown]


def test_pick_policy_and_customer_then_accept_a_discount(app):
    app.sidebar.selectbox(key="policy").select("retention_offers.md").run()
    app.sidebar.selectbox(key="customer").select(7).run()
    say(app, "Hi, I want to cancel my order")
    say(app, "Yes, I'll take the 10% discount")
    labels = [s.label for s in app.status]
    assert labels == [
        "3 tool call(s): list_customer_orders, get_order, list_swap_options",
        "2 tool call(s): set_discount_to_order, send_async_message",
    ]
    texts = markdown_texts(app)
    assert any("**set_discount_to_order**" in t for t in texts)
    assert any(t.startswith("**NEW** Async message: Your order 000000113 has been updated") for t in texts)
    row = world_orders(app)["000000113"]
    assert row["discount %"] == "10" and row["grand total"] == "112.10" and row["status"] == "pending"
    assert row["highlighted"] == "discount %,grand total"  # what the last turn changed


def test_policy_with_unknown_tool_shows_lint_error_and_blocks_the_agent(editing):
    edited = editing.text_area(key="editor").value.replace("@upgrade_shipping", "@no_such_tool")
    editing.text_area(key="editor").set_value(edited).run()
    errors = [e.value.replace("\\", "") for e in editing.error]  # alerts show lint messages markdown-escaped
    assert any("@no_such_tool: unknown tool" in e and e.startswith("line 44") for e in errors), errors
    assert editing.button(key="use_version").disabled
    assert "no_such_tool" not in editing.session_state.lab.policy_text


def test_broken_active_policy_does_not_start_the_agent(app):
    lab = app.session_state.lab
    lab.policy_text = lab.policy_text.replace("@upgrade_shipping", "@no_such_tool")
    app.run()
    assert app.chat_input(key="chat").disabled
    assert any("lint error" in e.value for e in app.error)
    assert lab.conversation is None


def test_use_this_version_runs_the_next_conversation_on_the_edited_text(editing):
    edited = (
        editing.text_area(key="editor")
        .value.replace("start at 10%", "start at 12%")
        .replace("go up to 15%", "go up to 15% ")
        .replace("      percent: 10\n", "      percent: 12\n")  # the plan says what the prose says
    )
    editing.text_area(key="editor").set_value(edited).run()
    editing.button(key="use_version").click().run()
    say(editing, "I want to cancel my order")
    assert any("1. 12% off this order" in t for t in markdown_texts(editing))
    exported = json.loads(editing.session_state.lab.export_json())
    assert exported["lab"]["policy_edited"] is True
    assert exported["lab"]["policy_sha_in_use"] != exported["lab"]["policy_file_sha"]
    editing.sidebar.button(key="reset").click().run()
    assert len(editing.chat_message) == 0
    say(editing, "I want to cancel my order")  # the version in use survives a reset
    assert any("1. 12% off this order" in t for t in markdown_texts(editing))


def test_reset_clears_the_chat_and_restores_the_order(app):
    app.sidebar.selectbox(key="customer").select(7).run()
    say(app, "I want to cancel my order")
    say(app, "no thanks")
    assert world_orders(app)["000000113"]["status"] == "canceled"
    app.sidebar.button(key="reset").click().run()
    assert len(app.chat_message) == 0
    assert world_orders(app)["000000113"]["status"] == "pending"


def test_model_error_is_shown_not_raised(app, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    app.sidebar.selectbox(key="model_kind").select("OpenAI").run()
    errors = [e.value.replace("\\", "") for e in app.error]  # shown escaped: no markdown from the message
    errors = [e for e in errors if "OPENAI_API_KEY is not set" in e]
    assert len(errors) == 1 and "--base-url" not in errors[0].split("(")[0]
    assert app.chat_input(key="chat").disabled
    assert any("No API key" in w.value for w in app.sidebar.warning)


def test_save_as_refuses_paths_outside_policies_and_existing_files(editing):
    editing.text_input(key="save_name").set_value("../evil").run()
    editing.button(key="save_as").click().run()
    assert any("no folders" in e.value for e in editing.error)
    editing.text_input(key="save_name").set_value("retention_offers").run()
    editing.button(key="save_as").click().run()
    assert any("already exists" in e.value for e in editing.error)
    assert not (ROOT / "evil.md").exists()


def test_save_as_proposes_a_free_name_and_version_and_refuses_a_taken_name(editing):
    assert editing.text_input(key="save_name").value == "retention_offers_v2"
    assert editing.text_input(key="save_policy_name").value == "Retention_offers_policy_v2"
    assert editing.text_input(key="save_version").value == "1.1.0"
    editing.text_input(key="save_name").set_value("zz_copy_of_retention").run()
    editing.text_input(key="save_policy_name").set_value("Retention_offers_policy").run()
    editing.button(key="save_as").click().run()
    assert any("already the name of a policy" in e.value for e in editing.error)
    assert not (ROOT / "policies" / "zz_copy_of_retention.md").exists()


def test_a_policy_saved_as_a_copy_keeps_the_policies_folder_lint_clean(editing):
    saved = ROOT / "policies" / "retention_offers_v2.md"
    try:
        editing.button(key="save_as").click().run()
        assert any("Saved retention_offers_v2.md" in s.value.replace("\\", "") for s in editing.success)
        from agent.policy.lint import lint_paths

        assert [p for p in lint_paths([ROOT / "policies"]) if p.severity == "error"] == []
    finally:
        saved.unlink(missing_ok=True)


def test_export_offers_the_conversation_as_json(app):
    say(app, "I want to cancel my order")
    exported = json.loads(app.session_state.lab.export_json())
    assert [c["tool"] for c in exported["trace"]][0] == "list_customer_orders"
    assert exported["transcript"][0] == {"role": "customer", "content": "I want to cancel my order"}
    assert exported["final_state"]["orders"][0]["increment_id"] == "000000101"
    assert exported["lab"]["policy_edited"] is False
    assert exported["lab"]["policy_sha_in_use"] == exported["lab"]["policy_file_sha"]
    assert exported["lab"]["readings"][0]["read_as"].startswith("offers discount 10%")


def test_an_edited_policy_survives_a_customer_switch_and_is_marked(editing):
    editor = editing.text_area(key="editor").value
    edited = editor.replace("start at 10%", "start at 12%").replace("      percent: 10\n", "      percent: 12\n")
    editing.text_area(key="editor").set_value(edited).run()
    editing.button(key="use_version").click().run()
    assert any("edited, not saved" in c.value for c in editing.caption)
    editing.sidebar.selectbox(key="customer").select(7).run()
    assert editing.session_state.lab.customer_id == 7 and "start at 12%" in editing.session_state.lab.policy_text
    assert editing.text_area(key="editor").value == edited
    say(editing, "I want to cancel my order")
    assert any("1. 12% off this order" in t for t in markdown_texts(editing))


def test_switching_policy_with_unsaved_edits_asks_first(editing):
    edited = editing.text_area(key="editor").value.replace("start at 10%", "start at 12%")
    editing.text_area(key="editor").set_value(edited).run()
    editing.sidebar.selectbox(key="policy").select("retention_offers_lean.md").run()
    assert any("edits that are not saved" in w.value for w in editing.warning)
    assert editing.session_state.lab.policy_path.name == "retention_offers.md"
    editing.button(key="keep_editing").click().run()
    assert editing.sidebar.selectbox(key="policy").value == "retention_offers.md"
    assert editing.text_area(key="editor").value == edited
    editing.sidebar.selectbox(key="policy").select("retention_offers_lean.md").run()
    editing.button(key="discard_edits").click().run()
    assert editing.session_state.lab.policy_path.name == "retention_offers_lean.md"


def test_customer_text_is_plain_text_with_its_line_breaks(app):
    message = "# heading\n![x](http://example.invalid/x.png) cancel my order"
    say(app, message)
    assert message in [t.value for t in app.text]
    assert not any("example.invalid" in m.value for m in app.markdown)


def test_a_model_error_is_a_system_notice_not_an_agent_reply(app, monkeypatch):
    from agent.models.offline.model import ReferenceChatModel

    def broken(self, *args, **kwargs):
        raise ConnectionError("the model server went away")

    monkeypatch.setattr(ReferenceChatModel, "_generate", broken)
    say(app, "cancel my order")
    notices = [e.value for e in app.error if e.value.startswith("System notice")]
    assert len(notices) == 1 and "the model server went away" in notices[0]
    assert not any("went away" in m.value for m in app.markdown)


def test_the_sidebar_and_the_world_panel_show_the_same_orders(app):
    app.sidebar.selectbox(key="customer").select(7).run()
    say(app, "I want to cancel my order")
    say(app, "no thanks")
    assert any("**000000113** canceled · " in m.value for m in app.sidebar.markdown)
    assert world_orders(app)["000000113"]["status"] == "canceled"


def test_the_export_names_the_policy_version_and_holds_its_text(app):
    say(app, "cancel my order")
    export = json.loads(app.session_state.lab.export_json())
    assert export["policy"]["sha"] and "@set_discount_to_order" in export["policy"]["text"]
    name = app.session_state.lab.export_name()
    assert name.startswith("conversation-retention_offers-") and "customer1" in name and name.endswith(".json")


def test_model_and_tool_text_is_escaped_where_the_page_uses_markdown():
    from ui.lab import md_escape, reply_markdown

    hostile = "![x](http://example.invalid/x.png) :red[boom] <img src=x onerror=alert(1)> `tick`"
    escaped = md_escape(hostile)
    assert "![" not in escaped and ":red[" not in escaped and "`tick`" not in escaped
    assert "\\<img" in escaped  # a backslash-escaped "<" is shown, never parsed
    kept = reply_markdown("1. 10% off this order\n2. **free** shipping ![x](http://example.invalid/x.png) <b>")
    assert kept.startswith("1. 10% off this order\n2. **free** shipping") and "![" not in kept and "<b>" not in kept


def test_each_agent_reply_shows_what_the_customer_and_the_scorers_read_in_it(app):
    app.sidebar.selectbox(key="policy").select("retention_offers.md").run()
    app.sidebar.selectbox(key="customer").select(7).run()
    say(app, "Hi, I want to cancel my order")
    say(app, "Yes, I'll take the 10% discount")
    captions = [c.value for c in app.caption if c.value.startswith("Read as:")]
    assert len(captions) == 2
    assert "offers discount 10%" in captions[0] and "shipping upgrade" in captions[0]
    assert "claims discount applied (10%, total 112.10)" in captions[1].replace("\\", "")


def test_the_plan_panel_shows_a_draft_and_puts_it_into_the_front_matter(editing):
    from tests.conftest import prose_only

    shipped = editing.text_area(key="editor").value
    assert any("explicit plan" in c.value for c in editing.code)
    editing.text_area(key="editor").set_value(prose_only(shipped)).run()
    assert any("drafted by the rules from the text" in c.value for c in editing.code)
    editing.button(key="confirm_plan").click().run()
    assert editing.text_area(key="editor").value == shipped  # the confirmed draft is the shipped plan
    assert any("explicit plan" in c.value for c in editing.code) and not editing.error


def test_a_reload_offers_to_restore_the_conversation_and_the_unsaved_edit(editing):
    say(editing, "I want to cancel my order")
    edited = editing.text_area(key="editor").value.replace("start at 10%", "start at 11%")
    editing.text_area(key="editor").set_value(edited).run()
    session_id = editing.query_params["lab"]
    session_id = session_id[0] if isinstance(session_id, list) else session_id
    reloaded = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    reloaded.query_params["lab"] = session_id
    reloaded.session_state["policy_editor_open"] = True
    reloaded.run()
    assert any("Kept from before this page was reloaded" in i.value for i in reloaded.info)
    assert reloaded.session_state.lab.conversation is None  # nothing restored until asked
    reloaded.button(key="restore_kept").click().run()
    assert not reloaded.exception, reloaded.exception
    assert [t.customer for t in reloaded.session_state.lab.conversation.turns] == ["I want to cancel my order"]
    assert reloaded.text_area(key="editor").value == edited
    assert not reloaded.info or not any("Kept from before" in i.value for i in reloaded.info)


def test_start_afresh_forgets_the_kept_work(app):
    say(app, "I want to cancel my order")
    session_id = app.query_params["lab"]
    session_id = session_id[0] if isinstance(session_id, list) else session_id
    reloaded = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    reloaded.query_params["lab"] = session_id
    reloaded.session_state["policy_editor_open"] = True
    reloaded.run()
    reloaded.button(key="discard_kept").click().run()
    again = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    again.query_params["lab"] = session_id
    again.run()
    assert not any("Kept from before" in i.value for i in again.info)


def test_a_broken_kept_session_file_only_means_nothing_to_restore(tmp_path):
    from ui.kept_sessions import load_kept

    broken = tmp_path / "0123456789abcdef.json"
    broken.write_text("{not json", encoding="utf-8")
    assert load_kept("0123456789abcdef", tmp_path) is None
    assert load_kept("../../etc/passwd", tmp_path) is None


def test_a_chat_saved_as_a_test_customer_is_listed_and_replays_on_the_evals_page(app, tmp_path, monkeypatch):
    """Issue 27: the chat lab turns the conversation into a persona contract to review, saves it into the personas
    folder, and the Evals page runs it to the outcome the chat reached."""
    folder = tmp_path / "personas"
    monkeypatch.setenv("RETENTION_LAB_PERSONAS", str(folder))
    app.sidebar.selectbox(key="policy").select("retention_offers.md").run()
    app.sidebar.selectbox(key="customer").select(7).run()
    say(app, "Hi, I want to cancel my order 000000113")
    say(app, "Yes, I'll take the 10% discount")
    next(b for b in app.button if b.label == "Draft a test customer from this chat").click().run()
    field = next(t for t in app.text_input if t.label.startswith("Id ("))
    assert field.value.startswith("chat_7_")  # proposed from the customer and the first line
    field.set_value("saved_from_lab")
    next(b for b in app.button if b.label == "Save test customer").click().run()
    assert not app.exception, app.exception
    saved = folder / "saved_from_lab.yaml"
    assert saved.exists(), [e.value for e in app.error] + [w.value for w in app.warning]
    assert "outcome: retained" in saved.read_text() and "offer: discount" in saved.read_text()
    evals = AppTest.from_file(str(ROOT / "pages" / "1_Evals.py"), default_timeout=120).run()
    assert evals.multiselect(key="eval_personas").options == ["saved_from_lab"]
    evals.number_input(key="eval_trials").set_value(1)
    evals.button[0].click().run()
    assert not evals.exception, evals.exception
    assert evals.dataframe[0].value.iloc[0]["retained"].startswith("100%")


def test_the_order_table_escapes_every_value_and_highlights_only_changed_cells():
    from ui.lab import orders_table

    row = {"order": "000000200", "status": "pending", "discount %": 12.5, "grand total": 99.0, "shipping": "Flat",
           "subtotal": 110.0, "items": "1x Mug | **bold** ![x](http://evil.example/i.png)"}  # fmt: skip
    table = orders_table([row], {("000000200", "grand total")})
    line, items = table.splitlines()[2], table.split("Items:")[1]
    assert len(CELL_EDGE.split(line.strip()[1:-1])) == 6 and ":orange-background[**99\\.00**]" in line
    assert line.count("orange-background") == 1
    assert "\\*\\*bold\\*\\*" in items and "!\\[x\\]" in items and "Mug \\| " in items
    assert orders_table([], set()) == "_No orders._"
    broken = orders_table([{**row, "status": "pending\n| x |", "items": "Mug\n===\n# heading"}], set())
    assert len(broken.split("\n\n")[0].splitlines()) == 3 and "\n===" not in broken and "\n#" not in broken
