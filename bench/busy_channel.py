"""A busy channel: the burst of ``bench/run.py`` with Slack's posting limit enforced.

24 people type ``/banana`` in one channel at once; Slack takes about one
``chat.postMessage`` a second there (bursts of 3, 429 with Retry-After
beyond); the gateway answers in 5 s with 8 calls in flight. The ideal is
three waves of 5 s. Measured: the makespan against that ideal, and how late
each request's first gateway call starts behind its ideal wave.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from pathlib import Path

import aiohttp

from bench.run import BURST, CONCURRENCY, SECRET, cell, ok, percentile, start_bot, wait_for
from bot.standins.gateway import GatewayStandIn
from bot.standins.slack import SlackStandIn
from bot.standins.slack_sender import SlackSender, slash_command

LATENCY = 5.0
POST_LIMIT = (3, 1.0)  # Slack: a burst of 3, then about one post a second per channel
CHANNEL = "C0BUSY"


async def run_busy_channel(gateway: GatewayStandIn, slack: SlackStandIn, folder: Path) -> dict:
    slack.add_conversation(CHANNEL, "busy")
    slack.post_limit = POST_LIMIT
    gateway.latency, gateway.default_mode = LATENCY, "ok"
    first_request = len(gateway.requests)
    first_post = len(slack.calls_to("chat.postMessage"))
    before = len([m for m in slack.visible(CHANNEL) if m.files])  # earlier rounds' images
    child, port = await start_bot(gateway, slack, folder)
    try:
        async with aiohttp.ClientSession() as session:
            sender = SlackSender(session, f"http://127.0.0.1:{port}/slack/events", SECRET)
            started = time.monotonic()
            acks = await asyncio.gather(
                *(
                    sender.command(
                        slash_command(
                            f"busy channel image {i}",
                            user=f"UBUSY{i:03d}",
                            channel=CHANNEL,
                            response_url=slack.response_url(f"busy{i}"),
                        )
                    )
                    for i in range(BURST)
                )
            )
            assert all(a.status == 200 for a in acks), [a.body for a in acks]
            await wait_for(
                lambda: len([m for m in slack.visible(CHANNEL) if m.files]) - before >= BURST, 300
            )
            makespan = time.monotonic() - started
    finally:
        slack.post_limit = None
        child.terminate()
        await child.wait()
    # A request's ideal first call: its wave (8 at a time, 5 s each) after the burst.
    starts = sorted(r.at - started for r in gateway.requests[first_request:])[:BURST]
    lags = [start - (n // CONCURRENCY) * LATENCY for n, start in enumerate(starts)]
    posts = slack.calls_to("chat.postMessage")[first_post:]
    return {
        "makespan_s": makespan,
        "ideal_s": LATENCY * -(-BURST // CONCURRENCY),
        "lag_p50_s": statistics.median(lags),
        "lag_p95_s": percentile(lags, 0.95),
        "posts": float(len(posts)),
        "status_lines": float(BURST),
    }


def busy_table(runs: list[dict]) -> str:
    ideal = runs[0]["ideal_s"]
    ratio = statistics.median(run["makespan_s"] / run["ideal_s"] for run in runs)
    lag95 = statistics.median(run["lag_p95_s"] for run in runs)
    rows = [
        (
            f"makespan (ideal {ideal:.0f} s)",
            cell(runs, "makespan_s", ".2f", " s"),
            f"≤ 1.25× ideal ({ratio:.2f}×)",
            ok(ratio <= 1.25),
        ),
        ("first call's lag behind its wave, p50", cell(runs, "lag_p50_s", ".2f", " s"), "", ""),
        (
            "first call's lag behind its wave, p95",
            cell(runs, "lag_p95_s", ".2f", " s"),
            "≤ 2 s",
            ok(lag95 <= 2),
        ),
        ("chat.postMessage calls for 24 status lines", cell(runs, "posts", ".0f", ""), "", ""),
    ]
    return "\n".join(
        [
            "| measure | bot | goal | met |",
            "| --- | --- | --- | --- |",
            *("| " + " | ".join(row) + " |" for row in rows),
        ]
    )
