"""Scale: a 200-person burst (1,000 images) against one bot process.

200 people each ask for ``--n 5`` 1K images at once; the gateway answers in
0.5 s with 8 calls in flight, so the ideal is 125 waves of 0.5 s. Measured:
ack p99, what the 200 waiting requests cost in memory (RSS right after the
burst is acknowledged, less idle, per request), and the time to the last image
against the ideal.
"""

from __future__ import annotations

import asyncio
import math
import os
import statistics
import time
from pathlib import Path

import aiohttp
import psutil

from bench.run import MB, SECRET, cell, ok, percentile, start_bot, wait_for
from bot.standins.gateway import GatewayStandIn
from bot.standins.slack import SlackStandIn
from bot.standins.slack_sender import SlackSender, slash_command

PEOPLE = int(os.environ.get("BENCH_SCALE_PEOPLE", "200"))
EACH = 5
CONCURRENCY = 8
LATENCY = 0.5
CHANNELS = 20  # a whole organisation: the burst is spread over channels


async def run_scale(gateway: GatewayStandIn, slack: SlackStandIn, folder: Path) -> dict:
    gateway.latency, gateway.default_mode = LATENCY, "noise"
    for n in range(CHANNELS):
        slack.add_conversation(f"C0SCALE{n:02d}", f"scale-{n}")
    for i in range(PEOPLE):  # the workspace's people, as users.list lists them
        slack.locales[person(i)] = "en-US"
    await gateway._reply("noise", "warm-up", "1:1", "1K")  # the answer, built once
    child, port = await start_bot(
        gateway,
        slack,
        folder,
        BANANA_MAX_QUEUE=str(PEOPLE * 2),
        BANANA_DAILY_QUOTA=str(EACH * 2),
        BANANA_MAX_IMAGES=str(EACH),
        LOG_LEVEL=os.environ.get("BENCH_LOG_LEVEL", "WARNING"),
    )
    process = psutil.Process(child.pid)
    try:
        await asyncio.sleep(1.0)
        idle = process.memory_info().rss
        before = sum(1 for m in slack.visible() if m.files)
        # Slack sends each request on a connection of its own; aiohttp's default pool
        # of 100 would hold the second hundred back and time that as the bot's.
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
            sender = SlackSender(session, f"http://127.0.0.1:{port}/slack/events", SECRET)
            started = time.monotonic()
            acks = await asyncio.gather(
                *(
                    sender.command(
                        slash_command(
                            f"scale image {i} --n {EACH}",
                            user=person(i),
                            channel=f"C0SCALE{i % CHANNELS:02d}",
                            response_url=slack.response_url(f"scale{i}"),
                        )
                    )
                    for i in range(PEOPLE)
                )
            )
            waiting = process.memory_info().rss
            assert all(a.status == 200 for a in acks), {a.body for a in acks if a.status != 200}
            await wait_for(
                lambda: sum(1 for m in slack.visible() if m.files) - before >= PEOPLE, 900
            )
            last_image = time.monotonic() - started
    finally:
        child.terminate()
        await child.wait()
    return {
        "ack_p99_ms": percentile([a.seconds * 1000 for a in acks], 0.99),
        "waiting_mb_per_request": (waiting - idle) / MB / PEOPLE,
        "last_image_s": last_image,
        "ideal_s": LATENCY * math.ceil(PEOPLE * EACH / CONCURRENCY),
    }


def person(number: int) -> str:
    return f"USCALE{number:04d}"


def scale_table(runs: list[dict]) -> str:
    ack99 = statistics.median(run["ack_p99_ms"] for run in runs)
    waiting = statistics.median(run["waiting_mb_per_request"] for run in runs)
    ideal = runs[0]["ideal_s"]
    ratio = statistics.median(run["last_image_s"] / run["ideal_s"] for run in runs)
    rows = [
        ("ack latency p99", cell(runs, "ack_p99_ms", ".1f", " ms"), "≤ 150 ms", ok(ack99 <= 150)),
        (
            f"memory per waiting request ({PEOPLE} waiting)",
            cell(runs, "waiting_mb_per_request", ".3f", " MB"),
            "≤ 0.25 MB",
            ok(waiting <= 0.25),
        ),
        (
            f"time to the last image (ideal {ideal:.1f} s)",
            cell(runs, "last_image_s", ".1f", " s"),
            f"({ratio:.2f}× ideal)",
            "",
        ),
    ]
    return "\n".join(
        [
            "| measure | bot | goal | met |",
            "| --- | --- | --- | --- |",
            *("| " + " | ".join(row) + " |" for row in rows),
        ]
    )
