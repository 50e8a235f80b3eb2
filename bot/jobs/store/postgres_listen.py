"""Notifications between replicas: ``LISTEN`` on one connection of its own.

A notification only hurries a replica along: everything that waits for one
also wakes after a short poll, so a lost connection (re-opened here) or a
lost notification costs a little latency, never correctness.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

import psycopg
from psycopg import AsyncConnection, sql

logger = logging.getLogger(__name__)

RECONNECT_SECONDS = 1.0
GATEWAY_CHANNEL = "banana_gateway"  # a gateway call started or ended, a unit queued or taken
JOBS_CHANNEL = "banana_jobs"  # jobs were let go or cancelled: take them over, or stop them


class Listener:
    def __init__(self, conninfo: str, channels: Sequence[str]) -> None:
        self._conninfo = conninfo
        self._channels = tuple(channels)
        self._events = {channel: asyncio.Event() for channel in self._channels}
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._listen(), name="journal-listener")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    def changed(self, channel: str) -> asyncio.Event:
        """Set at the next notification on ``channel``: take it *before* looking at
        the database, then wait on it, and nothing sent in between is missed."""
        return self._events[channel]

    @staticmethod
    async def wait(seen: asyncio.Event, within: float) -> None:
        """Until ``seen`` is set (see :meth:`changed`), or ``within`` seconds."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(within):  # not wait_for: it can swallow a cancel
                await seen.wait()

    async def _listen(self) -> None:
        while True:
            try:
                async with await AsyncConnection.connect(self._conninfo, autocommit=True) as conn:
                    for channel in self._channels:
                        await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
                    async for note in conn.notifies():
                        self._fire(note.channel)
            except psycopg.Error as exc:
                logger.warning(
                    "lost the journal's notification connection (%s); polling until it is back",
                    type(exc).__name__,
                )
                await asyncio.sleep(RECONNECT_SECONDS)

    def _fire(self, channel: str) -> None:
        if channel in self._events:
            self._events[channel].set()
            self._events[channel] = asyncio.Event()
