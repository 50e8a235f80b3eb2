"""Block Kit builders and user texts: within Slack's limits whatever the prompt or
the model says (Slack refuses the whole message or view otherwise)."""

from __future__ import annotations

from typing import Any

import pytest

from bot.generation import Declined, GatewayErrorCode, Generation
from bot.jobs import Job
from bot.jobs.accounting import Usage
from bot.options import RATIOS, ImageOptions
from bot.slack import mrkdwn, views
from bot.text import CHINESE, speaking

LONG_PROMPT = "一只柴犬 <@U1> & a park " * 250  # 4,500 characters, markup included
LONG_WORDS = "I cannot draw that because " * 300


def job(prompt: str = "a cat", count: int = 1) -> Job:
    return Job(
        key="trigger:1",
        user="U0ALICE",
        channel="C0GENERAL",
        prompt=prompt,
        options=ImageOptions("16:9", "2K", count),
        source="command",
    )


def check_limits(node: Any, *, surface: str = "message") -> None:
    """Walk a view or block list and assert the limits Slack enforces."""
    if isinstance(node, list):
        assert len(node) <= (50 if surface == "message" else 100)
        for child in node:
            check_limits(child, surface=surface)
        return
    assert isinstance(node, dict)
    kind = node.get("type")
    if kind == "section":
        assert len(node["text"]["text"]) <= 3000
    if kind == "header":
        assert len(node["text"]["text"]) <= 150
    if kind in ("button", "static_select"):
        assert len(node["action_id"]) <= 255
    if kind == "button":
        assert len(node["text"]["text"]) <= 75
        assert len(node.get("value", "")) <= 2000
    if kind == "static_select":
        assert len(node["options"]) <= 100
        for option in node["options"]:
            assert len(option["text"]["text"]) <= 75
            assert len(option["value"]) <= 150
    if kind == "plain_text_input":
        assert len(node.get("initial_value", "")) <= node.get("max_length", 3000) <= 3000
    if kind == "context":
        assert len(node["elements"]) <= 10
    if kind == "modal":
        for field in ("title", "submit", "close"):
            assert len(node[field]["text"]) <= 24
        assert len(node.get("private_metadata", "")) <= 3000
        check_limits(node["blocks"], surface="modal")
        return
    if kind == "home":
        check_limits(node["blocks"], surface="home")
        return
    for key in ("elements", "element", "blocks"):
        if key in node:
            check_limits(node[key], surface=surface)


@pytest.mark.parametrize("prompt", ["a cat", LONG_PROMPT])
def test_cards_and_modals_fit_whatever_the_prompt(prompt: str) -> None:
    made = job(prompt, count=4)
    text, blocks = views.result_card(made, 42.0, 4, version=3)
    assert text.startswith("✅ *v3* <@U0ALICE>: _")
    assert "<@U1>" not in text, "a prompt can never ping anyone"
    check_limits(blocks)
    check_limits(views.failure_card(made, "❌ failed", declined=True)[1])
    check_limits(views.edit_modal(made))
    check_limits(views.edit_message_modal("C1|1.0", 3))


def test_the_edit_modal_keeps_short_prompts_whole_and_says_when_it_cuts() -> None:
    short = views.edit_modal(job("a cat", count=2))["blocks"][0]
    assert short["element"]["initial_value"] == "a cat --ar 16:9 --size 2K --n 2"
    long = views.edit_modal(job(LONG_PROMPT))["blocks"][0]
    assert long["element"]["initial_value"].endswith("… --ar 16:9 --size 2K")
    assert "cut to fit" in long["hint"]["text"]


def test_every_card_carries_the_four_controls() -> None:
    (_, controls) = views.result_card(job(), 1.0, 1, None)[1]
    ids = [e["action_id"] for e in controls["elements"]]
    assert ids == ["banana_reroll", "banana_ratio", "banana_edit", "banana_delete"]
    delete = controls["elements"][-1]
    assert delete["style"] == "danger"
    assert delete["confirm"]
    ratios = [o["value"].split("|")[1] for o in controls["elements"][1]["options"]]
    assert sorted(ratios) == sorted(r for r in RATIOS if r != "16:9"), "the other nine"
    (_, refusal) = views.failure_card(job(), "declined", declined=True)[1]
    assert refusal["elements"][0]["text"]["text"] == "✏️ Try again, rephrased"


def test_the_models_and_gateways_words_are_cut_to_fit() -> None:
    declined = mrkdwn.failure_text(Declined(LONG_WORDS, finish_reason="SAFETY"))
    assert len(declined) < 1000
    assert "safety filter" in declined
    gateway = mrkdwn.failure_text(GatewayErrorCode(-1013, LONG_WORDS))
    assert len(gateway) < 1000
    assert "-1013" in gateway
    comment = mrkdwn.result_comment(
        user="U0ALICE",
        prompt=LONG_PROMPT,
        options=ImageOptions("1:1", "1K", 1),
        elapsed=3.0,
        generations=[Generation((), LONG_WORDS, "logid-1", 1, 3.0)],
        failures=[],
    )
    assert len(comment) < 2000
    assert "`logid-1`" in comment


def test_home_view_fits_ten_long_items() -> None:
    items = [
        mrkdwn.HistoryItem(LONG_PROMPT, ImageOptions("1:1", "2K", 4), 1.8e9, 12, "https://x/p1")
        for _ in range(10)
    ]
    usage = mrkdwn.usage_report_text(Usage(3, 0.3, 1.2, 1), 50, is_admin=False)
    view = views.home_view(usage, items)
    check_limits(view)
    assert view["blocks"][0]["text"]["text"] == "🍌 banana"
    empty = views.home_view(usage, [])
    assert "You have no images yet" in str(empty)


def test_counts_and_the_price_before_generating() -> None:
    assert mrkdwn.quota_note(job(count=3), used_today=3, quota=50) == (
        "(≈ $0.30; 3 images of your 50 today, refusals and failures free)"
    )
    assert mrkdwn.quota_note(job(), used_today=1, quota=None) == "(≈ $0.10)"
    assert "1 image ahead" in mrkdwn.status_text(job(), "queued", 0, ahead=1)
    assert "2 images ahead" in mrkdwn.status_text(job(), "queued", 0, ahead=2)


def test_an_interruption_says_its_true_age() -> None:
    from bot.jobs.outcomes import Interrupted
    from bot.slack.outcome_text import outcome_text

    assert "3 seconds ago" in outcome_text(job(), Interrupted(3.2))
    assert "1 minute ago" in outcome_text(job(), Interrupted(65))
    assert "12 minutes ago" in outcome_text(job(), Interrupted(12 * 60 + 5))


CHINESE_PROMPT = ("一只在樱花树下打盹的柴犬，水彩风格，" * 223)[:4000]  # 4,000 characters


def test_a_4000_character_chinese_prompt_fits_cards_modals_and_home_in_chinese() -> None:
    assert len(CHINESE_PROMPT) == 4000
    made = job(CHINESE_PROMPT, count=4)
    with speaking(CHINESE):
        text, blocks = views.result_card(made, 42.0, 4, version=3)
        assert text.startswith("✅ *v3* <@U0ALICE>: _一只")
        assert "4 张图，用时 42 秒" in text
        check_limits(blocks)
        failed = mrkdwn.status_text(made, "failed", 0, mrkdwn.failure_text(Declined(LONG_WORDS)))
        check_limits(views.failure_card(made, failed, declined=True)[1])
        modal = views.edit_modal(made)
        check_limits(modal)
        assert modal["title"]["text"] == "修改提示词"
        assert "提示词太长" in modal["blocks"][0]["hint"]["text"]
        shortcut = views.edit_message_modal("C1|1.0", 4)
        check_limits(shortcut)
        assert shortcut["title"]["text"] == "用 banana 改图"
        assert shortcut["blocks"][0]["label"]["text"] == "这 4 张图要怎么改？"
        assert shortcut["blocks"][0]["element"]["placeholder"]["text"] == "改成夜景，水彩风"
        items = [mrkdwn.HistoryItem(CHINESE_PROMPT, made.options, 1.8e9, 12, "https://x/p1")] * 10
        usage = mrkdwn.usage_report_text(Usage(3, 0.3, 1.2, 1), 50, is_admin=False)
        home = views.home_view(usage, items)
        check_limits(home)
        assert "一句话变成一张图" in str(home)
        comment = mrkdwn.result_comment(
            user="U0ALICE",
            prompt=CHINESE_PROMPT,
            options=made.options,
            elapsed=3.0,
            generations=[Generation((), LONG_WORDS, "logid-1", 1, 3.0)],
            failures=[],
        )
        assert len(comment) < 2000
        assert "`logid-1`" in comment


def test_restart_notes_in_chinese() -> None:
    from bot.jobs.outcomes import Interrupted, Paused
    from bot.slack.outcome_text import outcome_text

    with speaking(CHINESE):
        assert outcome_text(job(), Interrupted(3.2)).startswith("⚠️ 3 秒前机器人重启")
        assert "12 分钟前" in outcome_text(job(), Interrupted(12 * 60 + 5))
        assert "`/banana a cat --ar 16:9 --size 2K`" in outcome_text(job(), Interrupted(5))
        assert outcome_text(job(), Paused()).startswith("⏸ 已暂停")
        assert "前面还有 2 张图" in mrkdwn.status_text(job(), "queued", 0, ahead=2)
