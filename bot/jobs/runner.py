"""The job runner: the bot's own background work.

Handlers admit a :class:`Job` into the journal and hand it here. Its images
become units in a round-robin :class:`FairQueue`; ``workers`` tasks take
units and call the (paced) generation client (:mod:`bot.jobs.workers`); the
job's task runs its :class:`JobPipeline`, and :mod:`bot.jobs.ending` has the
outcome journaled and said. Every task is held by the runner, every failure
reaches the requester, and on shutdown running work gets a grace period while
waiting work goes back to the journal for another process (or the next start).

Every job this process runs is leased to it in the journal; see
:mod:`bot.jobs.takeover` for the keeping of leases and the taking over of
other processes' work.
"""

from __future__ import annotations

import asyncio
import logging

from bot.generation import GenerationClient
from bot.jobs.delivery import Delivery
from bot.jobs.ending import Ending
from bot.jobs.entry import Entry
from bot.jobs.fair_queue import FairQueue, QueueClosed, Unit, UnitQueue, fail
from bot.jobs.job import Job, StatusRef
from bot.jobs.journal import Journal
from bot.jobs.leases import LeaseLost
from bot.jobs.outcomes import Delivered, Failed, NotStarted, Outcome, Paused, Unexpected
from bot.jobs.pipeline import JobPipeline
from bot.jobs.progress import (
    CancelledUnit,
    JobRequest,
    NotStartedUnit,
    Progress,
    ShuttingDown,
    log_event,
)
from bot.jobs.publisher import Publisher, PublishError, StatusView
from bot.jobs.spool import Spool
from bot.jobs.takeover import Takeover, status_ref
from bot.jobs.workers import Workers
from bot.metrics import Metrics

logger = logging.getLogger(__name__)


class JobRunner:
    def __init__(
        self,
        generator: GenerationClient,
        publisher: Publisher,
        journal: Journal,
        *,
        workers: int,
        resume_within: float = 1800.0,
        tick_seconds: float = 5.0,
        metrics: Metrics | None = None,
        queue: UnitQueue[JobRequest] | None = None,
        spool: Spool | None = None,
        deliver_within: float = 1800.0,
    ) -> None:
        self._metrics = metrics or Metrics()
        self._delivery = Delivery(
            publisher, journal, spool, within=deliver_within, metrics=self._metrics
        )
        self._publisher = publisher
        self._journal = journal
        self._worker_count = workers
        # This process's round-robin line, or the one replicas share (the journal's).
        self._queue: UnitQueue[JobRequest] = queue if queue is not None else FairQueue()
        self._pipeline = JobPipeline(
            publisher,
            journal,
            self._queue,
            self._ahead,
            tick_seconds=tick_seconds,
            metrics=self._metrics,
            delivery=self._delivery,
        )
        self._jobs: dict[str, tuple[Job, list[Unit[JobRequest]], Progress]] = {}
        self._takeover = Takeover(
            journal,
            publisher,
            self._queue,
            self._delivery,
            submit=self.submit,
            resume_delivery=self._resume_delivery,
            resume_within=resume_within,
        )
        self._tasks: set[asyncio.Task[None]] = set()
        self._keeper: asyncio.Task[None] | None = None
        self._workers = Workers(
            generator, journal, self._queue, self._metrics, lambda job_id: self._jobs[job_id][2]
        )
        self._ending = Ending(publisher, journal, self._delivery)
        self._closing = False
        self._status_errors: dict[str, PublishError] = {}  # why a status line failed
        self._metrics.watch_queue(
            lambda: len(self._queue), lambda: self._workers.in_flight, self._oldest_waiting_since
        )

    @property
    def accepting(self) -> bool:
        """Whether new jobs may be admitted: until shutdown; on a journal that other
        processes share, even then (they are handed over to those)."""
        return self._journal.SHARED or not self._closing

    @property
    def active(self) -> int:
        """Jobs admitted and not finished: waiting, generating or being delivered."""
        return len(self._tasks)

    def start(self) -> None:
        self._workers.start(self._worker_count)
        self._keeper = asyncio.create_task(self._takeover.keep_leases(), name="lease-keeper")

    def submit(self, job: Job, ref: StatusRef | None = None) -> None:
        """Run ``job`` in the background (already admitted to the journal); while
        shutting down, hand it over to the processes sharing the journal instead."""
        work = self._hand_over(job) if self._closing else self._run(job, ref)
        task = asyncio.create_task(work, name=f"job-{job.id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _oldest_waiting_since(self) -> float | None:
        """When the oldest job still waiting for its first gateway call was asked for."""
        waiting = [job.created_at for job, _, p in self._jobs.values() if p.state == "queued"]
        return min(waiting, default=None)

    async def _ahead(self, job_id: str) -> int | None:
        try:
            return await self._queue.ahead(job_id, self._workers.in_flight)
        except Exception:  # the shared line is out of reach: show no position this tick
            logger.exception("job=%s could not read its place in the queue", job_id)
            return None

    # ---- recovery, cancel, shutdown ------------------------------------------------------
    async def recover(self) -> int:
        """Take over the unfinished jobs no process holds (a previous or dead process
        left them): resume them; report those caught mid-share or too old. Returns
        how many resumed."""
        return await self._takeover.recover()

    async def _hand_over(self, job: Job) -> None:
        await self._journal.release(job.id)
        log_event(job, "handed_over")

    async def _resume_delivery(self, entry: Entry) -> bool:
        """Deliver a job a previous run made and spooled, without generating it again.
        False when it was not spooled (or its spool is gone, or on another replica's
        disk: then it is generated again)."""
        ref = status_ref(entry)
        if entry.state != "spooled" or ref is None:
            return False
        spooled = await self._delivery.spooled(entry.job.id)
        if spooled is None:
            return False
        job = entry.job
        progress = Progress()
        progress.state = "spooled"

        async def deliver() -> None:
            try:
                outcome = await self._delivery.resume(job, ref, spooled)
            except LeaseLost:  # another process took it over; it answers the requester
                log_event(job, "handed_over")
                return
            await self._ending.conclude(job, ref, progress, outcome)

        task = asyncio.create_task(deliver(), name=f"delivery-{job.id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return True

    async def cancel_queued(self, user: str) -> int:
        """Cancel the user's jobs that have not started, on whatever process they wait;
        running ones finish."""
        unstarted = [
            job_id
            for job_id, (job, _units, progress) in self._jobs.items()
            if job.user == user and progress.state == "queued"
        ]
        return await self._queue.cancel(user, unstarted, CancelledUnit)

    async def close(self, grace: float) -> None:
        """Stop taking work; running units get ``grace`` seconds; waiting jobs, and at
        the end every lease, go back to the journal for another process."""
        self._closing = True
        if self._keeper is not None:
            self._keeper.cancel()
            await asyncio.gather(self._keeper, return_exceptions=True)
        fail(await self._queue.close(), ShuttingDown)
        await self._workers.stop(grace)
        if self._tasks:
            _, stuck = await asyncio.wait(set(self._tasks), timeout=max(grace, 5.0))
            for task in stuck:
                task.cancel()
            await asyncio.gather(*stuck, return_exceptions=True)
        try:
            await self._journal.release_leases()
        except Exception:  # they lapse on their own within a lease
            logger.exception("could not release job leases")

    # ---- one job -----------------------------------------------------------------------------
    async def _run(self, job: Job, existing: StatusRef | None) -> None:
        progress = Progress()
        log_event(job, "queued")
        logger.debug("job=%s prompt=%r", job.id, job.prompt)
        units: list[Unit[JobRequest]] = []
        self._jobs[job.id] = (job, units, progress)
        # The status line is posted while the job waits for a worker: in a busy
        # channel Slack takes one post a second, and generation must not queue
        # behind it (the pipeline holds the images until the status exists).
        status = asyncio.create_task(self._open_status(job, existing))
        outcome: Outcome | NotStarted
        try:
            outcome = await self._pipeline.run(job, status, progress, units)
        except QueueClosed:
            outcome = Paused()
        except LeaseLost:  # another process took it over; it answers the requester
            await asyncio.gather(status, return_exceptions=True)
            log_event(job, "handed_over")
            return
        except asyncio.CancelledError:
            ref = status.result() if status.done() and not status.cancelled() else None
            status.cancel()
            await asyncio.shield(
                self._ending.conclude(progress.job or job, ref, progress, Paused())
            )
            raise
        except Exception:  # the boundary: every failure reaches the requester
            logger.exception("job=%s failed unexpectedly", job.id)
            outcome = Failed(Unexpected())
        finally:
            self._jobs.pop(job.id, None)
        ref = await status
        if isinstance(outcome, NotStarted) or (ref is None and not isinstance(outcome, Delivered)):
            await self._ending.not_started(job, self._status_errors.pop(job.id, None))
            return
        # Delivered with no status line (posted where the job was asked, then Slack
        # refused the line): the images are there; only the card is missing.
        await self._ending.conclude(progress.job or job, ref, progress, outcome)

    async def _open_status(self, job: Job, existing: StatusRef | None) -> StatusRef | None:
        """The job's status line, journaled; None (logged) when it cannot be posted, and
        then the job's units still waiting are withdrawn: nothing more is made for it."""
        try:
            ref = await self._publisher.open_status(job, StatusView("queued"), existing)
            await self._journal.update(
                job.id,
                status_channel=ref.conversation,
                status_ts=ref.message,
                result_thread=ref.thread,
            )
        except PublishError as exc:
            logger.exception("job=%s could not post its status", job.id)
            fail(await self._queue.withdraw(job.id), NotStartedUnit)
            self._status_errors[job.id] = exc
            return None
        return ref
