"""Beyond one-shot: buttons, modals, editing attached images, thread versions,
the message shortcut and history — signed payloads against the real process."""

from __future__ import annotations

import asyncio
import io
import time
from pathlib import Path
from typing import Any

from PIL import Image

from bot.generation.images import MAX_INPUT_BYTES, prepare_input
from bot.preview import render_noise_png, render_preview
from bot.standins.gateway import GatewayStandIn
from bot.standins.slack import BOT_USER, Message, SlackStandIn
from bot.standins.slack_sender import (
    app_home_opened,
    app_mention,
    block_action,
    envelope,
    message_action,
    slash_command,
    view_submission,
)
from tests.harness import RunningBot, eventually, running_bot

ALICE, BOB = "U0ALICE", "U0BOB"
CHANNEL = "C0GENERAL"


def results(slack: SlackStandIn) -> list[Message]:
    return [m for m in slack.visible() if m.files]


def cards(slack: SlackStandIn) -> list[Message]:
    return [m for m in slack.visible() if m.text.startswith("✅") and m.blocks]


def controls(card: Message) -> dict[str, dict[str, Any]]:
    elements = next(b for b in card.blocks if b["type"] == "actions")["elements"]
    return {e["action_id"]: e for e in elements}


def click(card: Message, action_id: str, user: str, slack: SlackStandIn, **extra: Any):
    element = controls(card)[action_id]
    action = {"action_id": action_id, "type": element["type"], "value": element.get("value")}
    action.update(extra)
    return block_action(
        action,
        user=user,
        channel=card.channel,
        message_ts=card.ts,
        response_url=slack.response_url(f"click{time.time_ns()}"),
        thread_ts=card.thread_ts,
    )


async def first_result(bot: RunningBot, slack: SlackStandIn, text: str) -> Message:
    await bot.sender.command(
        slash_command(text, user=ALICE, channel=CHANNEL, response_url=slack.response_url("r"))
    )
    (card,) = await eventually(lambda: cards(slack))
    return card


async def test_reroll_ratio_and_edit_buttons(
    bot: RunningBot, gateway: GatewayStandIn, slack: SlackStandIn
) -> None:
    card = await first_result(bot, slack, "a red fox --ar 3:2 --size 2K")
    assert (await bot.sender.interaction(click(card, "banana_reroll", BOB, slack))).status == 200
    await eventually(lambda: len(results(slack)) == 2)
    assert [(r.prompt, r.aspect_ratio, r.size) for r in gateway.requests] == [
        ("a red fox", "3:2", "2K")
    ] * 2
    assert "<@U0BOB>" in results(slack)[1].text, "whoever clicked asked for the re-roll"
    origin = f"{slack.base}/archives/{CHANNEL}/p{card.ts.replace('.', '')}"
    assert f"↩️ From <{origin}|an earlier image>" in results(slack)[1].text
    assert "From" not in results(slack)[0].text

    ratio = controls(card)["banana_ratio"]
    option = next(o for o in ratio["options"] if o["value"].endswith("|9:16"))
    await bot.sender.interaction(click(card, "banana_ratio", ALICE, slack, selected_option=option))
    await eventually(lambda: len(results(slack)) == 3)
    assert gateway.requests[2].aspect_ratio == "9:16"

    await bot.sender.interaction(click(card, "banana_edit", ALICE, slack))
    (modal,) = await eventually(lambda: slack.views)
    field = modal["blocks"][0]["element"]
    assert field["initial_value"] == "a red fox --ar 3:2 --size 2K"
    bad = view_submission(modal, {"prompt": {"prompt": {"value": "x --ar 7:3"}}}, user=ALICE)
    reply = (await bot.sender.interaction(bad)).json()
    assert reply["response_action"] == "errors"
    # A modal's error is plain text: no backticks to show as they are.
    assert reply["errors"]["prompt"].startswith("7:3 is not a ratio the model makes")
    assert "`" not in reply["errors"]["prompt"]
    good = view_submission(
        modal, {"prompt": {"prompt": {"value": "a blue fox --ar 3:2 --size 2K"}}}, user=ALICE
    )
    assert (await bot.sender.interaction(good)).status == 200
    await eventually(lambda: len(results(slack)) == 4)
    assert gateway.requests[3].prompt == "a blue fox"


async def test_a_prompt_longer_than_slacks_input_box_still_opens_the_edit_modal(
    bot: RunningBot, gateway: GatewayStandIn, slack: SlackStandIn
) -> None:
    prompt = "a fox in a very detailed autumn forest, " * 95  # 3,800 characters
    gateway.default_mode = "safety"  # a refusal card, with its own buttons
    await bot.sender.command(
        slash_command(prompt, user=ALICE, channel=CHANNEL, response_url=slack.response_url("r"))
    )
    (card,) = await eventually(lambda: [m for m in slack.visible() if m.blocks])
    await bot.sender.interaction(click(card, "banana_edit", ALICE, slack))
    (modal,) = await eventually(lambda: slack.views)
    assert len(modal["blocks"][0]["element"]["initial_value"]) <= 3000
    assert "cut to fit" in modal["blocks"][0]["hint"]["text"]
    # A modal Slack will not open (an expired trigger) is not a silent click.
    slack.fail("views.open", "expired_trigger_id")
    await bot.sender.interaction(click(card, "banana_edit", ALICE, slack))
    await eventually(lambda: [r for r in slack.responses if "open the editor" in r["text"]])


async def test_delete_is_for_the_requester_or_an_admin(
    gateway: GatewayStandIn, slack: SlackStandIn, tmp_path: Path
) -> None:
    async with running_bot(gateway, slack, tmp_path, BANANA_ADMINS="U0ADMIN") as bot:
        card = await first_result(bot, slack, "a cat")
        await bot.sender.interaction(click(card, "banana_delete", BOB, slack))
        denied = await eventually(
            lambda: [r for r in slack.responses if "Only the person" in r["text"]]
        )
        assert denied[0]["response_type"] == "ephemeral"
        assert results(slack)
        await bot.sender.interaction(click(card, "banana_delete", ALICE, slack))
        await eventually(lambda: not results(slack) and not cards(slack))
        assert len(slack.calls_to("files.delete")) == 1
        card = await first_result(bot, slack, "a dog")
        await bot.sender.interaction(click(card, "banana_delete", "U0ADMIN", slack))
        await eventually(lambda: not results(slack))


async def test_buttons_keep_working_after_a_restart(
    gateway: GatewayStandIn, slack: SlackStandIn, tmp_path: Path
) -> None:
    async with running_bot(gateway, slack, tmp_path) as bot:
        card = await first_result(bot, slack, "a durable owl --ar 4:5")
    async with running_bot(gateway, slack, tmp_path) as bot:
        await bot.sender.interaction(click(card, "banana_reroll", ALICE, slack))
        await eventually(lambda: len(results(slack)) == 2)
    assert [(r.prompt, r.aspect_ratio) for r in gateway.requests] == [("a durable owl", "4:5")] * 2


async def test_refusal_offers_try_again_rephrased(
    bot: RunningBot, gateway: GatewayStandIn, slack: SlackStandIn
) -> None:
    gateway.default_mode = "safety"
    await bot.sender.command(
        slash_command("a cat", user=ALICE, channel=CHANNEL, response_url=slack.response_url("r"))
    )
    (card,) = await eventually(lambda: [m for m in slack.visible() if "❌" in m.text])
    assert "declined" in card.text
    assert "safety filter" in card.text
    button = controls(card)["banana_edit"]
    assert button["text"]["text"] == "✏️ Try again, rephrased"
    await bot.sender.interaction(click(card, "banana_edit", ALICE, slack))
    await eventually(lambda: slack.views)


def png(text: str, ratio: str = "1:1") -> bytes:
    return render_preview(text, ratio, "1K")


async def test_a_mention_with_attached_images_edits_them(
    bot: RunningBot, gateway: GatewayStandIn, slack: SlackStandIn
) -> None:
    files = [slack.add_user_file("one.png", png("one")), slack.add_user_file("two.png", png("two"))]
    request = slack.add_user_message(CHANNEL, ALICE, f"<@{BOT_USER}> make them snowy")
    event = app_mention(request.text, user=ALICE, channel=CHANNEL, ts=request.ts)
    event.update(files=files, subtype=None)
    await bot.sender.event(envelope(event))
    (result,) = await eventually(lambda: results(slack))
    assert result.thread_ts == request.ts
    assert "Edited from _one.png_, _two.png_" in result.text
    (sent,) = gateway.requests
    assert sent.inputs == 2
    parts = sent.body["messages"][0]["content"]
    assert parts[0] == {"type": "text", "text": "make them snowy"}
    assert parts[1]["image_url"]["url"].startswith("data:image/png;base64,")
    assert len(slack.calls_to("download")) == 2


async def test_thread_iterations_are_numbered_and_can_name_a_version(
    gateway: GatewayStandIn, slack: SlackStandIn, tmp_path: Path
) -> None:
    root = slack.add_user_message(CHANNEL, ALICE, f"<@{BOT_USER}> a lighthouse")
    async with running_bot(gateway, slack, tmp_path) as bot:
        await bot.sender.event(
            envelope(app_mention(root.text, user=ALICE, channel=CHANNEL, ts=root.ts))
        )
        (v1,) = await eventually(lambda: results(slack))
        assert v1.text.startswith("*v1*")
        follow = slack.add_user_message(
            CHANNEL, ALICE, f"<@{BOT_USER}> make it night", thread_ts=root.ts
        )
        await bot.sender.event(
            envelope(
                app_mention(
                    follow.text, user=ALICE, channel=CHANNEL, ts=follow.ts, thread_ts=root.ts
                )
            )
        )
        await eventually(lambda: len(results(slack)) == 2)
        assert results(slack)[1].text.startswith("*v2*")
        # The card follows the journal's record of delivery: only then may the bot die.
        await eventually(lambda: len(cards(slack)) == 2)
    assert gateway.requests[1].inputs == 1
    # Across a restart, naming v1 edits v1, not the latest.
    async with running_bot(gateway, slack, tmp_path) as bot:
        named = slack.add_user_message(
            CHANNEL, ALICE, f"<@{BOT_USER}> v1 but in watercolor", thread_ts=root.ts
        )
        await bot.sender.event(
            envelope(
                app_mention(named.text, user=ALICE, channel=CHANNEL, ts=named.ts, thread_ts=root.ts)
            )
        )
        await eventually(lambda: len(results(slack)) == 3)
        assert results(slack)[2].text.startswith("*v3*")
        await eventually(lambda: len(cards(slack)) == 3)
    v1_file = v1.files[0]["id"]
    last_downloads = [c.args["file_id"] for c in slack.calls_to("download")]
    assert last_downloads[-1] == v1_file
    assert gateway.requests[2].prompt == "in watercolor"
    missing = slack.add_user_message(CHANNEL, ALICE, f"<@{BOT_USER}> v9 please", thread_ts=root.ts)
    async with running_bot(gateway, slack, tmp_path) as bot:
        await bot.sender.event(
            envelope(
                app_mention(
                    missing.text, user=ALICE, channel=CHANNEL, ts=missing.ts, thread_ts=root.ts
                )
            )
        )
        (note,) = await eventually(lambda: slack.ephemerals(ALICE))
    assert "There is no v9 in this thread (the latest is v3)" in note.text


async def test_the_message_shortcut_edits_a_messages_images(
    bot: RunningBot, gateway: GatewayStandIn, slack: SlackStandIn
) -> None:
    image = slack.add_user_file("photo.png", png("a photo", "16:9"))
    message = slack.add_user_message(CHANNEL, BOB, "look at this")
    message.files = [image]
    shortcut = message_action(
        "banana_edit_message",
        {"type": "message", "ts": message.ts, "user": BOB, "text": message.text, "files": [image]},
        user=ALICE,
        channel=CHANNEL,
        response_url=slack.response_url("s"),
    )
    assert (await bot.sender.interaction(shortcut)).status == 200
    (modal,) = await eventually(lambda: slack.views)
    assert modal["callback_id"] == "banana_edit_message"
    submit = view_submission(modal, {"prompt": {"prompt": {"value": "make it sunset"}}}, user=ALICE)
    assert (await bot.sender.interaction(submit)).status == 200
    (result,) = await eventually(lambda: [m for m in results(slack) if m.ts != message.ts])
    assert result.thread_ts == message.ts
    assert gateway.requests[0].inputs == 1
    assert gateway.requests[0].aspect_ratio == "16:9", "the photo's shape, not 1:1"
    plain = slack.add_user_message(CHANNEL, BOB, "no pictures here")
    await bot.sender.interaction(
        message_action(
            "banana_edit_message",
            {"type": "message", "ts": plain.ts, "text": plain.text},
            user=ALICE,
            channel=CHANNEL,
            response_url=slack.response_url("s2"),
        )
    )
    await eventually(lambda: [r for r in slack.responses if "no images" in r["text"]])


async def test_history_lists_the_last_generations_with_links(
    bot: RunningBot, slack: SlackStandIn
) -> None:
    for text in ("first cat", "second cat --ar 16:9"):
        await bot.sender.command(
            slash_command(text, user=ALICE, channel=CHANNEL, response_url=slack.response_url("r"))
        )
    await eventually(lambda: len(cards(slack)) == 2)
    reply = (
        await bot.sender.command(
            slash_command(
                "history", user=ALICE, channel=CHANNEL, response_url=slack.response_url("h")
            )
        )
    ).json()
    text = reply["text"]
    assert text.index("second cat") < text.index("first cat")
    assert "16:9 · 1K" in text
    assert f"/archives/{CHANNEL}/p" in text
    # The App Home tab shows the same, with today's use.
    await bot.sender.event(envelope(app_home_opened(user=BOB, tab="messages")))
    await bot.sender.event(envelope(app_home_opened(user=ALICE)))
    home = await eventually(lambda: slack.home_views.get(ALICE))
    shown = "\n".join(b.get("text", {}).get("text", "") for b in home["blocks"])
    assert "*Today:* 2 images (48 of 50 left" in shown
    assert shown.index("second cat") < shown.index("first cat")
    assert BOB not in slack.home_views, "the Messages tab is the DM, not the Home tab"


def test_inputs_over_7_mb_are_shrunk() -> None:
    big = render_noise_png(2048, 2048)
    assert len(big) > MAX_INPUT_BYTES
    shrunk = prepare_input(big)
    assert len(shrunk.data) <= MAX_INPUT_BYTES
    assert shrunk.mime_type == "image/jpeg"
    with Image.open(io.BytesIO(shrunk.data)) as image:
        assert image.width == image.height > 512
    small = prepare_input(png("small"))
    assert small.mime_type == "image/png"


async def test_downloads_need_the_bot_token(slack: SlackStandIn) -> None:
    import aiohttp

    file = slack.add_user_file("x.png", png("x"))
    async with aiohttp.ClientSession() as session:
        async with session.get(file["url_private"]) as response:
            assert response.content_type == "text/html"
        async with session.get(
            file["url_private"], headers={"Authorization": f"Bearer {slack.bot_token}"}
        ) as response:
            assert response.content_type == "image/png"
    await asyncio.sleep(0)
