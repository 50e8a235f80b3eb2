"""Pacing of gateway calls: a cap on calls in flight and a minimum gap between
call starts, as the gateway's owners ask.

:class:`Pacer` paces one process. Replicas sharing a PostgreSQL journal pace
together through it instead (``bot/jobs/store/postgres_pacer.py``); both are
a :class:`CallPacer`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Protocol


class CallPacer(Protocol):
    def slot(self, requester: str = "") -> AbstractAsyncContextManager[None]:
        """Hold one in-flight slot for one call made for ``requester`` (a user, whose
        turn a shared pacer keeps fair), started no sooner than the interval allows."""
        ...


class Pacer:
    def __init__(self, concurrency: int, min_interval: float) -> None:
        self._slots = asyncio.Semaphore(concurrency)
        self._min_interval = min_interval
        self._start_lock = asyncio.Lock()
        self._last_start = -float("inf")

    @asynccontextmanager
    async def slot(self, requester: str = "") -> AsyncIterator[None]:
        """Hold one of the in-flight slots, started no sooner than the interval allows
        (in arrival order: the runner's fair queue already took turns by user)."""
        async with self._slots:
            async with self._start_lock:
                wait = self._last_start + self._min_interval - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                self._last_start = time.monotonic()
            yield
