"""Several real ``banana-bot serve`` processes on one PostgreSQL: leases, takeover,
one pacer, restarts. Every test here runs real processes against the stand-ins."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

from bot.standins.gateway import GatewayStandIn
from bot.standins.slack import SlackStandIn
from bot.standins.slack_sender import slash_command
from tests.harness import RunningBot, eventually, running_bot

CHANNEL = "C0GENERAL"
LEASE = 3.0


def uploads(slack: SlackStandIn) -> int:
    return len(slack.calls_to("files.completeUploadExternal"))


@asynccontextmanager
async def replicas(
    count: int,
    gateway: GatewayStandIn,
    slack: SlackStandIn,
    tmp_path: Path,
    postgres_url: str,
    **extra: str,
) -> AsyncIterator[list[RunningBot]]:
    """``count`` bot processes on one database (HTTP mode), started together."""
    settings = {
        "BANANA_DB": postgres_url,
        "BANANA_LEASE_SECONDS": str(LEASE),
        "BANANA_MAX_QUEUED_PER_USER": "20",
        "BANANA_DAILY_QUOTA": "500",
        **extra,
    }
    async with AsyncExitStack() as stack:
        yield list(
            await asyncio.gather(
                *(
                    stack.enter_async_context(running_bot(gateway, slack, tmp_path, **settings))
                    for _ in range(count)
                )
            )
        )


async def ask(bot: RunningBot, slack: SlackStandIn, text: str, user: str) -> None:
    fields = slash_command(
        text, user=user, channel=CHANNEL, response_url=slack.response_url(f"r{time.time_ns()}")
    )
    answer = await bot.sender.command(fields)
    assert answer.status == 200, text


async def test_a_dead_replicas_job_finishes_on_another_after_its_lease(
    gateway: GatewayStandIn, slack: SlackStandIn, tmp_path: Path, postgres_url: str
) -> None:
    gateway.latency = 2.0
    async with replicas(2, gateway, slack, tmp_path, postgres_url) as (doomed, survivor):
        await ask(doomed, slack, "a cat that outlives its bot", "U0ALICE")
        await eventually(lambda: gateway.requests)
        doomed.process.kill()  # kill -9, mid-call
        killed = time.monotonic()
        await eventually(lambda: uploads(slack) == 1, limit=LEASE * 3 + 10)
        taken_over_after = time.monotonic() - killed
        await asyncio.sleep(LEASE)
        assert uploads(slack) == 1
        assert len(gateway.requests) == 2  # once on each: it was in flight at the kill
        assert "took over 1 job(s)" in survivor.logs()
        # A lease, then at most a third of one until the survivor looks, then the call.
        assert taken_over_after < LEASE + LEASE / 3 + gateway.latency + 2, taken_over_after
        await survivor.stop(signal.SIGTERM)
