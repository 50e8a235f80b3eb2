"""Two replicas against one: the same burst on a shared PostgreSQL journal.

24 signed ``/banana`` commands (1K images; the gateway answers in 2 s with 8
calls in flight across all replicas) go to one replica, then — half each — to
two replicas sharing one database. Measured: ack p99, makespan, and database
transactions per image (``pg_stat_database``: every short transaction the
journal, the shared queue and the pacer commit or roll back).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import aiohttp
import psycopg

from bench.run import BURST, CONCURRENCY, SECRET, cell, percentile, start_bot, wait_for
from bot.standins.gateway import GatewayStandIn
from bot.standins.serving import free_port
from bot.standins.slack import SlackStandIn
from bot.standins.slack_sender import SlackSender, slash_command
from tests.postgres_server import PostgresServer, find_binaries, start_server

LATENCY = 2.0
CHANNEL = "C0REPLICAS"


def start_postgres() -> PostgresServer | None:
    binaries = find_binaries()
    return None if binaries is None else start_server(binaries, free_port())


def _transactions(url: str) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT xact_commit + xact_rollback FROM pg_stat_database"
            " WHERE datname = current_database()"
        ).fetchone()
    return int(row[0]) if row else 0


async def run_replicas(
    gateway: GatewayStandIn, slack: SlackStandIn, folder: Path, url: str, replicas: int
) -> dict[str, float]:
    slack.add_conversation(CHANNEL, "replicas")
    gateway.latency, gateway.default_mode = LATENCY, "noise"
    for n in range(replicas):
        (folder / f"replica-{n}").mkdir(parents=True, exist_ok=True)
    bots = [
        await start_bot(
            gateway,
            slack,
            folder / f"replica-{n}",
            BANANA_DB=url,
            BANANA_SPOOL=str(folder / f"spool-{n}"),
        )
        for n in range(replicas)
    ]
    before = len([m for m in slack.visible(CHANNEL) if m.files])
    try:
        async with aiohttp.ClientSession() as session:
            senders = [
                SlackSender(session, f"http://127.0.0.1:{port}/slack/events", SECRET)
                for _, port in bots
            ]
            await asyncio.sleep(1.0)
            transactions = await asyncio.to_thread(_transactions, url)
            started = time.monotonic()
            acks = await asyncio.gather(
                *(
                    senders[i % replicas].command(
                        slash_command(
                            f"replica image {i}",
                            user=f"UREPL{i:03d}",
                            channel=CHANNEL,
                            response_url=slack.response_url(f"repl{replicas}-{i}"),
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
            transactions = await asyncio.to_thread(_transactions, url) - transactions
    finally:
        for child, _ in bots:
            child.terminate()
        for child, _ in bots:
            await child.wait()
    return {
        "ack_p99_ms": percentile([a.seconds * 1000 for a in acks], 0.99),
        "makespan_s": makespan,
        "transactions_per_image": transactions / BURST,
        "ideal_s": LATENCY * -(-BURST // CONCURRENCY),
    }


def replicas_table(one: list[dict[str, float]], two: list[dict[str, float]]) -> str:
    ideal = one[0]["ideal_s"]
    rows = [
        (
            "ack latency p99",
            cell(one, "ack_p99_ms", ".1f", " ms"),
            cell(two, "ack_p99_ms", ".1f", " ms"),
        ),
        (
            f"makespan (ideal {ideal:.0f} s)",
            cell(one, "makespan_s", ".2f", " s"),
            cell(two, "makespan_s", ".2f", " s"),
        ),
        (
            "database transactions per image",
            cell(one, "transactions_per_image", ".1f", ""),
            cell(two, "transactions_per_image", ".1f", ""),
        ),
    ]
    return "\n".join(
        [
            "| measure | one replica | two replicas |",
            "| --- | --- | --- |",
            *("| " + " | ".join(row) + " |" for row in rows),
        ]
    )
