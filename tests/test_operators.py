"""For the people who run the bot, in-process: ``/banana stats`` (admins only, in the
Home tab too), ``/banana forget`` behind its confirm button, and the pruning task.
The job core runs for real with a recording publisher (see test_listeners.py)."""

from __future__ import annotations

import asyncio
import time
from typing import Any
from unittest.mock import AsyncMock

from bot.jobs import Limits
from bot.jobs.chores import Periodic
from bot.jobs.limits import day_start
from bot.slack import ids, views
from bot.slack.listeners import Intake
from bot.slack.listeners.commands import CommandListeners
from bot.slack.listeners.interactions import InteractionListeners
from bot.standins.slack import SlackStandIn
from bot.standins.slack_sender import block_action
from tests.harness import eventually
from tests.test_listeners import CHANNEL, USER, Wired, command, wired
from tests.test_mrkdwn_rules import mrkdwn_problems

__all__ = ["wired"]  # the fixture, shared with test_listeners.py

ADMIN = "U0ADMIN"


def admins_intake(wired: Wired) -> Intake:
    return wired.another_intake(limits=Limits(daily_quota=50, admins=frozenset({ADMIN})))


async def ask(intake: Intake, text: str, user: str = USER) -> dict[str, Any]:
    ack = AsyncMock()
    await CommandListeners(intake).on_command(ack, command(text, user_id=user))
    ack.assert_awaited_once()
    return dict(ack.await_args.kwargs)


async def three_images_and_a_refusal(wired: Wired, intake: Intake) -> None:
    for text in ("a red fox --n 2", "a cat", "a thing it will not draw [standin:safety]"):
        await ask(intake, text)
    await eventually(lambda: len(wired.publisher.outcomes) == 3)


async def test_stats_are_for_admins_and_agree_with_the_journal(wired: Wired) -> None:
    intake = admins_intake(wired)
    await three_images_and_a_refusal(wired, intake)

    denied = await ask(intake, "stats")
    assert denied["text"] == "Sorry, only the bot's admins can see its stats."
    assert "3 images" not in str(denied)

    answer = await ask(intake, "stats", user=ADMIN)
    assert answer["response_type"] == "ephemeral"
    blocks = answer["blocks"]
    assert blocks[0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "📊 banana stats"},
    }
    text = views.card_text(blocks)
    stats = await wired.journal.stats(day_start(time.time()))
    assert (stats.images, stats.requests, stats.declined) == (3, 3, 1)
    for window in ("*Today* · 3 images · ≈ $0.20", "*Last 7 days*", "*Last 30 days*"):
        assert window in text
    assert text.count("Declined by the model: 33.3% (1) · failed: 0.0% (0) of 3 requests") == 3
    assert f"{stats.p50:.0f}s" in text
    assert f"1. <@{USER}> — 3 images · $0.20" in text
    assert f"1. <#{CHANNEL}> — 3 images · $0.20" in text
    assert len(blocks) <= 50
    assert mrkdwn_problems(text) == []


async def test_the_home_tab_shows_admins_the_stats(wired: Wired, slack: SlackStandIn) -> None:
    intake = admins_intake(wired)
    await three_images_and_a_refusal(wired, intake)
    await intake.show_home(ADMIN)
    await intake.show_home(USER)
    admin_home = await eventually(lambda: slack.home_views.get(ADMIN))
    user_home = await eventually(lambda: slack.home_views.get(USER))
    assert "📊 banana stats" in str(admin_home["blocks"])
    assert f"<@{USER}> — 3 images" in str(admin_home["blocks"])
    assert "banana stats" not in str(user_home["blocks"])


async def test_forget_asks_first_then_erases_history_but_keeps_the_count(
    wired: Wired, slack: SlackStandIn
) -> None:
    intake = admins_intake(wired)
    await three_images_and_a_refusal(wired, intake)
    assert len(await wired.journal.history(USER)) == 2

    prompt = await ask(intake, "forget")
    assert "Images already posted in Slack stay" in prompt["text"]
    button = prompt["blocks"][-1]["elements"][0]
    assert button["action_id"] == ids.ACTION_FORGET
    assert button["confirm"]["confirm"]["text"] == "Erase"
    assert len(await wired.journal.history(USER)) == 2, "nothing erased before the click"

    click = block_action(button, user=USER, channel=CHANNEL, message_ts="1.0")
    ack = AsyncMock()
    await InteractionListeners(intake).on_forget(ack, click)
    ack.assert_awaited_once()
    note = await eventually(lambda: [m for m in slack.messages if m.ephemeral_to == USER])
    assert "Erased 3 requests" in note[0].text
    assert "Images already posted in Slack stay" in note[0].text
    assert await wired.journal.history(USER) == []
    assert "You have no images yet" in (await ask(intake, "history"))["text"]
    assert "*Today:* 3 images" in await intake.usage_report(USER), "the quota still counts"


async def test_forget_in_a_dm_points_to_the_command(wired: Wired) -> None:
    answer = await wired.intake.words(USER, "forget", "@banana")
    assert answer == "To erase your prompts and history, type `/banana forget`."


async def test_a_periodic_chore_runs_at_once_survives_a_failure_and_stops() -> None:
    rounds: list[float] = []

    async def chore() -> None:
        rounds.append(time.monotonic())
        if len(rounds) == 1:
            raise RuntimeError("the database blinked")

    periodic = Periodic("test chore", chore, 0.05)
    periodic.start()
    await eventually(lambda: len(rounds) >= 3)
    await periodic.close()
    stopped = len(rounds)
    await asyncio.sleep(0.15)
    assert len(rounds) == stopped
