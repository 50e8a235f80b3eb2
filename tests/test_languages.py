"""Each person reads the bot in their own language (their Slack's, or the one they
chose): the real process against the stand-ins, a zh-CN user beside an en-US one."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from aiohttp import ClientSession
from slack_sdk.web.async_client import AsyncWebClient

from bot.jobs import Journal
from bot.slack.languages import ExpiringCache, Languages
from bot.standins.gateway import GatewayStandIn
from bot.standins.slack import Message, SlackStandIn
from bot.standins.slack_sender import (
    app_home_opened,
    app_mention,
    block_action,
    envelope,
    view_submission,
)
from tests.harness import BOT_TOKEN, RunningBot, eventually, running_bot

ZHANG, ALICE = "U0ZHANG", "U0ALICE"
CHANNEL = "C0GENERAL"


async def ask(bot: RunningBot, slack: SlackStandIn, user: str, text: str) -> str:
    """A slash command; its ephemeral answer."""
    reply = await bot.command(slack, user, text)
    return str(reply.json().get("text", ""))


def cards_of(slack: SlackStandIn, user: str) -> list[Message]:
    return [m for m in slack.visible() if m.blocks and f"<@{user}>" in m.text]


def controls(card: Message) -> dict[str, dict[str, Any]]:
    elements = next(b for b in card.blocks if b["type"] == "actions")["elements"]
    return {e["action_id"]: e for e in elements}


def click(card: Message, action_id: str, user: str, slack: SlackStandIn) -> dict[str, Any]:
    element = controls(card)[action_id]
    return block_action(
        {"action_id": action_id, "type": element["type"], "value": element.get("value")},
        user=user,
        channel=card.channel,
        message_ts=card.ts,
        response_url=slack.response_url(f"click{time.time_ns()}"),
    )


def lookups(slack: SlackStandIn, user: str) -> int:
    return len([c for c in slack.calls_to("users.info") if c.args.get("user") == user])


async def test_a_chinese_user_reads_every_surface_in_chinese(
    bot: RunningBot, gateway: GatewayStandIn, slack: SlackStandIn
) -> None:
    slack.locales[ZHANG] = "zh-CN"
    # Help, in Chinese, with the Chinese names for the options.
    help_text = await ask(bot, slack, ZHANG, "help")
    assert help_text.startswith("*用法：* `/banana &lt;想画的内容&gt;")
    for word in ("`宽屏` (16:9)", "`竖屏` (9:16)", "2K (`高清`)", "`--n 3张`", "跟随 Slack"):
        assert word in help_text
    # A bad ratio, and a near miss in Chinese that suggests the right word.
    assert (await ask(bot, slack, ZHANG, "一只猫 --ar 7:3")).startswith("模型画不了 `7:3` 这个比例")
    near = await ask(bot, slack, ZHANG, "一只猫 --ar 宽平")
    assert "你是想写 `--ar 宽屏` 吗？" in near
    assert "输入 `/banana help` 查看全部选项。" in near

    # A request in Chinese words: acknowledged, made, carded in Chinese.
    ack = await ask(bot, slack, ZHANG, "公园里的柴犬 --ar 宽屏 --size 高清 --n 2张")
    assert ack.startswith("🍌 正在生成 _公园里的柴犬_ · 16:9 · 2K · 2 张图，画好了就发在这里。")
    assert "（约 $0.20；算上这次，今天共 2 张图，每日额度 50 张" in ack
    (card,) = await eventually(lambda: [c for c in cards_of(slack, ZHANG) if "✅" in c.text])
    assert [(r.aspect_ratio, r.size) for r in gateway.requests] == [("16:9", "2K")] * 2
    assert "2 张图，用时" in card.text
    (result,) = await eventually(lambda: [m for m in slack.visible() if m.files])
    assert f"<@{ZHANG}> 想画 _公园里的柴犬_" in result.text
    buttons = controls(card)
    assert buttons["banana_reroll"]["text"]["text"] == "🔁 再来一张"
    assert buttons["banana_ratio"]["placeholder"]["text"] == "换个比例…"
    assert buttons["banana_edit"]["text"]["text"] == "✏️ 修改提示词"
    assert buttons["banana_delete"]["text"]["text"] == "🗑 删除"
    assert buttons["banana_delete"]["confirm"]["title"]["text"] == "删除这张图？"
    assert buttons["banana_delete"]["confirm"]["deny"]["text"] == "保留"

    # The edit modal, and its errors, in Chinese.
    await bot.sender.interaction(click(card, "banana_edit", ZHANG, slack))
    (modal,) = await eventually(lambda: slack.views)
    assert (modal["title"]["text"], modal["submit"]["text"]) == ("修改提示词", "生成")
    assert modal["blocks"][0]["label"]["text"] == "提示词和选项"
    bad = view_submission(modal, {"prompt": {"prompt": {"value": "x --ar 7:3"}}}, user=ZHANG)
    error = (await bot.sender.interaction(bad)).json()["errors"]["prompt"]
    assert error.startswith("模型画不了 7:3 这个比例")

    # A refusal, with its button.
    gateway.default_mode = "safety"
    await ask(bot, slack, ZHANG, "一只猫")
    (refused,) = await eventually(lambda: [m for m in slack.visible() if "❌" in m.text])
    assert "模型不肯画这个（图片触发了模型的安全过滤）。换个说法试试" in refused.text
    assert controls(refused)["banana_edit"]["text"]["text"] == "✏️ 换个说法再试"

    # Usage, history and the Home tab.
    usage = await ask(bot, slack, ZHANG, "usage")
    assert usage.startswith("*今天：* 2 张图（还剩 48/50，UTC 00:00 重置）")
    assert "*预计费用：* 今天 $" in usage
    history = await ask(bot, slack, ZHANG, "history")
    assert history.startswith("*你最近画的图：*\n• _公园里的柴犬_ · 16:9 · 2K · 2 张图 · ")
    assert "月" in history
    assert "|查看>" in history
    assert "你没有排队中的图可以取消" in await ask(bot, slack, ZHANG, "cancel")
    await bot.sender.event(envelope(app_home_opened(user=ZHANG)))
    home = await eventually(lambda: slack.home_views.get(ZHANG))
    shown = "\n".join(b.get("text", {}).get("text", "") for b in home["blocks"])
    assert "一句话变成一张图" in shown
    assert "*今天：* 2 张图" in shown
    assert "_公园里的柴犬_" in shown
    # One look at Slack for all of that (the answer is kept for an hour).
    assert lookups(slack, ZHANG) == 1


async def test_an_english_user_beside_reads_english_in_the_same_channel(
    bot: RunningBot, gateway: GatewayStandIn, slack: SlackStandIn
) -> None:
    slack.locales[ZHANG] = "zh-CN"
    slack.locales[ALICE] = "en-US"
    assert (await ask(bot, slack, ALICE, "help")).startswith("*Usage:* `/banana &lt;what to draw")
    assert "`wide` (16:9)" in await ask(bot, slack, ALICE, "help")
    assert (await ask(bot, slack, ALICE, "a cat --ar 7:3")).startswith(
        "`7:3` is not a ratio the model makes"
    )
    # A mention in the channel: each requester's status line in their own language.
    for user, text in ((ZHANG, "一只橘猫"), (ALICE, "an orange cat")):
        request = slack.add_user_message(CHANNEL, user, f"<@UBANANA> {text}")
        event = app_mention(request.text, user=user, channel=CHANNEL, ts=request.ts)
        await bot.sender.event(envelope(event))
    await eventually(lambda: len([m for m in slack.visible() if m.files]) == 2)
    zhang_card = await eventually(lambda: [c for c in cards_of(slack, ZHANG) if "✅" in c.text])
    alice_card = await eventually(lambda: [c for c in cards_of(slack, ALICE) if "✅" in c.text])
    assert "1 张图，用时" in zhang_card[0].text
    assert " — image in " in alice_card[0].text
    assert controls(alice_card[0])["banana_reroll"]["text"]["text"] == "🔁 Re-roll"
    comments = "\n".join(m.text for m in slack.visible() if m.files)
    assert f"<@{ALICE}> asked for: _an orange cat_" in comments
    assert f"<@{ZHANG}> 想画 _一只橘猫_" in comments
    assert "*Today:* 1 image" in await ask(bot, slack, ALICE, "usage")
    assert lookups(slack, ALICE) == lookups(slack, ZHANG) == 1


async def test_language_zh_en_auto_is_kept_across_restarts(
    gateway: GatewayStandIn, slack: SlackStandIn, tmp_path: Path
) -> None:
    slack.locales[ALICE] = "en-US"
    async with running_bot(gateway, slack, tmp_path) as bot:
        assert await ask(bot, slack, ALICE, "language zh") == (
            "好的，以后我用中文回复你。想重新跟随 Slack 的语言设置，就用 `/banana language auto`。"
        )
        assert (await ask(bot, slack, ALICE, "help")).startswith("*用法：*")
        choices = await ask(bot, slack, ALICE, "language fr")
        assert choices.startswith("用 `/banana language zh` 切换到简体中文")
    async with running_bot(gateway, slack, tmp_path) as bot:
        assert (await ask(bot, slack, ALICE, "usage")).startswith("*今天：*")
        assert (await ask(bot, slack, ALICE, "language en")).startswith("OK — from now on")
        assert (await ask(bot, slack, ALICE, "usage")).startswith("*Today:*")
        slack.locales[ALICE] = "zh-TW"  # Traditional Chinese reads Simplified best
        reply = await ask(bot, slack, ALICE, "language auto")
        assert reply == "好的，我会重新跟随你的 Slack 语言设置（现在是中文）。"
        # A prompt that merely starts with the word is a prompt.
        assert "正在生成 _language of flowers_" in await ask(
            bot, slack, ALICE, "language of flowers"
        )


async def test_unsupported_slack_languages_get_banana_language(
    gateway: GatewayStandIn, slack: SlackStandIn, tmp_path: Path
) -> None:
    slack.locales.update({"U0TARO": "ja-JP", "U0MEI": "zh-HK", ALICE: "en-GB"})
    async with running_bot(gateway, slack, tmp_path, BANANA_LANGUAGE="zh-CN") as bot:
        assert (await ask(bot, slack, "U0TARO", "help")).startswith("*用法：*")
        assert (await ask(bot, slack, "U0MEI", "help")).startswith("*用法：*")
        assert (await ask(bot, slack, ALICE, "help")).startswith("*Usage:*")
        slack.fail("users.info", "missing_scope")  # an app installed before users:read
        assert (await ask(bot, slack, "U0NEW", "help")).startswith("*用法：*")
    assert "missing_scope" in bot.logs()


# ---- the lookup itself --------------------------------------------------------------------
async def test_users_info_is_asked_once_per_person_per_ttl(
    slack: SlackStandIn, tmp_path: Path
) -> None:
    slack.locales[ZHANG] = "zh-CN"
    journal = await Journal.open(tmp_path / "j.db")
    try:
        async with ClientSession() as session:
            client = AsyncWebClient(token=BOT_TOKEN, base_url=slack.api_url, session=session)
            languages = Languages(client, journal, default="en", ttl=0.5)
            together = await asyncio.gather(*(languages.of(ZHANG) for _ in range(20)))
            assert together == ["zh-CN"] * 20
            assert await languages.of(ZHANG) == "zh-CN"
            assert lookups(slack, ZHANG) == 1
            assert (await languages.of(ALICE), lookups(slack, ALICE)) == ("en", 1)
            (call,) = [c for c in slack.calls_to("users.info") if c.args["user"] == ZHANG]
            assert call.args["include_locale"] in (True, "true", "1", 1)
            await asyncio.sleep(0.6)
            slack.locales[ZHANG] = "en-US"
            assert await languages.of(ZHANG) == "en"
            assert lookups(slack, ZHANG) == 2
            await languages.choose(ZHANG, "zh-CN")
            assert await languages.of(ZHANG) == "zh-CN"
    finally:
        await journal.close()


async def test_everyones_language_is_learned_at_once_not_asked_one_by_one(
    gateway: GatewayStandIn, slack: SlackStandIn, tmp_path: Path
) -> None:
    """A crowd the bot has not met is answered in each one's language without a
    users.info each (Slack allows about 100 a minute): users.list, page by page."""
    slack.locales.update({ZHANG: "zh-CN", ALICE: "en-US", "U0TARO": "ja-JP"})
    journal = await Journal.open(tmp_path / "j.db")
    try:
        async with ClientSession() as session:
            client = AsyncWebClient(token=BOT_TOKEN, base_url=slack.api_url, session=session)
            languages = Languages(client, journal, default="en", page=2, page_spacing=0)
            await languages.learn_everyone()
            assert len(slack.calls_to("users.list")) == 2
            assert [await languages.of(u) for u in (ZHANG, ALICE, "U0TARO")] == [
                "zh-CN",
                "en",
                "en",
            ]
            assert slack.calls_to("users.info") == []
            # Without the scope, people are asked for one at a time, as before.
            slack.fail("users.list", "missing_scope")
            alone = Languages(client, journal, default="en")
            await alone.learn_everyone()
            assert (await alone.of(ZHANG), lookups(slack, ZHANG)) == ("zh-CN", 1)
    finally:
        await journal.close()
    async with running_bot(gateway, slack, tmp_path):  # the process learns at start
        (call, *_) = await eventually(lambda: slack.calls_to("users.list")[3:])
        assert call.args["include_locale"] in (True, "true", "1", 1)


async def test_everyones_chosen_language_is_read_at_once_not_one_by_one(
    slack: SlackStandIn, tmp_path: Path
) -> None:
    """A crowd's choices come from one read of the journal, not a read each: known
    even once the journal is closed (a read each would fail)."""
    slack.locales.update({ZHANG: "en-US", ALICE: "en-US", "U0TARO": "en-US"})
    journal = await Journal.open(tmp_path / "j.db")
    session = ClientSession()
    try:
        await journal.set_language(ZHANG, "zh-CN")
        await journal.set_language("U0TARO", None)  # chose, then followed Slack again
        client = AsyncWebClient(token=BOT_TOKEN, base_url=slack.api_url, session=session)
        languages = Languages(client, journal, default="en")
        await languages.learn_choices()
        await languages.choose(ALICE, "zh-CN")  # a choice made here shows at once
    finally:
        await journal.close()
    try:
        answers = [await languages.of(u) for u in (ZHANG, ALICE, "U0TARO")]
        assert answers == ["zh-CN", "zh-CN", "en"]
    finally:
        await session.close()


def test_the_cache_is_bounded_and_expires() -> None:
    cache: ExpiringCache[int] = ExpiringCache(ttl=60, size=3)
    for number in range(5):
        cache.put(f"U{number}", number)
    assert [cache.get(f"U{n}") for n in range(5)] == [None, None, 2, 3, 4]
    stale: ExpiringCache[int] = ExpiringCache(ttl=0, size=3)
    stale.put("U1", 1)
    assert stale.get("U1") is None


async def test_a_cancelled_lookup_is_never_swallowed(slack: SlackStandIn, tmp_path: Path) -> None:
    """A job's status ticker asks for the language and is cancelled when the job ends:
    the cancellation must stop it (asyncio.wait_for on 3.11 swallowed it when the
    answer was already there, and the job never finished)."""
    journal = await Journal.open(tmp_path / "j.db")
    try:
        async with ClientSession() as session:
            client = AsyncWebClient(token=BOT_TOKEN, base_url=slack.api_url, session=session)
            languages = Languages(client, journal, default="en")
            assert await languages.of(ZHANG) == "en"  # looked up: the answer is at hand

            async def ticker() -> None:
                await languages.of(ZHANG)
                await asyncio.sleep(30)

            for _ in range(20):
                task = asyncio.create_task(ticker())
                await asyncio.sleep(0)  # to its first suspension
                task.cancel()
                done, _ = await asyncio.wait({task}, timeout=2)
                assert done, "the cancellation was swallowed"
                assert task.cancelled()
    finally:
        await journal.close()
