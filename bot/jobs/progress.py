"""A job while it runs: its progress (what its status line shows), the request its
units share, and the log line each of its events writes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

from bot.generation import ImageRequest
from bot.jobs.job import Job, State
from bot.jobs.publisher import StatusView

logger = logging.getLogger(__name__)


class ShuttingDown(Exception):
    """The unit was never started: the bot is stopping (the job stays journaled)."""


class NotStartedUnit(Exception):
    """The job's status line could not be posted: its unit is not generated."""


class CancelledUnit(Exception):
    """The requester cancelled the job before its unit started."""


class Progress:
    """What a job has done so far, for its status line and its journal entry."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.attempts = 0
        self.logids: list[str] = []
        self.job: Job | None = None  # the job as it runs, once an edit took its image's shape
        self._state: State = "queued"
        self._moved = asyncio.Event()  # the state changed, or a retry began

    @property
    def state(self) -> State:
        return self._state

    @state.setter
    def state(self, state: State) -> None:
        if state != self._state:
            self._state = state
            self._moved.set()

    def attempt(self, logid: str) -> None:
        self.state = "running"
        self.attempts += 1
        self.logids.append(logid)
        self._moved.set()

    async def moved(self, within: float) -> None:
        """Return when the job moves on (a new state, a retry), or after ``within`` s."""
        # asyncio.timeout, not wait_for: in Python 3.11 wait_for returns normally when
        # cancelled just as the event is set, and the ticker would never stop.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(within):
                await self._moved.wait()
        self._moved.clear()

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def view(self, ahead: int | None = None) -> StatusView:
        return StatusView(self.state, self.elapsed, self.attempts, ahead)


def log_event(job: Job, state: str, **fields: object) -> None:
    """One structured line per job event; the prompt only at DEBUG."""
    extra = "".join(f" {name}={value}" for name, value in fields.items())
    logger.info(
        "job=%s state=%s user=%s source=%s options=%s%s",
        job.id,
        state,
        job.user,
        job.source,
        job.options.describe().replace(" ", ""),
        extra,
    )


Prepared = tuple[ImageRequest, tuple[str, ...]]  # the request, and the names of its inputs


class JobRequest:
    """A job's gateway request, shared by its units.

    The images to edit are fetched when a worker takes the job's first unit,
    not while the job waits: a queued job holds no downloaded bytes, and a
    long queue costs no memory for them. Fetched once; a failure is kept, so
    the job's other units fail at once without a second download.
    """

    def __init__(self, load: Callable[[], Awaitable[Prepared]]) -> None:
        self._load = load
        self._lock = asyncio.Lock()
        self._ready: ImageRequest | None = None
        self._error: Exception | None = None
        self.input_names: tuple[str, ...] = ()

    async def ready(self) -> ImageRequest:
        """The request with its images.

        Raises:
            InputUnreadable: an image to edit could not be fetched or read.
        """
        async with self._lock:
            if self._error is not None:
                raise self._error
            if self._ready is None:
                try:
                    self._ready, self.input_names = await self._load()
                except Exception as exc:
                    self._error = exc
                    raise
            return self._ready
