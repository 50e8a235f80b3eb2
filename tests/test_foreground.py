"""Slack's requests first: a job admitted while other requests are still being
answered starts once they are, in the order the jobs were admitted (the real
process against the stand-ins)."""

from __future__ import annotations

import asyncio
import functools
from pathlib import Path

from bot.slack.foreground import Foreground
from bot.standins.gateway import GatewayStandIn
from bot.standins.slack import SlackStandIn
from tests.harness import eventually, running_bot

ALICE, NEWCOMER = "U0ALICE", "U0NEWCOMER"
CHANNEL = "C0GENERAL"


async def test_a_job_starts_once_the_requests_around_it_are_answered(
    gateway: GatewayStandIn, slack: SlackStandIn, tmp_path: Path
) -> None:
    async with running_bot(gateway, slack, tmp_path) as bot:
        await bot.command(slack, ALICE, "help")  # Alice's language is known from now on
        slack.delays["users.info"] = 1.0  # a newcomer's takes a second to learn
        newcomer = asyncio.create_task(bot.command(slack, NEWCOMER, "a fox"))
        await eventually(lambda: slack.calls_to("users.info")[1:])
        ack = await bot.command(slack, ALICE, "a cat")
        assert "a cat" in ack.json()["text"]
        await asyncio.sleep(0.3)  # time enough for a job started at once to show itself
        assert not newcomer.done()
        assert slack.calls_to("chat.postMessage") == []  # Alice's job waits for the newcomer's ack
        assert gateway.requests == []
        assert "a fox" in (await newcomer).json()["text"]
        await eventually(lambda: len([m for m in slack.visible(CHANNEL) if m.files]) == 2)
        assert [r.prompt for r in gateway.requests] == ["a cat", "a fox"]  # admitted first, first


async def test_a_request_that_arrives_while_held_jobs_start_is_answered_first() -> None:
    foreground = Foreground(hold_at_most=60)
    started: list[int] = []
    request = foreground.answering()
    first_started, all_started = asyncio.Event(), asyncio.Event()

    def start(number: int) -> None:
        started.append(number)
        if number == 0:
            request.__enter__()  # a request arrives as the first job starts
            first_started.set()
        if number == 2:
            all_started.set()

    with foreground.answering():
        for number in range(3):
            foreground.after(functools.partial(start, number))
        assert started == []  # held while a request is being answered
    await asyncio.wait_for(first_started.wait(), 5)
    for _ in range(5):
        await asyncio.sleep(0)
    assert started == [0]  # the rest wait for the new request's answer
    request.__exit__(None, None, None)
    await asyncio.wait_for(all_started.wait(), 5)
    assert started == [0, 1, 2]
    foreground.after(functools.partial(started.append, 3))  # nothing being answered: now
    assert started == [0, 1, 2, 3]
