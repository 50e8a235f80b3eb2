"""Nothing lost, nothing doubled: restarts, crashes, limits and bad input, end to end.

Each scenario runs the real process against the stand-ins and asserts what
reached Slack and the gateway.
"""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import time
from pathlib import Path

from bot.standins.gateway import GatewayStandIn
from bot.standins.slack import BOT_USER, Message, SlackStandIn
from bot.standins.slack_sender import app_mention, envelope, slash_command
from tests.harness import RunningBot, eventually, running_bot

USER = "U0ALICE"
CHANNEL = "C0GENERAL"


def command(slack: SlackStandIn, text: str, user: str = USER, channel: str = CHANNEL):
    return slash_command(
        text, user=user, channel=channel, response_url=slack.response_url(f"r{time.time_ns()}")
    )


def results(slack: SlackStandIn) -> list[Message]:
    return [m for m in slack.visible() if m.files]


def journal_states(tmp_path: Path) -> list[str]:
    with sqlite3.connect(tmp_path / "data" / "banana.db") as db:
        return [row[0] for row in db.execute("SELECT state FROM jobs ORDER BY created_at")]


async def test_kill_9_mid_generation_then_restart_delivers_once(
    gateway: GatewayStandIn, slack: SlackStandIn, tmp_path: Path
) -> None:
    gateway.latency = 5
    async with running_bot(gateway, slack, tmp_path) as bot:
        await bot.sender.command(command(slack, "a cat that survives crashes"))
        await eventually(lambda: gateway.in_flight)
        # Its status line is up (under load the image may start first, by design).
        await eventually(lambda: slack.visible(CHANNEL))
        await asyncio.sleep(0.3)  # and journaled
        await bot.stop(signal.SIGKILL)
    assert results(slack) == []
    assert journal_states(tmp_path) == ["running"]
    gateway.latency = 0
    async with running_bot(gateway, slack, tmp_path) as bot:
        await eventually(lambda: results(slack))
        await eventually(lambda: "state=delivered" in bot.logs())
        await asyncio.sleep(0.5)
    (result,) = results(slack)
    assert "a cat that survives crashes" in result.text
    assert len(gateway.requests) == 2  # generation is at-least-once
    assert len(slack.calls_to("chat.postMessage")) == 1, "the status line was reused, not reposted"
    assert journal_states(tmp_path) == ["delivered"]


async def test_sigterm_with_short_grace_pauses_then_resumes(
    gateway: GatewayStandIn, slack: SlackStandIn, tmp_path: Path
) -> None:
    gateway.latency = 30
    async with running_bot(gateway, slack, tmp_path, BANANA_SHUTDOWN_GRACE="0.5") as bot:
        await bot.sender.command(command(slack, "a patient cat"))
        await eventually(lambda: gateway.in_flight)
        assert await bot.stop(signal.SIGTERM) == 0
    assert journal_states(tmp_path) == ["queued"]
    gateway.latency = 0
    async with running_bot(gateway, slack, tmp_path):
        (result,) = await eventually(lambda: results(slack))
        # Shown first, journaled right after: the bot is killed on leaving this block.
        await eventually(lambda: journal_states(tmp_path) == ["delivered"])
    assert "a patient cat" in result.text


async def test_an_old_unfinished_job_is_reported_with_a_retry_line(
    gateway: GatewayStandIn, slack: SlackStandIn, tmp_path: Path
) -> None:
    gateway.latency = 30
    async with running_bot(gateway, slack, tmp_path) as bot:
        await bot.sender.command(command(slack, "an old cat --ar 2:3"))
        await eventually(lambda: gateway.in_flight)
        await bot.stop(signal.SIGKILL)
    await asyncio.sleep(1.2)
    async with running_bot(gateway, slack, tmp_path, BANANA_RESUME_WITHIN="1"):
        (status,) = await eventually(
            lambda: [m for m in slack.visible(CHANNEL) if "interrupted" in m.text]
        )
    assert "`/banana an old cat --ar 2:3 --size 1K`" in status.text
    assert len(gateway.requests) == 1
    assert journal_states(tmp_path) == ["interrupted"]


async def test_a_crash_while_sending_the_bytes_uploads_again_from_the_spool(
    gateway: GatewayStandIn, slack: SlackStandIn, tmp_path: Path
) -> None:
    # Bytes sent to Slack show nothing until shared: sending them again is harmless.
    # (A crash at the share itself is reported, never shared twice: test_durable_delivery.)
    slack.upload_delay = 30
    async with running_bot(gateway, slack, tmp_path) as bot:
        await bot.sender.command(command(slack, "an uploading cat"))
        await eventually(lambda: slack.calls_to("upload"))
        await bot.stop(signal.SIGKILL)
    assert journal_states(tmp_path) == ["spooled"]
    slack.upload_delay = 0
    async with running_bot(gateway, slack, tmp_path):
        (result,) = await eventually(lambda: results(slack))
        await eventually(lambda: journal_states(tmp_path) == ["delivered"])
    assert "an uploading cat" in result.text
    assert len(slack.calls_to("upload")) == 2
    assert len(gateway.requests) == 1


async def test_the_same_event_before_and_after_a_restart_is_one_generation(
    gateway: GatewayStandIn, slack: SlackStandIn, tmp_path: Path
) -> None:
    request = slack.add_user_message(CHANNEL, USER, f"<@{BOT_USER}> a dog")
    event = envelope(app_mention(request.text, user=USER, channel=CHANNEL, ts=request.ts))
    async with running_bot(gateway, slack, tmp_path) as bot:
        await bot.sender.event(event)
        await eventually(lambda: results(slack))
    async with running_bot(gateway, slack, tmp_path) as bot:
        assert (await bot.sender.event(event, retry_num=3)).status == 200
        await asyncio.sleep(0.5)
    assert len(gateway.requests) == 1
    assert len(results(slack)) == 1


async def test_burst_of_50_from_5_users_is_fair_and_limited(
    gateway: GatewayStandIn, slack: SlackStandIn, tmp_path: Path
) -> None:
    # A's first jobs stay in flight until everyone has asked, however slow
    # the machine is; then the queue drains quickly and its order shows.
    gateway.latency = 4
    users = ["UAAAA", "UBBBB", "UCCCC", "UDDDD", "UEEEE"]
    async with running_bot(
        gateway, slack, tmp_path, BANANA_MAX_QUEUED_PER_USER="10", BANANA_DAILY_QUOTA="8"
    ) as bot:
        first = [await bot.sender.command(command(slack, f"A{i}", users[0])) for i in range(10)]
        rest = await asyncio.gather(
            *(
                bot.sender.command(command(slack, f"{u[1]}{i}", u))
                for u in users[1:]
                for i in range(10)
            )
        )
        replies = [d.json()["text"] for d in first + list(rest)]
        assert all(d.status == 200 for d in first + list(rest))
        assert sum("Generating" in r for r in replies) == 40
        assert sum("daily quota of 8" in r for r in replies) == 10
        gateway.latency = 0.1
        await eventually(lambda: len(results(slack)) == 40, 90)
    assert len(gateway.requests) == 40
    order = [r.prompt[0] for r in gateway.requests]
    # User A asked first, ten times; round-robin still serves every other user early.
    for letter in "BCDE":
        assert order.index(letter) < 10, order
    assert gateway.max_in_flight <= 4


async def test_too_many_cooking_and_cancel_and_usage(
    gateway: GatewayStandIn, slack: SlackStandIn, tmp_path: Path
) -> None:
    gateway.latency = 7  # longer than one status refresh (5 s)
    async with running_bot(gateway, slack, tmp_path, BANANA_CONCURRENCY="1") as bot:
        replies = [
            (await bot.sender.command(command(slack, f"cat {i}"))).json()["text"] for i in range(4)
        ]
        assert sum("Generating" in r for r in replies) == 3
        assert "You already have 3 requests cooking" in replies[3]
        await eventually(lambda: gateway.in_flight)
        # A waiting request shows how many images are ahead of it.
        await eventually(
            lambda: [m for m in slack.visible() if "2 images ahead of yours" in m.text], 20
        )
        assert [m for m in slack.visible() if "1 image ahead of yours" in m.text]
        cancel = (await bot.sender.command(command(slack, "cancel"))).json()["text"]
        assert "Cancelled 2 queued requests" in cancel
        await eventually(lambda: len(results(slack)) == 1)
        await eventually(lambda: len([m for m in slack.visible() if "🚫" in m.text]) == 2)
        await eventually(lambda: "state=delivered" in bot.logs())
        usage = (await bot.sender.command(command(slack, "usage"))).json()["text"]
    assert len(gateway.requests) == 1
    assert "*Today:* 1 image (49 of 50 left; resets 00:00 UTC)" in usage
    assert "$0.07 today" in usage
    assert journal_states(tmp_path).count("cancelled") == 2


async def test_admins_are_exempt_and_channels_can_be_limited(
    gateway: GatewayStandIn, slack: SlackStandIn, tmp_path: Path
) -> None:
    slack.add_conversation("C0OTHER", "other")
    async with running_bot(
        gateway,
        slack,
        tmp_path,
        BANANA_ADMINS=USER,
        BANANA_DAILY_QUOTA="1",
        BANANA_ALLOWED_CHANNELS=CHANNEL,
    ) as bot:
        reply = (await bot.sender.command(command(slack, "a cat", channel="C0OTHER"))).json()
        assert "not set up to make images in this channel" in reply["text"]
        reply = (await bot.sender.command(command(slack, "a cat --n 3"))).json()
        assert "Generating" in reply["text"]
        assert "(≈ $0.20)" in reply["text"]  # an admin: no quota to speak of
        reply = (await bot.sender.command(command(slack, "a dog --n 2", user="U0BOB"))).json()
        assert "daily quota of 1 image:" in reply["text"]
        await eventually(lambda: "state=delivered" in bot.logs())
        usage = (await bot.sender.command(command(slack, "usage"))).json()["text"]
        assert "*Today:* 3 images (admins have no quota)" in usage
    assert len(gateway.requests) == 3


async def test_bad_input_never_hurts(
    bot: RunningBot, gateway: GatewayStandIn, slack: SlackStandIn
) -> None:
    long_prompt = "a cat " * 800
    reply = (await bot.sender.command(command(slack, long_prompt))).json()
    assert "the limit is 4,000" in reply["text"]
    fields = command(slack, "a cat")
    del fields["user_id"]
    delivered = await bot.sender.command(fields)
    assert delivered.status == 200
    assert "without its user or channel" in delivered.json()["text"]
    for event in ({"type": "app_mention", "text": "no channel"}, {"type": "message"}):
        assert (await bot.sender.event(envelope(event))).status == 200
    assert (await bot.sender.event(envelope({}))).status == 404  # no type: not an event at all
    for body, kind in (
        (b"\x00\xff junk", "application/x-www-form-urlencoded"),
        (b"[1, 2]", "application/json"),
        (b"{", "application/json"),
    ):
        delivered = await bot.sender.post(body, kind)
        assert delivered.status < 500
    assert bot.process.returncode is None
    await bot.sender.command(command(slack, "still working"))
    await eventually(lambda: results(slack))
    assert [r.prompt for r in gateway.requests] == ["still working"]


async def test_slack_invalid_auth_midway_fails_the_job_not_the_bot(
    bot: RunningBot, gateway: GatewayStandIn, slack: SlackStandIn, tmp_path: Path
) -> None:
    slack.fail("chat.postMessage", "invalid_auth")
    await bot.sender.command(command(slack, "a cat"))
    await eventually(lambda: "could not post its status" in bot.logs())
    assert gateway.requests == []
    await bot.sender.command(command(slack, "a second cat"))
    await eventually(lambda: results(slack))
    assert "invalid_auth" in bot.logs()


async def test_gateway_garbage_is_reported_and_logged_once_per_event(
    bot: RunningBot, gateway: GatewayStandIn, slack: SlackStandIn
) -> None:
    gateway.default_mode = "not_json"
    await bot.sender.command(command(slack, "a cat"))
    (status,) = await eventually(lambda: [m for m in slack.visible() if "❌" in m.text])
    assert "broken answer" in status.text
    failed = [line for line in bot.logs().splitlines() if "state=failed" in line]
    assert len(failed) == 1
    assert "job=" in failed[0]
    assert "logid=nanobanana_" in failed[0]
    assert "a cat" not in failed[0], "prompts are logged only at DEBUG"
