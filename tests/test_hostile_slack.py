"""Hostile input and hostile hosts, on the Slack side: the real bot process
against the stand-ins (and, where a stranger's server is needed, another local
server), over real HTTP."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from slack_sdk.web.async_client import AsyncWebClient
from yarl import URL

from bot.generation import BadRequest
from bot.preview import render_noise_png, render_preview
from bot.slack.downloads import FileFetcher
from bot.standins.gateway import GatewayStandIn
from bot.standins.serving import serve_locally
from bot.standins.slack import BOT_USER, Message, SlackStandIn
from bot.standins.slack_sender import (
    app_mention,
    direct_message,
    envelope,
    message_action,
    slash_command,
    view_submission,
)
from bot.text.failures import cli_failure_text, failure_text
from tests.conftest import TEST_KEY
from tests.harness import BOT_TOKEN, RunningBot, eventually, running_bot

ALICE, BOB = "U0ALICE", "U0BOB"
CHANNEL = "C0GENERAL"
# What a stranger's words may try: ping everyone, ping someone, hide a link.
LIVE = ("<!channel>", "<!here>", "<@U123>", "<http://x|y>")


@dataclass
class Elsewhere:
    """A server that is not Slack: it records who asked and serves a PNG to anyone."""

    url: str = ""
    seen: list[dict[str, str]] = field(default_factory=list)

    def tokens_seen(self) -> list[str]:
        return [h["Authorization"] for h in self.seen if "Authorization" in h]


@pytest.fixture
async def elsewhere() -> AsyncIterator[Elsewhere]:
    server = Elsewhere()
    image = render_preview("elsewhere", "1:1", "1K")

    async def serve(request: web.Request) -> web.Response:
        server.seen.append(dict(request.headers))
        return web.Response(body=image, content_type="image/png")

    app = web.Application()
    app.router.add_get("/{path:.*}", serve)
    runner, port = await serve_locally(app, "127.0.0.1", 0)
    server.url = f"http://127.0.0.1:{port}"
    yield server
    await runner.cleanup()


def png(text: str) -> bytes:
    return render_preview(text, "1:1", "1K")


async def mention(
    bot: RunningBot,
    slack: SlackStandIn,
    text: str,
    *,
    files: list[dict[str, Any]] | None = None,
    **fields: Any,
) -> Message:
    """Alice mentions the bot in the channel (a new thread); returns her message."""
    request = slack.add_user_message(CHANNEL, ALICE, f"<@{BOT_USER}> {text}")
    event = app_mention(request.text, user=ALICE, channel=CHANNEL, ts=request.ts)
    if files is not None:
        event.update(files=files)
    event.update(fields)
    assert (await bot.sender.event(envelope(event))).status == 200
    return request


def answers(slack: SlackStandIn, thread: str) -> list[Message]:
    return [m for m in slack.visible(CHANNEL) if m.user == BOT_USER and m.thread_ts == thread]


async def failure(slack: SlackStandIn, thread: str) -> str:
    """The ❌ status line a job in ``thread`` ended with."""
    lines = await eventually(lambda: [m for m in answers(slack, thread) if "❌" in m.text])
    return lines[0].text


async def ended(slack: SlackStandIn, thread: str) -> str:
    """How a job in ``thread`` ended: its ❌ line, or the comment on its images."""
    done = await eventually(
        lambda: [m for m in answers(slack, thread) if m.files or "❌" in m.text]
    )
    return done[0].text


async def result(slack: SlackStandIn, thread: str) -> Message:
    """The uploaded images a job in ``thread`` delivered."""
    return (await eventually(lambda: [m for m in answers(slack, thread) if m.files]))[0]


# ---- 1. the bot token goes only to Slack ------------------------------------------------


async def test_the_bot_token_never_leaves_slack_and_downloads_are_capped(
    gateway: GatewayStandIn, slack: SlackStandIn, elsewhere: Elsewhere, tmp_path: Path
) -> None:
    limit = 200_000
    async with running_bot(gateway, slack, tmp_path, BANANA_MAX_INPUT_BYTES=str(limit)) as bot:
        # files.info says a file's bytes are on a server that is not Slack's.
        planted = slack.add_user_file("cat.png", png("cat"), url=f"{elsewhere.url}/cat.png")
        request = await mention(bot, slack, "make it night", files=[planted])
        said = await ended(slack, request.ts)
        assert elsewhere.tokens_seen() == [], "the bot token went to a server that is not Slack"
        assert "I can only edit images uploaded to Slack" in said

        # An external file (Google Drive, a link): its URL is the stranger's.
        external = slack.add_user_file(
            "drive.png", png("drive"), url=f"{elsewhere.url}/drive.png", external=True
        )
        request = await mention(bot, slack, "make it night", files=[external])
        assert "I can only edit images uploaded to Slack" in await failure(slack, request.ts)

        # Slack's own download redirects off its host: followed, without the token.
        moved = slack.add_user_file("moved.png", png("moved"), redirect=f"{elsewhere.url}/m.png")
        request = await mention(bot, slack, "make it night", files=[moved])
        edited = await result(slack, request.ts)
        assert "Edited from _moved.png_" in edited.text
        assert len(elsewhere.seen) == 1, "the redirect was followed"

        # Too large: files.info says so, and nothing is downloaded.
        downloads = len(slack.calls_to("download"))
        huge = slack.add_user_file("huge.png", png("huge"), reported_size=limit * 50)
        request = await mention(bot, slack, "make it night", files=[huge])
        assert "That image is too large for me to edit" in await failure(slack, request.ts)
        assert len(slack.calls_to("download")) == downloads

        # files.info understates the size: the download stops at the cap.
        big = render_noise_png(400, 400)
        assert len(big) > limit
        liar = slack.add_user_file("liar.png", big, reported_size=1000)
        request = await mention(bot, slack, "make it night", files=[liar])
        assert "too large for me to edit (the most I take is 195 KB)" in await failure(
            slack, request.ts
        )
        assert len(slack.calls_to("download")) == downloads + 1
    assert elsewhere.tokens_seen() == [], "the bot token went to a server that is not Slack"
    assert BOT_TOKEN not in json.dumps(elsewhere.seen)
    assert len(gateway.requests) == 1, "only the redirected image was edited"


# ---- 2. outside words are escaped and carry no key ------------------------------------


def everything_sent(slack: SlackStandIn) -> str:
    """Every argument of every Web API call, and every response_url post."""
    calls = [c.args for c in slack.calls]
    return json.dumps([calls, slack.responses], ensure_ascii=False)


async def test_outside_words_never_ping_or_link_and_never_show_the_key(
    gateway: GatewayStandIn, slack: SlackStandIn, tmp_path: Path
) -> None:
    async with running_bot(gateway, slack, tmp_path, BANANA_MAX_QUEUED_PER_USER="20") as bot:
        await _outside_words(bot, gateway, slack)


async def _outside_words(bot: RunningBot, gateway: GatewayStandIn, slack: SlackStandIn) -> None:
    # Short enough that an unknown finish reason (cut at 80 characters) keeps it all.
    gateway.words = f"<!channel> <!here> <@U123> <http://x|y> via https://gw/c?ak={TEST_KEY}&l=1"
    # The model's and the gateway's words: refusal text, an unknown finish reason,
    # error codes and messages, a 400's details, and the text beside an image.
    modes = ("text_only", "stopped", "code_error", "error_object", "bad_request", "ok")
    threads = {mode: (await mention(bot, slack, f"a cat [standin:{mode}]")).ts for mode in modes}
    for mode, thread in threads.items():
        if mode == "ok":
            said = (await result(slack, thread)).text
        else:
            said = await failure(slack, thread)
        assert "&lt;!channel&gt;" in said, f"{mode}: the outside words are shown, escaped"
        assert "ak=[redacted]" in said, mode

    # A file's name, and Slack's own error code for a file.
    named = slack.add_user_file("<!channel> <@U123>.png", png("named"))
    request = await mention(bot, slack, "make it snowy", files=[named])
    assert "&lt;!channel&gt; &lt;@U123&gt;.png" in (await result(slack, request.ts)).text
    slack.fail("files.info", "<!here>")
    request = await mention(
        bot, slack, "make it snowy", files=[slack.add_user_file("a.png", png("a"))]
    )
    assert "(&lt;!here&gt;)" in await failure(slack, request.ts)

    # The user's own words, echoed back in a usage error (mention, then command).
    await mention(bot, slack, "a cat --ar &lt;!channel&gt; --size &lt;http://x|y&gt;")
    (note,) = await eventually(lambda: [m for m in slack.ephemerals(ALICE) if "ratio" in m.text])
    assert "`&lt;!channel&gt;` is not an aspect ratio" in note.text
    ack = await bot.sender.command(
        slash_command("a cat --ar &lt;!here&gt;", user=ALICE, channel=CHANNEL)
    )
    assert "&lt;!here&gt;" in ack.json()["text"]

    sent = everything_sent(slack) + ack.body
    for live in LIVE:
        assert live not in sent, f"{live} reached Slack live"
    assert TEST_KEY not in sent


# ---- 3. one cap on waiting work; images fetched when the job starts ------------------------


async def test_beyond_the_global_queue_cap_even_an_admin_hears_very_busy(
    gateway: GatewayStandIn, slack: SlackStandIn, tmp_path: Path
) -> None:
    async with running_bot(
        gateway, slack, tmp_path, BANANA_MAX_QUEUE="1", BANANA_ADMINS=BOB
    ) as bot:
        first = await bot.sender.command(
            slash_command("a slow cat [standin:slow]", user=ALICE, channel=CHANNEL)
        )
        assert "Generating" in first.json()["text"]
        busy = await bot.sender.command(slash_command("a dog", user=BOB, channel=CHANNEL))
        assert "very busy" in busy.json()["text"]
        request = await mention(bot, slack, "a bird")
        (note,) = await eventually(lambda: slack.ephemerals(ALICE))
        assert note.thread_ts == request.ts
        assert "very busy" in note.text
        usage = await bot.sender.command(slash_command("usage", user=BOB, channel=CHANNEL))
        assert "*In progress:* 0" in usage.json()["text"], "nothing was journaled"
        # Room again once the first is done (its card shown, its task ended).
        await eventually(lambda: "state=delivered" in bot.logs())
        await asyncio.sleep(0.1)
        again = await bot.sender.command(slash_command("a dog", user=BOB, channel=CHANNEL))
        assert "Generating" in again.json()["text"]
        await eventually(lambda: len([m for m in slack.visible(CHANNEL) if m.files]) == 2)
    assert [r.prompt for r in gateway.requests] == ["a slow cat [standin:slow]", "a dog"]
    assert "request not acted on" in bot.logs()


async def test_images_to_edit_are_fetched_when_the_job_starts_not_while_it_waits(
    gateway: GatewayStandIn, slack: SlackStandIn, tmp_path: Path
) -> None:
    async with running_bot(gateway, slack, tmp_path, BANANA_CONCURRENCY="1") as bot:
        await bot.sender.command(
            slash_command("a slow cat [standin:slow]", user=ALICE, channel=CHANNEL)
        )
        await eventually(lambda: gateway.in_flight == 1)
        photo = slack.add_user_file("photo.png", png("photo"))
        request = await mention(bot, slack, "make it night", files=[photo])
        await eventually(lambda: [m for m in answers(slack, request.ts) if "Queued" in m.text])
        await asyncio.sleep(0.5)
        assert gateway.in_flight == 1, "the slow one still holds the only worker"
        assert not slack.calls_to("files.info"), "a waiting job looked its image up"
        assert not slack.calls_to("download"), "a waiting job downloaded its image"
        edited = await result(slack, request.ts)
    assert "Edited from _photo.png_" in edited.text
    assert len(slack.calls_to("download")) == 1
    assert gateway.requests[1].inputs == 1


# ---- 4. real Slack shapes: broadcast replies, Slack Connect files, what is not a request ---


async def test_broadcast_replies_are_requests_answered_in_their_thread(
    bot: RunningBot, gateway: GatewayStandIn, slack: SlackStandIn
) -> None:
    root = slack.add_user_message(CHANNEL, BOB, "what should the banner look like?")
    reply = slack.add_user_message(
        CHANNEL, ALICE, f"<@{BOT_USER}> a lighthouse at dawn", thread_ts=root.ts
    )
    # "Also send to #channel": an app_mention with subtype thread_broadcast and the root.
    event = app_mention(reply.text, user=ALICE, channel=CHANNEL, ts=reply.ts, thread_ts=root.ts)
    event.update(
        subtype="thread_broadcast",
        client_msg_id="2e3a25aa-4b9e-4c78-bef0-be3b8656a53d",
        root={
            "type": "message",
            "user": BOB,
            "text": root.text,
            "ts": root.ts,
            "thread_ts": root.ts,
            "reply_count": 1,
            "reply_users": [ALICE],
            "reply_users_count": 1,
            "latest_reply": reply.ts,
        },
    )
    await bot.sender.event(envelope(event))
    answer = await result(slack, root.ts)
    assert "a lighthouse at dawn" in answer.text

    # In a DM, "Also send as direct message": message.im with the same subtype.
    dm = slack.add_conversation("D0ALICE", "alice", "im", user=ALICE)
    first = slack.add_user_message(dm.id, ALICE, "a red fox")
    second = slack.add_user_message(dm.id, ALICE, "a blue fox", thread_ts=first.ts)
    event = direct_message(second.text, user=ALICE, channel=dm.id, ts=second.ts, thread_ts=first.ts)
    event.update(
        subtype="thread_broadcast",
        root={"type": "message", "user": ALICE, "text": first.text, "ts": first.ts},
    )
    await bot.sender.event(envelope(event))
    delivered = await eventually(
        lambda: [m for m in slack.visible(dm.id) if m.files and m.thread_ts == first.ts]
    )
    assert "a blue fox" in delivered[0].text
    assert [r.prompt for r in gateway.requests] == ["a lighthouse at dawn", "a blue fox"]


async def test_what_is_not_a_new_request_is_dropped_and_logged_with_why(
    bot: RunningBot, gateway: GatewayStandIn, slack: SlackStandIn
) -> None:
    dm = slack.add_conversation("D0ALICE", "alice", "im", user=ALICE)
    typed = slack.add_user_message(dm.id, ALICE, "a red fox")
    not_requests = [
        {
            **direct_message("a red fox", user=ALICE, channel=dm.id, ts=slack.next_ts()),
            "subtype": "message_changed",
            "message": {"type": "message", "user": ALICE, "text": "a red fox!", "ts": typed.ts},
        },
        {
            **direct_message("", user=ALICE, channel=dm.id, ts=slack.next_ts()),
            "subtype": "message_deleted",
            "deleted_ts": typed.ts,
        },
        {
            **direct_message("a cat", user=BOB, channel=dm.id, ts=slack.next_ts()),
            "subtype": "bot_message",
            "bot_id": "B0OTHER",
        },
        {
            **app_mention(f"<@{BOT_USER}> a cat", user=BOB, channel=CHANNEL, ts=slack.next_ts()),
            "bot_id": "B0OTHER",
        },
        {
            **direct_message("<@U0BOB> has joined", user=BOB, channel=dm.id, ts=slack.next_ts()),
            "subtype": "channel_join",
        },
    ]
    for event in not_requests:
        assert (await bot.sender.event(envelope(event))).status == 200
    logs = await eventually(lambda: bot.logs().count("not acted on") >= 5 and bot.logs())
    for why in (
        "dm not acted on: subtype message_changed",
        "dm not acted on: subtype message_deleted",
        "dm not acted on: subtype bot_message",
        "mention not acted on: posted by a bot",
        "dm not acted on: subtype channel_join",
    ):
        assert why in logs
    assert not gateway.requests
    assert not [m for m in slack.messages if m.user == BOT_USER]


async def test_slack_connect_files_are_looked_up_before_deciding_they_are_images(
    bot: RunningBot, gateway: GatewayStandIn, slack: SlackStandIn
) -> None:
    photo = slack.add_user_file("photo.png", png("photo"))
    request = await mention(bot, slack, "make the sky pink", files=[slack.connect_stub(photo)])
    edited = await result(slack, request.ts)
    assert "Edited from _photo.png_" in edited.text
    assert gateway.requests[0].inputs == 1, "the photo was edited, not a new picture drawn"

    # The message shortcut on a message from the other organisation.
    other = slack.add_user_file("theirs.png", png("theirs"))
    message = slack.add_user_message(CHANNEL, BOB, "our logo")
    shortcut = message_action(
        "banana_edit_message",
        {"type": "message", "ts": message.ts, "user": BOB, "files": [slack.connect_stub(other)]},
        user=ALICE,
        channel=CHANNEL,
        response_url=slack.response_url("s"),
    )
    await bot.sender.interaction(shortcut)
    (modal,) = await eventually(lambda: slack.views)
    submit = view_submission(modal, {"prompt": {"prompt": {"value": "in gold"}}}, user=ALICE)
    await bot.sender.interaction(submit)
    result_in_thread = await eventually(lambda: [m for m in answers(slack, message.ts) if m.files])
    assert "Edited from _theirs.png_" in result_in_thread[0].text
    assert gateway.requests[1].inputs == 1
    assert not slack.responses, "no 'that message has no images'"


async def test_the_token_goes_to_https_files_slack_com_and_the_api_host_only() -> None:
    async with aiohttp.ClientSession() as session:
        client = AsyncWebClient(token=BOT_TOKEN, session=session)
        files = FileFetcher(client, session, api_url="https://slack.com/api/", max_bytes=1)
        for url, carries in [
            ("https://files.slack.com/files-pri/T1-F1/cat.png", True),
            ("https://files.slack.com:443/files-pri/T1-F1/cat.png", True),
            ("https://slack.com/files/cat.png", True),
            ("http://files.slack.com/files-pri/T1-F1/cat.png", False),
            ("https://files.slack.com.example.net/cat.png", False),
            ("https://files.slack.com:8443/cat.png", False),
            ("https://docs.google.com/drawing/d/1", False),
            ("", False),
        ]:
            assert files.token_goes_to(URL(url)) is carries, url


def test_words_for_the_terminal_carry_no_key_either() -> None:
    error = BadRequest(f"the gateway refused https://gw/c?ak={TEST_KEY} (400)", status=400)
    assert TEST_KEY not in cli_failure_text(error)
    assert TEST_KEY not in failure_text(error)
