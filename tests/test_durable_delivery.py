"""Generated ⇒ delivered, or the requester is told: a Slack outage during delivery
never throws a made image away. Real processes, real HTTP, a Slack stand-in that
goes down for a while."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import time
from pathlib import Path

import pytest

from bot.standins.gateway import GatewayStandIn
from bot.standins.slack import BOT_USER, Message, SlackStandIn
from bot.standins.slack_sender import app_mention, envelope, slash_command
from tests.harness import RunningBot, eventually, running_bot

USER, CHANNEL = "U0ALICE", "C0GENERAL"
FILE_METHODS = ("files.getUploadURLExternal", "upload", "files.completeUploadExternal")


def results(slack: SlackStandIn) -> list[Message]:
    return [m for m in slack.visible() if m.files]


def journal_states(tmp_path: Path) -> list[str]:
    with sqlite3.connect(tmp_path / "data" / "banana.db") as db:
        return [row[0] for row in db.execute("SELECT state FROM jobs ORDER BY created_at")]


def spooled(tmp_path: Path) -> list[str]:
    """The jobs in the spool (not the folder where images are being made)."""
    spool = tmp_path / "data" / "spool"
    return (
        sorted(p.name for p in spool.iterdir() if p.name != ".incoming") if spool.exists() else []
    )


async def ask(bot: RunningBot, slack: SlackStandIn, prompt: str, *, mention: bool) -> Message:
    """A request by mention (reactions, a thread) or by command; returns what was typed."""
    if mention:
        said = slack.add_user_message(CHANNEL, USER, f"<@{BOT_USER}> {prompt}")
        event = app_mention(said.text, user=USER, channel=CHANNEL, ts=said.ts)
        assert (await bot.sender.event(envelope(event))).status == 200
        return said
    url = slack.response_url(f"r{time.time_ns()}")
    fields = slash_command(prompt, user=USER, channel=CHANNEL, response_url=url)
    assert (await bot.sender.command(fields)).status == 200
    return Message(CHANNEL, "", USER, prompt)


def status_lines(slack: SlackStandIn) -> list[str]:
    return [m.text for m in slack.visible() if m.user == BOT_USER and not m.files]


@pytest.mark.parametrize("outage", [10, 60])
async def test_an_outage_during_upload_delivers_each_image_once_after_recovery(
    outage: int, gateway: GatewayStandIn, slack: SlackStandIn, tmp_path: Path
) -> None:
    gateway.latency = 1.0
    async with running_bot(gateway, slack, tmp_path) as bot:
        mention = await ask(bot, slack, "a cat in the rain", mention=True)
        await ask(bot, slack, "a dog in the rain", mention=False)
        await eventually(lambda: len(gateway.requests) == 2)
        slack.outage(outage)  # everything: uploads, status edits, reactions, response_url
        recovered = time.monotonic() + outage
        await eventually(lambda: journal_states(tmp_path) == ["spooled", "spooled"], limit=10)
        assert len(spooled(tmp_path)) == 2
        assert results(slack) == []
        await asyncio.sleep(outage / 2)  # still down: still kept, nothing posted, nothing lost
        assert results(slack) == []
        assert len(spooled(tmp_path)) == 2
        await eventually(lambda: len(results(slack)) == 2, limit=outage + 30)
        delivered_after = time.monotonic() - recovered
        await eventually(lambda: journal_states(tmp_path) == ["delivered", "delivered"])
        await eventually(lambda: all("✅" in line for line in status_lines(slack)))
        await eventually(
            lambda: "hourglass_flowing_sand" not in (mention_reactions(slack, mention))
        )
    print(f"delivered {delivered_after:.1f}s after Slack came back")
    assert sorted(
        sum("asked for" in m.text and p in m.text for m in results(slack))
        for p in (
            "a cat in the rain",
            "a dog in the rain",
        )
    ) == [1, 1]
    assert len(gateway.requests) == 2, "made once, never again"
    assert spooled(tmp_path) == []
    assert "white_check_mark" in mention_reactions(slack, mention)


def mention_reactions(slack: SlackStandIn, said: Message) -> list[str]:
    message = slack.find(said.channel, said.ts)
    assert message is not None
    return [name for name, users in message.reactions.items() if users]


async def test_slack_down_past_the_delivery_window_tells_the_requester_and_empties_the_spool(
    gateway: GatewayStandIn, slack: SlackStandIn, tmp_path: Path
) -> None:
    gateway.latency = 1.0  # Slack goes away while the image is being made, not after
    async with running_bot(gateway, slack, tmp_path, BANANA_DELIVERY_WITHIN="3") as bot:
        said = await ask(bot, slack, "a cat nobody sees", mention=True)
        await eventually(lambda: gateway.requests)
        slack.outage(12)
        await eventually(lambda: journal_states(tmp_path) == ["failed"], limit=15)
        assert spooled(tmp_path) == []
        assert not any("could not be reached" in line for line in status_lines(slack))
        (told,) = await eventually(
            lambda: [line for line in status_lines(slack) if "could not be reached" in line],
            limit=30,
        )
        await eventually(lambda: "x" in mention_reactions(slack, said))
    assert "a cat nobody sees" in told
    assert "⏳" not in "".join(status_lines(slack))
    assert results(slack) == []
    assert "hourglass_flowing_sand" not in mention_reactions(slack, said)


async def test_kill_9_with_spooled_images_delivers_them_after_restart_without_regenerating(
    gateway: GatewayStandIn, slack: SlackStandIn, tmp_path: Path
) -> None:
    async with running_bot(gateway, slack, tmp_path) as bot:
        slack.outage(3600, *FILE_METHODS)
        await ask(bot, slack, "a spooled cat", mention=False)
        await ask(bot, slack, "a spooled dog --n 2", mention=True)
        await eventually(lambda: journal_states(tmp_path) == ["spooled", "spooled"], limit=15)
        await eventually(lambda: len(spooled(tmp_path)) == 2)
        await bot.stop(signal.SIGKILL)
    assert results(slack) == []
    made = len(gateway.requests)
    assert made == 3
    slack.outage(3, *FILE_METHODS)  # still down a moment after the restart
    async with running_bot(gateway, slack, tmp_path) as bot:
        await eventually(lambda: len(results(slack)) == 2, limit=30)
        await eventually(lambda: journal_states(tmp_path) == ["delivered", "delivered"])
        assert "spool at data/spool: 2 job(s) waiting for Slack" in bot.logs()
        await asyncio.sleep(0.5)
    assert len(gateway.requests) == made, "delivered from the spool: the gateway saw no call"
    assert sorted(len(m.files) for m in results(slack)) == [1, 2]
    assert spooled(tmp_path) == []
    assert "⏳" not in "".join(status_lines(slack))


async def test_a_crash_at_the_share_is_reported_and_never_shared_twice(
    gateway: GatewayStandIn, slack: SlackStandIn, tmp_path: Path
) -> None:
    slack.share_delay = 30
    async with running_bot(gateway, slack, tmp_path) as bot:
        await ask(bot, slack, "a cat being shared", mention=False)
        await eventually(lambda: slack.calls_to("files.completeUploadExternal"))
        await bot.stop(signal.SIGKILL)
    assert journal_states(tmp_path) == ["uploading"]
    slack.share_delay = 0
    async with running_bot(gateway, slack, tmp_path):
        await eventually(
            lambda: [line for line in status_lines(slack) if "while uploading" in line]
        )
        await asyncio.sleep(0.5)
    assert len(slack.calls_to("files.completeUploadExternal")) == 1
    assert len(gateway.requests) == 1
    assert spooled(tmp_path) == []


async def test_when_the_channel_is_gone_too_the_requester_is_told_by_dm(
    gateway: GatewayStandIn, slack: SlackStandIn, tmp_path: Path
) -> None:
    dm = slack.add_conversation("D0ALICE", "alice", "im", user=USER)
    gateway.latency = 1.0  # Slack goes away while the image is being made, not after
    async with running_bot(gateway, slack, tmp_path, BANANA_DELIVERY_WITHIN="3") as bot:
        await ask(bot, slack, "a cat in an archived channel", mention=True)
        await eventually(lambda: gateway.requests)
        slack.outage(12)
        slack.conversations[CHANNEL].archived = True  # while Slack was away
        (told,) = await eventually(
            lambda: [m for m in slack.visible(dm.id) if "could not be reached" in m.text],
            limit=40,
        )
    assert "a cat in an archived channel" in told.text
    assert results(slack) == []
    assert spooled(tmp_path) == []
