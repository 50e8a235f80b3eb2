"""The workers: tasks that take units from the fair queue and generate each with
one (paced) gateway call, handing the result to its job through the unit's
future. They know the jobs only by their progress."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from bot.generation import GenerationClient, GenerationError
from bot.jobs.fair_queue import QueueClosed, Unit, UnitQueue
from bot.jobs.journal import Journal
from bot.jobs.outcomes import InputUnreadable
from bot.jobs.progress import JobRequest, Progress, ShuttingDown
from bot.metrics import Metrics

logger = logging.getLogger(__name__)


class Workers:
    def __init__(
        self,
        generator: GenerationClient,
        journal: Journal,
        queue: UnitQueue[JobRequest],
        metrics: Metrics,
        progress_of: Callable[[str], Progress],
    ) -> None:
        self._generator = generator
        self._journal = journal
        self._queue = queue
        self._metrics = metrics
        self._progress_of = progress_of
        self._tasks: set[asyncio.Task[None]] = set()
        self.in_flight = 0  # units being generated right now

    def start(self, count: int) -> None:
        for number in range(count):
            self._tasks.add(asyncio.create_task(self._work(), name=f"worker-{number}"))

    async def stop(self, grace: float) -> None:
        """Give the units being generated ``grace`` seconds, then cancel them (their
        jobs hear :class:`ShuttingDown`). The queue must be closed first."""
        if not self._tasks:
            return
        _, running = await asyncio.wait(set(self._tasks), timeout=grace)
        for worker in running:
            worker.cancel()
        await asyncio.gather(*running, return_exceptions=True)

    async def _work(self) -> None:
        while await self._generate_next():
            pass

    async def _generate_next(self) -> bool:
        """Take one unit and generate it; False once the queue is closed.

        One call per unit, so a worker waiting for its next unit holds no
        reference to the last image.
        """
        try:
            unit = await self._queue.get()
        except QueueClosed:
            return False
        if not unit.result.done():
            await self._generate(unit)
        return True

    async def _generate(self, unit: Unit[JobRequest]) -> None:
        progress = self._progress_of(unit.job_id)
        if progress.state == "queued":
            progress.state = "running"
            await self._journal.update(unit.job_id, "running")
        self.in_flight += 1
        started, attempts = time.monotonic(), 0

        def attempt(logid: str) -> None:
            nonlocal attempts
            attempts += 1
            progress.attempt(logid)

        try:
            # The job's first unit fetches its images to edit; the others wait for them.
            request = await unit.payload.ready()
            started = time.monotonic()
            generation = await self._generator.generate(
                request, on_attempt=attempt, requester=unit.user
            )
        except GenerationError as exc:
            self._observe_call(started, attempts)
            unit.result.set_exception(exc)
        except InputUnreadable as exc:
            unit.result.set_exception(exc)
        except asyncio.CancelledError:
            unit.result.set_exception(ShuttingDown())
            raise
        except Exception as exc:  # a bug: still routed to the requester
            logger.exception("job=%s unit failed unexpectedly", unit.job_id)
            unit.result.set_exception(exc)
        else:
            self._observe_call(started, attempts)
            unit.result.set_result(generation)
        finally:
            self.in_flight -= 1

    def _observe_call(self, started: float, attempts: int) -> None:
        """One image's gateway time and calls, whatever the answer."""
        self._metrics.gateway_seconds.observe(time.monotonic() - started)
        self._metrics.attempts.observe(attempts)
