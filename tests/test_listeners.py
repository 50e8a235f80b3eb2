"""The Slack listeners in-process: called directly with a mocked ``ack``, and once
through Bolt's own signed ``async_dispatch`` (as bolt-python's scenario tests
do). The job core runs for real with a recording publisher; Slack's Web API is
the stand-in over real HTTP."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest.mock import AsyncMock
from urllib.parse import urlencode

import aiohttp
import pytest
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.web.async_client import AsyncWebClient

from bot.generation import GenerationClient
from bot.jobs import JobRunner, Journal, Limits
from bot.settings import Settings
from bot.slack.app import build_bolt_app
from bot.slack.downloads import FileFetcher
from bot.slack.languages import Languages
from bot.slack.listeners import Intake, register_listeners
from bot.slack.listeners.commands import CommandListeners
from bot.slack.listeners.interactions import InteractionListeners
from bot.slack.writer import SlackWriter
from bot.standins.slack import SlackStandIn
from bot.standins.slack_sender import block_action, sign, slash_command
from tests.fakes import RecordingPublisher
from tests.harness import BOT_TOKEN, SIGNING_SECRET, eventually

USER, CHANNEL = "U0ALICE", "C0GENERAL"


@dataclass
class Wired:
    intake: Intake
    journal: Journal
    publisher: RecordingPublisher
    client: AsyncWebClient
    runner: JobRunner
    writer: SlackWriter
    files: FileFetcher
    languages: Languages

    def another_intake(self, **settings: Any) -> Intake:
        """An intake on the same core, set up otherwise."""
        return make_intake(
            self.runner,
            self.writer,
            self.journal,
            files=self.files,
            languages=self.languages,
            **settings,
        )


def make_intake(
    runner: JobRunner, writer: SlackWriter, journal: Journal, **settings: Any
) -> Intake:
    wiring: dict[str, Any] = {
        "limits": Limits(max_queued_per_user=3, daily_quota=2),
        "max_images": 4,
        "max_prompt": 4000,
        "max_queue": 200,
        **settings,
    }
    return Intake(runner=runner, writer=writer, journal=journal, **wiring)


@pytest.fixture
async def wired(
    slack: SlackStandIn, make_client: Callable[..., GenerationClient], tmp_path: Path
) -> AsyncIterator[Wired]:
    journal = await Journal.open(tmp_path / "journal.db")
    publisher = RecordingPublisher()
    runner = JobRunner(make_client(), publisher, journal, workers=1, tick_seconds=0.05)
    runner.start()
    async with aiohttp.ClientSession() as session:
        client = AsyncWebClient(token=BOT_TOKEN, base_url=slack.api_url, session=session)
        writer = SlackWriter(client, session)
        files = FileFetcher(client, session, api_url=slack.api_url, max_bytes=1024**2)
        languages = Languages(client, journal, default="en")
        intake = make_intake(runner, writer, journal, files=files, languages=languages)
        yield Wired(intake, journal, publisher, client, runner, writer, files, languages)
        await runner.close(grace=1.0)
    await journal.close()


def command(text: str, **fields: str) -> dict[str, Any]:
    return {**slash_command(text, user=USER, channel=CHANNEL), **fields}


async def test_help_is_answered_in_the_ack(wired: Wired) -> None:
    ack = AsyncMock()
    await CommandListeners(wired.intake).on_command(ack, command("help"))
    ack.assert_awaited_once()
    assert "*Usage:* `/banana &lt;what to draw&gt;" in ack.await_args.kwargs["text"]
    assert ack.await_args.kwargs["response_type"] == "ephemeral"


async def test_a_command_is_journaled_before_its_ack_and_runs_after(wired: Wired) -> None:
    seen: list[int] = []

    async def ack(**kwargs: Any) -> None:
        usage = await wired.journal.usage(USER)
        seen.append(usage.active)
        assert "Generating _a red fox_" in kwargs["text"]

    await CommandListeners(wired.intake).on_command(ack, command("a red fox --ar 16:9"))
    assert seen == [1], "the job was in the journal when Slack got its answer"
    await eventually(lambda: wired.publisher.delivered)


async def test_over_quota_is_refused_in_the_ack_and_nothing_runs(wired: Wired) -> None:
    ack = AsyncMock()
    await CommandListeners(wired.intake).on_command(ack, command("three cats --n 3"))
    assert "daily quota of 2 images" in ack.await_args.kwargs["text"]
    assert (await wired.journal.usage(USER)).active == 0


async def test_offline_previews_name_no_price(wired: Wired) -> None:
    intake = wired.another_intake(free_previews=True)
    ack = AsyncMock()
    await CommandListeners(intake).on_command(ack, command("a red fox --n 2"))
    text = ack.await_args.kwargs["text"]
    assert "(free previews; 2 images of your 2 today, refusals and failures free)" in text
    assert "$" not in text
    await eventually(lambda: wired.publisher.delivered)
    usage = await intake.usage_report(USER)
    assert "*Cost:* nothing — these are free offline previews" in usage
    assert "$" not in usage
    assert "$0.13 today" in await wired.intake.usage_report(USER), "with a key: the price"


async def test_a_malformed_command_gets_a_word_not_a_crash(wired: Wired) -> None:
    ack = AsyncMock()
    await CommandListeners(wired.intake).on_command(ack, {"text": "a cat"})
    assert "without its user or channel" in ack.await_args.kwargs["text"]


async def test_a_button_for_a_forgotten_image_says_so_to_whoever_clicked(
    wired: Wired, slack: SlackStandIn
) -> None:
    ack = AsyncMock()
    payload = block_action(
        {"action_id": "banana_reroll", "value": "gone1"},
        user=USER,
        channel=CHANNEL,
        message_ts="1.0",
    )
    await InteractionListeners(wired.intake).on_reroll(ack, payload, payload["actions"][0])
    ack.assert_awaited_once()
    notes = await eventually(lambda: [m for m in slack.messages if m.ephemeral_to == USER])
    assert "no longer know that image" in notes[0].text


async def test_a_signed_command_through_bolts_dispatch(wired: Wired) -> None:
    settings = Settings.from_env(
        {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET}
    )
    identity = await wired.client.auth_test()
    bolt = build_bolt_app(settings, wired.client, identity)
    register_listeners(bolt, wired.intake)
    body = urlencode(command("a lighthouse at dusk")).encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded", **sign(SIGNING_SECRET, body)}
    response = await bolt.async_dispatch(AsyncBoltRequest(body=body.decode(), headers=headers))
    assert response.status == 200
    assert "Generating _a lighthouse at dusk_" in json.loads(response.body)["text"]
    await eventually(lambda: wired.publisher.delivered)

    forged = {**headers, "X-Slack-Signature": "v0=" + "0" * 64}
    refused = await bolt.async_dispatch(AsyncBoltRequest(body=body.decode(), headers=forged))
    assert refused.status == 401
