"""Socket Mode end to end: apps.connections.open → hello → envelopes → acks."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp

from bot.standins.gateway import GatewayStandIn
from bot.standins.slack import BOT_USER, SlackStandIn
from bot.standins.slack_sender import app_mention, envelope, slash_command
from tests.harness import APP_TOKEN, eventually, running_bot

USER = "U0ALICE"
CHANNEL = "C0GENERAL"


async def health(url: str) -> int:
    async with aiohttp.ClientSession() as session, session.get(f"{url}/healthz") as response:
        return response.status


async def test_socket_mode_serves_commands_and_mentions(
    gateway: GatewayStandIn, slack: SlackStandIn, tmp_path: Path
) -> None:
    async with running_bot(
        gateway, slack, tmp_path, SLACK_APP_TOKEN=APP_TOKEN, SLACK_SIGNING_SECRET=""
    ) as bot:
        assert slack.calls_to("apps.connections.open")
        fields = slash_command(
            "a cat --ar wide", user=USER, channel=CHANNEL, response_url=slack.response_url("r1")
        )
        ack = await slack.send_envelope("slash_commands", dict(fields))
        assert "Generating" in ack["payload"]["text"]
        await eventually(lambda: [m for m in slack.visible(CHANNEL) if m.files])

        request = slack.add_user_message(CHANNEL, USER, f"<@{BOT_USER}> a dog")
        event = envelope(app_mention(request.text, user=USER, channel=CHANNEL, ts=request.ts))
        await slack.send_envelope("events_api", event)
        # Socket Mode redelivery of the same event: acked, not generated again.
        await slack.send_envelope("events_api", event, retry_attempt=1)
        await eventually(lambda: len([m for m in slack.visible(CHANNEL) if m.files]) == 2)
        await asyncio.sleep(0.3)
        assert [r.prompt for r in gateway.requests] == ["a cat", "a dog"]

        # Health follows the websocket: down while Slack refuses to reconnect.
        assert await health(bot.url) == 200
        slack.refuse_sockets = True
        await slack.drop_sockets()
        await eventually(lambda: not slack.socket_connected.is_set())
        statuses: list[int] = []

        async def poll() -> None:
            statuses.append(await health(bot.url))

        for _ in range(100):
            await poll()
            if statuses[-1] == 503:
                break
            await asyncio.sleep(0.1)
        assert statuses[-1] == 503
        slack.refuse_sockets = False
        for _ in range(300):
            if await health(bot.url) == 200:
                break
            await asyncio.sleep(0.1)
        assert await health(bot.url) == 200
