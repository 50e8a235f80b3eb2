"""The organisation's monthly budget, end to end with the real process: list prices
and a tiny budget cross 80 % and then 100 %; each notice is posted exactly once
(across a restart too), then non-admins are turned away with the reset date while
admins still pass. Refusals and failures cost nothing."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

from bot.generation.model import PRICE_PER_IMAGE
from bot.jobs.budget import next_month
from bot.standins.gateway import GatewayStandIn
from bot.standins.slack import SlackStandIn
from bot.standins.slack_sender import slash_command
from tests.harness import RunningBot, eventually, running_bot
from tests.test_metrics import scrape, value

ALICE, BOB, ADMIN = "U0ALICE", "U0BOB", "U0ADMIN"
CHANNEL, OPS = "C0GENERAL", "C0OPS"
BUDGET = 0.30  # 1K list price 0.067: 4 images pass 80 % (0.268), 5 pass 100 % (0.335)


async def ask(bot: RunningBot, slack: SlackStandIn, text: str, user: str = ALICE) -> str:
    url = slack.response_url(f"r-{time.time_ns()}")
    answer = await bot.sender.command(
        slash_command(text, user=user, channel=CHANNEL, response_url=url)
    )
    return str(answer.json().get("text", ""))


async def delivered(bot: RunningBot, jobs: int) -> None:
    await eventually(lambda: bot.logs().count("state=delivered") == jobs)


def notices(slack: SlackStandIn) -> list[str]:
    return [m.text for m in slack.visible(OPS)]


async def test_crossing_80_and_100_percent_notices_once_then_refuses(
    gateway: GatewayStandIn, slack: SlackStandIn, tmp_path: Path
) -> None:
    slack.add_conversation(OPS, "banana-ops")
    settings = {
        "BANANA_MONTHLY_BUDGET": str(BUDGET),
        "BANANA_ADMIN_CHANNEL": OPS,
        "BANANA_ADMINS": ADMIN,
        "BANANA_DB": str(tmp_path / "journal.db"),
    }
    assert PRICE_PER_IMAGE["1K"] == 0.067
    resets = dt.datetime.fromtimestamp(next_month(time.time()), dt.UTC)
    reset_words = f"until {resets:%Y-%m-%d} 00:00 UTC"

    async with running_bot(gateway, slack, tmp_path, **settings) as bot:
        assert "Generating" in await ask(bot, slack, "three cats --n 3")  # $0.201
        await delivered(bot, 1)
        await ask(bot, slack, "a thing it will not draw [standin:safety]")  # free
        await eventually(lambda: "state=failed" in bot.logs())
        assert "Generating" in await ask(bot, slack, "a dog")  # $0.268: past 80 %
        await delivered(bot, 2)
        assert notices(slack) == [], "noticed when next looked at, not before"

        assert "Generating" in await ask(bot, slack, "a bird")  # under 100 % when asked
        await eventually(lambda: len(notices(slack)) == 1)
        assert "used 80% of this month's image budget: $0.27 of $0.30" in notices(slack)[0]
        await delivered(bot, 3)  # $0.335: past 100 %; in flight, so never cut

        refused = await ask(bot, slack, "a fish")
        assert "This month's image budget is used up" in refused
        assert reset_words in refused
        assert reset_words in await ask(bot, slack, "a fish", user=BOB)
        assert "Generating" in await ask(bot, slack, "an admin's fish", user=ADMIN)
        await eventually(lambda: len(notices(slack)) == 2)
        assert "used this month's image budget: $0.34 of $0.30" in notices(slack)[1]
        assert reset_words in notices(slack)[1]
        await delivered(bot, 4)
        samples = await scrape(bot)
        refusals = value(
            samples, "banana_requests_total", surface="command", outcome="refused_budget"
        )
        assert refusals == 2
        assert await bot.stop() == 0

    async with running_bot(gateway, slack, tmp_path, **settings) as again:
        assert reset_words in await ask(again, slack, "a fish after a restart", user=BOB)
        stats = await ask(again, slack, "stats", user=ADMIN)
        assert "*Budget:* $0.40 of $0.30 this month (134%)" in stats
        assert await again.stop() == 0
    assert len(notices(slack)) == 2, "each notice once a month, whatever the restarts"
