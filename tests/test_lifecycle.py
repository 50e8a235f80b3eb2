"""Start-up, health, progress and shutdown of the real process."""

from __future__ import annotations

import asyncio
import itertools
import signal
from pathlib import Path

from bot.standins.gateway import GatewayStandIn
from bot.standins.slack import SlackStandIn
from bot.standins.slack_sender import slash_command
from tests.conftest import clean_env, run_cli
from tests.harness import bot_env, eventually, free_port, running_bot

USER = "U0ALICE"
CHANNEL = "C0GENERAL"


async def test_serve_without_tokens_names_what_to_set(tmp_path: Path) -> None:
    done = await run_cli("serve", env=clean_env(BANANA_API_KEY="k"), cwd=tmp_path)
    assert done.code == 1
    assert "set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET (HTTP mode) or SLACK_APP_TOKEN" in (
        done.stderr
    )


async def test_serve_without_gateway_key_names_it(tmp_path: Path) -> None:
    env = clean_env(SLACK_BOT_TOKEN="xoxb-1", SLACK_SIGNING_SECRET="s")
    done = await run_cli("serve", env=env, cwd=tmp_path)
    assert done.code == 1
    assert "set BANANA_API_KEY" in done.stderr


async def test_rejected_slack_token_stops_start_up(
    gateway: GatewayStandIn, slack: SlackStandIn, tmp_path: Path
) -> None:
    env = bot_env(gateway, slack, free_port(), SLACK_BOT_TOKEN="xoxb-wrong")
    done = await run_cli("serve", env=env, cwd=tmp_path)
    assert done.code == 1
    assert "Slack rejected SLACK_BOT_TOKEN" in done.stderr
    assert "xoxb-wrong" not in done.stderr


async def test_no_subcommand_serves_when_tokens_are_set(
    gateway: GatewayStandIn, slack: SlackStandIn, tmp_path: Path
) -> None:
    async with running_bot(gateway, slack, tmp_path, command=()) as bot:
        await eventually(lambda: "serving as banana" in bot.logs())


async def test_status_line_moves_from_queued_to_generating(
    gateway: GatewayStandIn, slack: SlackStandIn, tmp_path: Path
) -> None:
    gateway.latency = 7
    async with running_bot(gateway, slack, tmp_path) as bot:
        fields = slash_command(
            "a slow cat", user=USER, channel=CHANNEL, response_url=slack.response_url("r")
        )
        await bot.sender.command(fields)
        await eventually(lambda: [m for m in slack.visible(CHANNEL) if m.files], 20)
    (posted,) = slack.calls_to("chat.postMessage")
    assert posted.args["text"].startswith("⏳ Queued")
    updates = slack.calls_to("chat.update")
    assert updates
    assert updates[0].args["text"].startswith("🎨 Generating")
    assert updates[0].at - posted.at < 2.9, "a new state shows at once"
    ticks = [u.at for u in updates if u.args["text"].startswith("🎨 Generating")]
    assert len(ticks) >= 2, "the seconds tick on"
    assert all(b - a >= 2.9 for a, b in itertools.pairwise(ticks)), "at most one tick per 3 s"


async def test_sigterm_finishes_running_jobs_then_exits_0(
    gateway: GatewayStandIn, slack: SlackStandIn, tmp_path: Path
) -> None:
    gateway.latency = 2
    async with running_bot(gateway, slack, tmp_path) as bot:
        fields = slash_command(
            "a cat", user=USER, channel=CHANNEL, response_url=slack.response_url("r")
        )
        await bot.sender.command(fields)
        await eventually(lambda: gateway.in_flight)
        assert await bot.stop(signal.SIGTERM) == 0
    assert [m for m in slack.visible(CHANNEL) if m.files]
    assert "shutting down: finishing 1 running job(s)" in bot.logs()


async def test_shutdown_grace_bounds_the_wait_and_pauses_the_job(
    gateway: GatewayStandIn, slack: SlackStandIn, tmp_path: Path
) -> None:
    gateway.latency = 30
    async with running_bot(gateway, slack, tmp_path, BANANA_SHUTDOWN_GRACE="1") as bot:
        fields = slash_command(
            "a cat", user=USER, channel=CHANNEL, response_url=slack.response_url("r")
        )
        await bot.sender.command(fields)
        await eventually(lambda: gateway.in_flight)
        await asyncio.sleep(0.2)
        assert await bot.stop(signal.SIGTERM, limit=15) == 0
    (status,) = slack.visible(CHANNEL)
    assert status.text.startswith("⏸ Paused")
    assert "continue when it is back" in status.text
