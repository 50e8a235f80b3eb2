"""The real ``banana-bot serve`` process, over real HTTP, against the stand-ins."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from bot.standins.gateway import GatewayStandIn
from bot.standins.slack import BOT_USER, SlackStandIn
from bot.standins.slack_sender import app_mention, direct_message, envelope, slash_command
from tests.harness import SIGNING_SECRET, RunningBot, eventually, running_bot

USER = "U0ALICE"
CHANNEL = "C0GENERAL"


def command(slack: SlackStandIn, text: str, channel: str = CHANNEL, user: str = USER):
    return slash_command(
        text, user=user, channel=channel, response_url=slack.response_url(f"r-{time.time_ns()}")
    )


def results(slack: SlackStandIn, channel: str = CHANNEL) -> list:
    return [m for m in slack.visible(channel) if m.files]


async def test_slash_command_delivers_the_image_in_the_channel(
    bot: RunningBot, gateway: GatewayStandIn, slack: SlackStandIn
) -> None:
    acked = await bot.sender.command(command(slack, "a shiba inu in a park --ar 16:9 --size 2K"))
    assert acked.status == 200, bot.logs()
    reply = acked.json()
    assert reply["response_type"] == "ephemeral"
    assert "Generating" in reply["text"]
    assert "16:9 · 2K" in reply["text"]
    # What it costs is said before it is made.
    assert "(≈ $0.10; 1 image of your 50 today, refusals and failures free)" in reply["text"]
    (message,) = await eventually(lambda: results(slack))
    assert message.thread_ts is None
    assert f"<@{USER}> asked for: _a shiba inu in a park_" in message.text
    assert "16:9 · 2K ·" in message.text
    assert f"logid `{gateway.requests[0].logid}`" in message.text
    (shared,) = message.files
    assert shared["name"] == "a-shiba-inu-in-a-park.png"
    assert shared["title"] == "a shiba inu in a park"
    assert [r.aspect_ratio for r in gateway.requests] == ["16:9"]
    (upload_call,) = slack.calls_to("files.getUploadURLExternal")
    assert upload_call.args["alt_txt"] == "a shiba inu in a park"
    (sent,) = slack.calls_to("upload")
    assert sent.args["content_length"] == upload_call.args["length"] == str(sent.args["length"])
    # The status line was posted first and became the result card, with buttons.
    assert len(slack.calls_to("chat.postMessage")) == 1
    card, image = slack.visible(CHANNEL)
    await eventually(lambda: card.text.startswith("✅"))
    assert card.ts < image.ts
    actions = next(b for b in card.blocks if b["type"] == "actions")["elements"]
    assert [e["action_id"] for e in actions] == [
        "banana_reroll",
        "banana_ratio",
        "banana_edit",
        "banana_delete",
    ]


async def test_several_images_arrive_in_one_upload(
    bot: RunningBot, gateway: GatewayStandIn, slack: SlackStandIn
) -> None:
    gateway.queue("ok", "jpeg", "ok")
    await bot.sender.command(command(slack, "three cats --n 3"))
    (message,) = await eventually(lambda: results(slack))
    names = sorted(f["name"] for f in message.files)
    assert [n.rsplit(".")[0] for n in names] == ["three-cats-1", "three-cats-2", "three-cats-3"]
    assert sorted(n.rsplit(".")[1] for n in names) == ["jpg", "png", "png"]
    assert len(gateway.requests) == 3
    assert len(slack.calls_to("files.completeUploadExternal")) == 1


@pytest.mark.parametrize("text", ["", "help", "  HELP "])
async def test_help_and_empty_show_usage(
    bot: RunningBot, gateway: GatewayStandIn, slack: SlackStandIn, text: str
) -> None:
    reply = (await bot.sender.command(command(slack, text))).json()
    assert reply["response_type"] == "ephemeral"
    for expected in ("--ar", "21:9", "4:5", "wide", "story", "--size", "1K", "2K", "2:3 or 3:4"):
        assert expected in reply["text"]
    # Slack would read a bare <what to draw> as a link and show nothing of it.
    assert "`/banana &lt;what to draw&gt; [--ar W:H]" in reply["text"]
    assert "<what" not in reply["text"]
    await asyncio.sleep(0.3)
    assert gateway.requests == []


async def test_invalid_options_answer_ephemerally_and_generate_nothing(
    bot: RunningBot, gateway: GatewayStandIn, slack: SlackStandIn
) -> None:
    reply = (await bot.sender.command(command(slack, "a cat --ar 7:3"))).json()
    assert reply["response_type"] == "ephemeral"
    assert "`7:3` is not a ratio" in reply["text"]
    assert "16:9" in reply["text"]
    reply = (await bot.sender.command(command(slack, "a cat --ratio 16:9"))).json()
    assert "did you mean `--ar`?" in reply["text"]
    await asyncio.sleep(0.3)
    assert gateway.requests == []
    assert slack.calls_to("chat.postMessage") == []


async def test_mention_answers_in_the_thread_with_reactions(
    bot: RunningBot, gateway: GatewayStandIn, slack: SlackStandIn
) -> None:
    request = slack.add_user_message(
        CHANNEL, USER, f"<@{BOT_USER}> draw a cat &amp; a dog —ar 3:4 <@{BOT_USER}|banana>"
    )
    event = app_mention(request.text, user=USER, channel=CHANNEL, ts=request.ts)
    assert (await bot.sender.event(envelope(event))).status == 200
    (result,) = await eventually(lambda: results(slack))
    assert result.thread_ts == request.ts
    assert gateway.requests[0].prompt == "draw a cat & a dog"
    assert gateway.requests[0].aspect_ratio == "3:4"
    await eventually(lambda: request.reactions.get("white_check_mark"))
    assert not request.reactions.get("hourglass_flowing_sand")
    added = [c.args["name"] for c in slack.calls_to("reactions.add")]
    assert added == ["hourglass_flowing_sand", "white_check_mark"]


async def test_mention_inside_a_thread_answers_in_that_thread(
    bot: RunningBot, slack: SlackStandIn
) -> None:
    root = slack.add_user_message(CHANNEL, USER, "lunch ideas?")
    reply = slack.add_user_message(CHANNEL, USER, f"<@{BOT_USER}> a pizza", thread_ts=root.ts)
    event = app_mention(reply.text, user=USER, channel=CHANNEL, ts=reply.ts, thread_ts=root.ts)
    await bot.sender.event(envelope(event))
    (result,) = await eventually(lambda: results(slack))
    assert result.thread_ts == root.ts


async def test_direct_message_answers_in_the_dm(
    bot: RunningBot, gateway: GatewayStandIn, slack: SlackStandIn
) -> None:
    dm = slack.add_conversation("D0ALICE", "alice", "im", user=USER)
    request = slack.add_user_message(dm.id, USER, "一只柴犬 --ar 9:16")
    event = direct_message(request.text, user=USER, channel=dm.id, ts=request.ts)
    await bot.sender.event(envelope(event))
    (result,) = await eventually(lambda: results(slack, dm.id))
    assert result.thread_ts == request.ts
    assert gateway.requests[0].prompt == "一只柴犬"


async def test_mention_with_bad_options_whispers_the_error(
    bot: RunningBot, gateway: GatewayStandIn, slack: SlackStandIn
) -> None:
    request = slack.add_user_message(CHANNEL, USER, f"<@{BOT_USER}> a cat --size 4K")
    await bot.sender.event(
        envelope(app_mention(request.text, user=USER, channel=CHANNEL, ts=request.ts))
    )
    (note,) = await eventually(lambda: slack.ephemerals(USER))
    assert "`4K` is not a size" in note.text
    assert note.thread_ts == request.ts
    assert gateway.requests == []


@pytest.mark.parametrize(
    "extra",
    [
        {"bot_id": "B0OTHER"},
        {"subtype": "bot_message", "bot_id": "B0OTHER"},
        {"subtype": "message_changed"},
        {"subtype": "message_deleted"},
        {"subtype": "channel_join"},
        {"user": BOT_USER},
    ],
)
async def test_messages_that_are_not_requests_are_ignored(
    bot: RunningBot, gateway: GatewayStandIn, slack: SlackStandIn, extra: dict
) -> None:
    event = direct_message("a cat", user=USER, channel="D0ALICE", ts="1.000001")
    event.update(extra)
    delivered = await bot.sender.event(envelope(event))
    assert delivered.status == 200
    await asyncio.sleep(0.3)
    assert gateway.requests == []
    at_start = ("auth.test", "users.list")  # who the bot is; everyone's language
    assert slack.calls == [c for c in slack.calls if c.method in at_start]


async def test_other_event_types_get_200_not_404(bot: RunningBot) -> None:
    for event in ({"type": "reaction_added", "user": USER}, {"type": "member_joined_channel"}):
        assert (await bot.sender.event(envelope(event))).status == 200
    unknown = await bot.sender.command(
        slash_command("x", user=USER, channel=CHANNEL, command="/other")
    )
    assert unknown.status == 200


async def test_retried_event_costs_one_generation(
    bot: RunningBot, gateway: GatewayStandIn, slack: SlackStandIn
) -> None:
    request = slack.add_user_message(CHANNEL, USER, f"<@{BOT_USER}> a cat")
    first = envelope(app_mention(request.text, user=USER, channel=CHANNEL, ts=request.ts))
    await bot.sender.event(first)
    await bot.sender.event(first, retry_num=1)
    await bot.sender.event(first, retry_num=2)
    # The same message arriving again under another event id is the same request too.
    again = envelope(app_mention(request.text, user=USER, channel=CHANNEL, ts=request.ts))
    await bot.sender.event(again)
    await eventually(lambda: results(slack))
    await asyncio.sleep(0.3)
    assert len(gateway.requests) == 1


async def test_forged_and_stale_signatures_get_401(bot: RunningBot, slack: SlackStandIn) -> None:
    fields = command(slack, "a cat")
    assert (await bot.sender.command(fields, secret="not-the-secret")).status == 401
    stale = int(time.time()) - 600
    assert (await bot.sender.command(fields, timestamp=stale)).status == 401
    assert SIGNING_SECRET


async def test_junk_bodies_get_a_4xx_and_the_bot_stays_up(bot: RunningBot) -> None:
    for body, kind in ((b"{not json", "application/json"), (b"\xff\xfe", "text/plain")):
        delivered = await bot.sender.post(body, kind)
        assert 400 <= delivered.status < 500
    assert bot.process.returncode is None


async def test_a_prompt_about_a_payload_is_not_lost(
    bot: RunningBot, gateway: GatewayStandIn, slack: SlackStandIn
) -> None:
    """Bolt's form parser drops any body containing "payload"; ours does not."""
    acked = await bot.sender.command(command(slack, "a rocket delivering its payload"))
    assert acked.status == 200, bot.logs()
    await eventually(lambda: gateway.requests)
    assert gateway.requests[0].prompt == "a rocket delivering its payload"


async def test_public_channel_without_the_bot_is_joined(
    bot: RunningBot, slack: SlackStandIn
) -> None:
    slack.add_conversation("C0RANDOM", "random", member=False)
    await bot.sender.command(command(slack, "a cat", channel="C0RANDOM"))
    await eventually(lambda: results(slack, "C0RANDOM"))
    assert [c.args["channel"] for c in slack.calls_to("conversations.join")] == ["C0RANDOM"]


async def test_private_channel_without_the_bot_goes_to_the_dm(
    bot: RunningBot, slack: SlackStandIn
) -> None:
    slack.add_conversation("G0SECRET", "secret", "private", member=False)
    fields = command(slack, "a cat", channel="G0SECRET")
    await bot.sender.command(fields)
    dm_results = await eventually(
        lambda: [m for m in slack.visible() if m.files and m.channel.startswith("D")]
    )
    assert f"<@{USER}>" in dm_results[0].text
    (note,) = await eventually(lambda: slack.responses)
    assert note["response_type"] == "ephemeral"
    assert "our DM" in note["text"]


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("text_only", "It said: “I can't draw that, but I can describe it.”"),
        ("safety", "safety filter"),
        ("code_error", "-1013"),
    ],
)
async def test_failures_are_shown_on_the_status_line(
    bot: RunningBot, gateway: GatewayStandIn, slack: SlackStandIn, mode: str, expected: str
) -> None:
    gateway.default_mode = mode
    await bot.sender.command(command(slack, "a cat"))
    status = await eventually(lambda: [m for m in slack.visible(CHANNEL) if "❌" in m.text])
    assert expected in status[0].text
    assert f"<@{USER}>" in status[0].text


async def test_busy_gateway_says_try_again(
    gateway: GatewayStandIn, slack: SlackStandIn, tmp_path: Path
) -> None:
    gateway.default_mode = "unavailable"
    async with running_bot(gateway, slack, tmp_path, BANANA_MAX_ATTEMPTS="2") as bot:
        await bot.sender.command(command(slack, "a cat"))
        status = await eventually(lambda: [m for m in slack.visible(CHANNEL) if "❌" in m.text])
        assert "try again in a minute" in status[0].text
        assert len(gateway.requests) == 2


async def test_rejected_key_tells_the_admin_loudly(
    gateway: GatewayStandIn, slack: SlackStandIn, tmp_path: Path
) -> None:
    gateway.api_key = "another-key"
    async with running_bot(gateway, slack, tmp_path) as bot:
        await bot.sender.command(command(slack, "a cat"))
        status = await eventually(lambda: [m for m in slack.visible(CHANNEL) if "❌" in m.text])
        assert "tell the bot's admin" in status[0].text
        await eventually(lambda: "rejected the key" in bot.logs())
        assert len(gateway.requests) == 1


async def test_gateway_timeout_is_reported(
    gateway: GatewayStandIn, slack: SlackStandIn, tmp_path: Path
) -> None:
    gateway.default_mode = "slow"
    async with running_bot(
        gateway, slack, tmp_path, BANANA_TIMEOUT="1", BANANA_MAX_ATTEMPTS="1"
    ) as bot:
        await bot.sender.command(command(slack, "a cat"))
        status = await eventually(lambda: [m for m in slack.visible(CHANNEL) if "❌" in m.text])
        assert "took too long" in status[0].text


async def test_server_errors_while_uploading_are_retried_until_slack_takes_it(
    bot: RunningBot, slack: SlackStandIn
) -> None:
    slack.fail("upload", "broken", "broken", "broken", "broken")  # HTTP 500 each
    await bot.sender.command(command(slack, "a cat"))
    (result,) = await eventually(lambda: [m for m in slack.visible(CHANNEL) if m.files])
    assert "a cat" in result.text
    assert len(slack.calls_to("upload")) == 5
    assert not [m for m in slack.visible(CHANNEL) if "❌" in m.text]


async def test_slacks_refusal_reaches_the_user_as_its_code_never_the_sdks_dump(
    bot: RunningBot, slack: SlackStandIn
) -> None:
    slack.fail("files.completeUploadExternal", "invalid_arguments")
    await bot.sender.command(command(slack, "a cat"))
    status = await eventually(lambda: [m for m in slack.visible(CHANNEL) if "❌" in m.text])
    assert "Slack would not take the upload (invalid_arguments)" in status[0].text
    assert "The server responded with" not in status[0].text
    assert "'ok'" not in status[0].text


async def test_slack_rate_limits_and_server_errors_are_retried(
    bot: RunningBot, slack: SlackStandIn
) -> None:
    slack.fail("chat.postMessage", "ratelimited")
    slack.fail("files.getUploadURLExternal", "server_error")
    slack.fail("files.completeUploadExternal", "ratelimited")
    await bot.sender.command(command(slack, "a cat"))
    await eventually(lambda: results(slack))
    assert len(slack.calls_to("chat.postMessage")) == 2
    assert len(slack.calls_to("files.getUploadURLExternal")) == 2
    assert len(slack.calls_to("files.completeUploadExternal")) == 2


async def test_a_status_line_that_cannot_be_posted_is_still_reported(
    bot: RunningBot, gateway: GatewayStandIn, slack: SlackStandIn
) -> None:
    slack.fail("chat.postMessage", "fatal_error")
    await bot.sender.command(command(slack, "a lost cat"))
    (note,) = await eventually(lambda: slack.responses)
    assert "could not post in this conversation, so nothing was made" in note["text"]
    assert "`/banana a lost cat --ar 1:1 --size 1K`" in note["text"]
    mention = slack.add_user_message(CHANNEL, USER, f"<@{BOT_USER}> a lost dog")
    slack.fail("chat.postMessage", "fatal_error")
    await bot.sender.event(
        envelope(app_mention(mention.text, user=USER, channel=CHANNEL, ts=mention.ts))
    )
    await eventually(lambda: "x" in mention.reactions)
    assert gateway.requests == []


async def test_generation_does_not_wait_for_slacks_posting_limit(
    bot: RunningBot, gateway: GatewayStandIn, slack: SlackStandIn
) -> None:
    slack.post_limit = (1, 1.0)  # a busy channel: one status line a second
    fields = [command(slack, f"busy cat {i}", user=f"U{i:04d}") for i in range(6)]
    burst = time.monotonic()
    await asyncio.gather(*(bot.sender.command(f) for f in fields))
    await eventually(lambda: len(results(slack)) == 6, limit=30)
    delivered = time.monotonic() - burst
    await eventually(lambda: len([m for m in slack.visible(CHANNEL) if "✅" in m.text]) == 6)
    starts = sorted(request.at - burst for request in gateway.requests)
    statuses = sorted(c.at - burst for c in slack.calls_to("chat.postMessage"))
    assert statuses[-1] > 4.0, "Slack let the six status lines through a second apart"
    assert starts[-1] < 2.5, f"every image started within its head start: {starts}"
    assert delivered < statuses[-1], "the images did not wait for their status lines"


async def test_burst_of_20_commands_all_acked_and_delivered(
    bot: RunningBot, gateway: GatewayStandIn, slack: SlackStandIn
) -> None:
    gateway.latency = 0.2
    slack.post_limit = (3, 1.0)  # Slack lets a channel take ~1 post/s, with short bursts
    fields = [command(slack, f"cat number {i}", user=f"U{i:04d}") for i in range(20)]
    acks = await asyncio.gather(*(bot.sender.command(f) for f in fields))
    assert [a.status for a in acks] == [200] * 20
    assert all("Generating" in a.json()["text"] for a in acks)
    delivered = await eventually(lambda: len(results(slack)) == 20 and results(slack), 60)
    assert sorted(m.files[0]["title"] for m in delivered) == sorted(
        f"cat number {i}" for i in range(20)
    )
    assert len(gateway.requests) == 20
    assert gateway.max_in_flight <= 4
    posts = len(slack.calls_to("chat.postMessage"))
    assert posts > 20, "the post limit was never met"
    assert posts <= 40, "rate-limited posts wait in line instead of colliding again"
    assert slack.responses == [], "no request was given up"
