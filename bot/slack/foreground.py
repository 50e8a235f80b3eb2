"""Slack's requests first: work that can wait starts once none is being answered.

A burst of people typing ``/banana`` at once is a burst of HTTP requests, each
with 3 s for its answer, all on one event loop. An accepted job's first steps
(its status line, its first gateway call, the answers that come back) would
otherwise share the loop with the requests still being answered, and the last
acks of a 200-person burst waited behind the status posts of the first ones.

So each Slack request is counted while it is answered, and a job admitted
during a burst is started only when no request is being answered any more —
in the order the jobs were admitted, one a loop turn (a request that arrives
meanwhile goes first), and after ``HOLD_AT_MOST`` seconds at the latest, so a
steady stream of requests cannot hold jobs back for long. Every
job held here is already journaled: a crash while it waits loses nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable, Iterator

logger = logging.getLogger(__name__)

HOLD_AT_MOST = 1.0  # seconds a job waits for a quiet moment before it starts anyway


class Foreground:
    def __init__(self, hold_at_most: float = HOLD_AT_MOST) -> None:
        self._hold_at_most = hold_at_most
        self._answering = 0
        self._quiet = asyncio.Event()
        self._quiet.set()
        self._held: deque[tuple[float, Callable[[], None]]] = deque()
        self._releaser: asyncio.Task[None] | None = None

    @contextlib.contextmanager
    def answering(self) -> Iterator[None]:
        """Around the handling of one Slack request, until its answer is ready."""
        self._answering += 1
        self._quiet.clear()
        try:
            yield
        finally:
            self._answering -= 1
            if self._answering == 0:
                self._quiet.set()

    @property
    def held(self) -> int:
        """Starts waiting for a quiet moment (their jobs count as admitted)."""
        return len(self._held)

    def after(self, start: Callable[[], None]) -> None:
        """Call ``start`` now if no request is being answered, else once none is (or
        ``hold_at_most`` seconds from now at the latest), after those held before it."""
        if not self._answering and not self._held:
            start()
            return
        self._held.append((asyncio.get_running_loop().time(), start))
        if self._releaser is None:
            self._releaser = asyncio.create_task(self._release_when_quiet(), name="foreground")

    async def _release_when_quiet(self) -> None:
        try:
            while self._held:
                oldest = self._held[0][0]
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout_at(oldest + self._hold_at_most):
                        await self._quiet.wait()
                # One start a loop turn: a request that arrives meanwhile is answered
                # before the next (unless that one has waited its longest).
                self._start_next()
                await asyncio.sleep(0)
        finally:
            self._releaser = None

    def release(self) -> None:
        """Start everything held, in order (at shutdown, before the runner closes)."""
        while self._held:
            self._start_next()

    def _start_next(self) -> None:
        _, start = self._held.popleft()
        try:
            start()
        except Exception:
            logger.exception("a held job could not be started")
