"""Work this process takes over from others, and the leases it keeps meanwhile.

Every job this process runs is leased to it in the journal. A keeper task
renews the leases a few times per lease and, as often (or at once, when
notified), takes over jobs whose lease lapsed (their process died) or that
were let go (their process stopped): it delivers a spooled one from its spool
when the spool is here (else makes it again), resumes the others, or reports
those caught mid-share (never shared twice) or too old to its requester.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from bot.jobs.delivery import Delivery
from bot.jobs.entry import Entry
from bot.jobs.fair_queue import UnitQueue
from bot.jobs.job import Job, StatusRef
from bot.jobs.journal import Journal
from bot.jobs.outcomes import Interrupted
from bot.jobs.progress import CancelledUnit, JobRequest, log_event
from bot.jobs.publisher import Publisher, PublishError

logger = logging.getLogger(__name__)

Submit = Callable[[Job, StatusRef | None], None]
ResumeDelivery = Callable[[Entry], Awaitable[bool]]  # False: not spooled here


def status_ref(entry: Entry) -> StatusRef | None:
    if not entry.status_channel or not entry.status_ts:
        return None
    return StatusRef(entry.status_channel, entry.status_ts, entry.result_thread)


class Takeover:
    def __init__(
        self,
        journal: Journal,
        publisher: Publisher,
        queue: UnitQueue[JobRequest],
        delivery: Delivery,
        *,
        submit: Submit,
        resume_delivery: ResumeDelivery,
        resume_within: float,
    ) -> None:
        self._journal = journal
        self._publisher = publisher
        self._queue = queue
        self._delivery = delivery
        self._submit = submit
        self._resume_delivery = resume_delivery
        self._resume_within = resume_within
        self._spool_opened = False
        self._one_at_a_time = asyncio.Lock()  # the start's takeover and the keeper's

    async def keep_leases(self) -> None:
        """Renew this process's leases, stop what another process cancelled, and take
        over lapsed or released jobs, a few times per lease: a dead process's work
        resumes here within about a lease."""
        while True:
            await self._journal.wait_for_released(within=self._journal.lease_seconds / 3)
            try:
                await self._journal.renew_leases()
                await self._queue.forget_cancelled(CancelledUnit)
                resumed = await self.recover()
            except Exception:  # the database is away: try again next round
                logger.exception("could not renew or take over job leases")
            else:
                if resumed:
                    logger.info("took over %d job(s) from a stopped or dead process", resumed)

    async def recover(self) -> int:
        """Take over the unfinished jobs no process holds; returns how many resumed."""
        async with self._one_at_a_time:
            return await self._recover()

    async def _recover(self) -> int:
        resumed = 0
        taken = await self._journal.take_over()
        if not self._spool_opened:
            # At start, the spool keeps what is spooled to deliver: by this process, or
            # by another sharing the spool's folder (the rest is half-written or done).
            spooled = {e.job.id for e in await self._journal.unfinished() if e.state == "spooled"}
            await self._delivery.open(spooled)
            self._spool_opened = True
        for entry in taken:
            job, ref = entry.job, status_ref(entry)
            age = time.time() - job.created_at
            if await self._resume_delivery(entry):
                resumed += 1
            elif entry.state == "uploading":
                # It may have reached Slack before the crash: never upload twice.
                await self._report(job, ref, Interrupted(age, during_upload=True))
            elif age > self._resume_within:
                await self._report(job, ref, Interrupted(age))
            else:
                await self._journal.update(job.id, "queued")
                log_event(job, "resumed", age=f"{age:.0f}s")
                self._submit(job, ref)
                resumed += 1
        return resumed

    async def _report(self, job: Job, ref: StatusRef | None, outcome: Interrupted) -> None:
        await self._journal.update(job.id, "interrupted", error="interrupted by a restart")
        log_event(job, "interrupted")
        try:
            await self._publisher.finish(job, ref, outcome)
        except PublishError:
            logger.exception("job=%s could not report the interruption", job.id)
