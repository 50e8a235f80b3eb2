"""The job runner: the bot's own background work.

Handlers admit a :class:`Job` into the journal and hand it here. Its images
become units in a round-robin :class:`FairQueue`; ``workers`` tasks take
units and call the (paced) generation client; the job's task waits for its
units and hands the outcome to the Slack writer. Every task is held by the
runner, every failure reaches the requester, and on shutdown running work
gets a grace period while waiting work stays journaled for the next start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field

from bot import messages
from bot.generation import (
    BadRequest,
    Declined,
    Generation,
    GenerationClient,
    GenerationError,
    ImageRequest,
    InputImage,
    KeyRejected,
    prepare_input,
)
from bot.generation.images import NotAnImage
from bot.jobs.fair_queue import FairQueue, QueueClosed, Unit
from bot.jobs.job import Job
from bot.jobs.journal import Journal
from bot.slack.writer import DeliveryError, Place, SlackWriter

logger = logging.getLogger(__name__)


class ShuttingDown(Exception):
    """The unit was never started: the bot is stopping (the job stays journaled)."""


class Cancelled(Exception):
    """The requester cancelled the job before it started."""


@dataclass
class _Progress:
    started: float = field(default_factory=time.monotonic)
    state: messages.JobState = "queued"
    attempts: int = 0
    logids: list[str] = field(default_factory=list)

    def attempt(self, logid: str) -> None:
        self.state = "generating"
        self.attempts += 1
        self.logids.append(logid)

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started


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


class JobRunner:
    def __init__(
        self,
        generator: GenerationClient,
        writer: SlackWriter,
        journal: Journal,
        *,
        workers: int,
        resume_within: float = 1800.0,
        tick_seconds: float = 5.0,
    ) -> None:
        self._generator = generator
        self._writer = writer
        self._journal = journal
        self._worker_count = workers
        self._resume_within = resume_within
        self._tick = tick_seconds
        self._queue: FairQueue[ImageRequest] = FairQueue()
        self._jobs: dict[str, tuple[Job, list[Unit[ImageRequest]], _Progress]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._workers: set[asyncio.Task[None]] = set()
        self._in_flight = 0  # units being generated right now
        self.accepting = True

    @property
    def active(self) -> int:
        return len(self._tasks)

    def start(self) -> None:
        for number in range(self._worker_count):
            task = asyncio.create_task(self._work(), name=f"worker-{number}")
            self._workers.add(task)

    def submit(self, job: Job, place: Place | None = None) -> None:
        """Run ``job`` in the background (already admitted to the journal)."""
        task = asyncio.create_task(self._run(job, place), name=f"job-{job.id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ---- recovery, cancel, shutdown ------------------------------------------------------
    async def recover(self) -> int:
        """Resume what a previous run left unfinished; report what is too old. Returns resumed."""
        resumed = 0
        for entry in await self._journal.unfinished():
            job = entry.job
            place = (
                Place(entry.status_channel, entry.result_thread, entry.status_ts)
                if entry.status_channel and entry.status_ts
                else None
            )
            age = time.time() - job.created_at
            if entry.state == "uploading":
                # It may have reached Slack before the crash: never upload twice.
                await self._report(job, place, messages.interrupted_upload_text(job))
            elif age > self._resume_within:
                await self._report(job, place, messages.interrupted_text(job, age))
            else:
                await self._journal.update(job.id, "queued")
                log_event(job, "resumed", age=f"{age:.0f}s")
                self.submit(job, place)
                resumed += 1
        return resumed

    async def _report(self, job: Job, place: Place | None, text: str) -> None:
        await self._journal.update(job.id, "interrupted", error=text)
        log_event(job, "interrupted")
        try:
            await self._writer.notify(job, place, text)
        except DeliveryError:
            logger.exception("job=%s could not report the interruption", job.id)

    async def cancel_queued(self, user: str) -> int:
        """Cancel the user's jobs that have not started; running ones finish."""
        cancelled = 0
        for job_id, (job, _units, progress) in list(self._jobs.items()):
            if job.user != user or progress.state != "queued":
                continue
            for unit in self._queue.remove_job(job_id):
                if not unit.result.done():
                    unit.result.set_exception(Cancelled())
            cancelled += 1
        return cancelled

    async def close(self, grace: float) -> None:
        """Stop taking work; running units get ``grace`` seconds; the rest stays journaled."""
        self.accepting = False
        for unit in await self._queue.close():
            if not unit.result.done():
                unit.result.set_exception(ShuttingDown())
        if self._workers:
            _, running = await asyncio.wait(set(self._workers), timeout=grace)
            for worker in running:
                worker.cancel()
            await asyncio.gather(*running, return_exceptions=True)
        if self._tasks:
            _, stuck = await asyncio.wait(set(self._tasks), timeout=max(grace, 5.0))
            for task in stuck:
                task.cancel()
            await asyncio.gather(*stuck, return_exceptions=True)

    # ---- the work ----------------------------------------------------------------------------
    async def _work(self) -> None:
        while await self._generate_next():
            pass

    async def _generate_next(self) -> bool:
        """Take one unit and generate it; False once the queue is closed.

        One call per unit, so a worker waiting for its next unit holds no
        reference to the last image (megabytes each, under a burst).
        """
        try:
            unit = await self._queue.get()
        except QueueClosed:
            return False
        if not unit.result.done():
            await self._generate(unit)
        return True

    async def _generate(self, unit: Unit[ImageRequest]) -> None:
        _, _, progress = self._jobs[unit.job_id]
        if progress.state == "queued":
            progress.state = "generating"
            await self._journal.update(unit.job_id, "running")
        self._in_flight += 1
        try:
            generation = await self._generator.generate(unit.payload, on_attempt=progress.attempt)
        except GenerationError as exc:
            unit.result.set_exception(exc)
        except asyncio.CancelledError:
            unit.result.set_exception(ShuttingDown())
            raise
        except Exception as exc:  # a bug: still routed to the requester
            logger.exception("job=%s unit failed unexpectedly", unit.job_id)
            unit.result.set_exception(exc)
        else:
            unit.result.set_result(generation)
        finally:
            self._in_flight -= 1

    async def _run(self, job: Job, place: Place | None) -> None:
        progress = _Progress()
        log_event(job, "queued")
        logger.debug("job=%s prompt=%r", job.id, job.prompt)
        status = messages.status_text(job, "queued", 0)
        try:
            if place is None:
                place = await self._writer.open(job, status)
            else:
                await self._writer.show(place, status, final=True)
            await self._journal.update(
                job.id,
                status_channel=place.channel,
                status_ts=place.status_ts,
                result_thread=place.thread_ts,
            )
        except DeliveryError as exc:
            logger.exception("job=%s could not post its status", job.id)
            await self._journal.update(job.id, "failed", error=str(exc))
            log_event(job, "failed", error="status_not_posted")
            await self._writer.tell_not_started(job, messages.not_started_text(job))
            return
        try:
            inputs, input_names = await self._inputs(job)
        except (DeliveryError, NotAnImage) as exc:
            await self._fail(job, place, _Progress(), messages.download_failed_text(exc))
            return
        request = ImageRequest(
            job.prompt, job.options.aspect_ratio, job.options.size, images=inputs
        )
        units = [Unit(job.user, job.id, request) for _ in range(job.options.count)]
        self._jobs[job.id] = (job, units, progress)
        ticker = asyncio.create_task(self._keep_status_fresh(job, place, progress))
        try:
            for unit in units:
                await self._queue.put(unit)
            results = await asyncio.gather(*(u.result for u in units), return_exceptions=True)
            units.clear()  # their futures hold the images too; _finish lets them go
            await self._finish(job, place, progress, results, input_names)
        except QueueClosed:
            await self._pause(job, place)
        except asyncio.CancelledError:
            await asyncio.shield(self._pause(job, place))
            raise
        except Exception:  # the boundary: every failure reaches the requester
            logger.exception("job=%s failed unexpectedly", job.id)
            await self._fail(job, place, progress, messages.UNEXPECTED_TEXT)
        finally:
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker
            self._jobs.pop(job.id, None)

    async def _inputs(self, job: Job) -> tuple[tuple[InputImage, ...], list[str]]:
        """Download the images to edit, each brought under the gateway's size limit;
        also returns their names, to say which were used."""
        prepared, names = [], []
        for file_id in job.inputs:
            name, data = await self._writer.download(file_id)
            prepared.append(await asyncio.to_thread(prepare_input, data))
            names.append(name)
        return tuple(prepared), names

    async def _finish(
        self,
        job: Job,
        place: Place,
        progress: _Progress,
        results: list[object],
        input_names: list[str],
    ) -> None:
        if any(isinstance(r, Cancelled) for r in results):
            await self._journal.update(job.id, "cancelled")
            log_event(job, "cancelled")
            await self._writer.fail(job, place, messages.cancelled_text(job))
            return
        if any(isinstance(r, (ShuttingDown, asyncio.CancelledError)) for r in results):
            await self._pause(job, place)
            return
        for result in results:
            if isinstance(result, BaseException) and not isinstance(result, GenerationError):
                raise result
        generations = [r for r in results if isinstance(r, Generation)]
        failures = [r for r in results if isinstance(r, GenerationError)]
        for failure in failures:
            log_event(job, "image_failed", error=type(failure).__name__, logid=failure.logid)
            if isinstance(failure, (KeyRejected, BadRequest)):
                logger.error(
                    "job=%s needs the operator: %s; check BANANA_API_KEY, BANANA_NETWORK or "
                    "BANANA_API_URL, and BANANA_MODEL",
                    job.id,
                    failure,
                )
        if not generations:
            declined = isinstance(failures[0], Declined)
            await self._fail(
                job, place, progress, messages.failure_text(failures[0]), declined=declined
            )
            return
        comment = messages.result_comment(
            user=job.user,
            prompt=job.prompt,
            options=job.options,
            elapsed=progress.elapsed,
            generations=generations,
            failures=failures,
        )
        images = [image for generation in generations for image in generation.images]
        progress.state = "done"
        # Results in a thread are numbered, so "v2 but at night" can name one.
        version = await self._journal.start_upload(
            job.id, place.channel, place.thread_ts, progress.logids
        )
        if input_names:
            comment = f"{messages.inputs_note(input_names)}\n{comment}"
        if job.parent:  # a re-roll or variation links back to what it came from
            comment = f"{await self._origin_note(job.parent)}\n{comment}"
        if version:
            comment = f"*v{version}* · {comment}"
        count, logids = len(images), ",".join(g.logid for g in generations)
        card = messages.result_card(job, progress.elapsed, count, version)
        try:
            file_ids = await self._writer.deliver(job, place, images, comment)
        except DeliveryError as exc:
            logger.exception("job=%s upload failed", job.id)
            await self._journal.update(job.id, version=None)
            await self._fail(job, place, progress, messages.upload_failed_text(exc))
            return
        finally:
            # Slack has the bytes (or refused them): let the megabytes go now, not
            # after the status edits below, which may wait on Slack's rate limit.
            del images, generations
            results.clear()
        await self._journal.finish_delivered(
            job.id,
            images=count,
            size=job.options.size,
            attempts=progress.attempts,
            logids=progress.logids,
            file_ids=file_ids,
        )
        await self._writer.show_result(job, place, card)
        log_event(
            job,
            "delivered",
            images=count,
            elapsed=f"{progress.elapsed:.1f}s",
            logids=logids,
        )

    async def _origin_note(self, parent_id: str) -> str:
        parent = await self._journal.get(parent_id)
        if parent is None:
            return messages.origin_note(None)
        return messages.origin_note(
            self._writer.permalink(parent.status_channel, parent.status_ts, parent.result_thread)
        )

    async def _fail(
        self, job: Job, place: Place, progress: _Progress, text: str, *, declined: bool = False
    ) -> None:
        progress.state = "failed"
        await self._journal.update(
            job.id,
            "failed",
            error=text,
            attempts=progress.attempts,
            logids=" ".join(progress.logids),
        )
        log_event(
            job,
            "failed",
            elapsed=f"{progress.elapsed:.1f}s",
            logid=progress.logids[-1] if progress.logids else "-",
        )
        try:
            card_text, blocks = messages.failure_card(
                job, messages.status_text(job, "failed", 0, text), declined=declined
            )
            await self._writer.fail(job, place, card_text, blocks)
        except DeliveryError:
            logger.exception("job=%s could not tell the requester about a failure", job.id)

    async def _pause(self, job: Job, place: Place) -> None:
        """Shutdown caught the job: it stays queued in the journal and resumes on start."""
        await self._journal.update(job.id, "queued")
        log_event(job, "paused")
        with contextlib.suppress(DeliveryError):
            await self._writer.show(place, messages.paused_text(job), final=True)

    async def _keep_status_fresh(self, job: Job, place: Place, progress: _Progress) -> None:
        while progress.state in ("queued", "generating"):
            ahead = None
            if progress.state == "queued":
                index = self._queue.ahead_of(job.id)
                ahead = None if index is None else index + self._in_flight
            text = messages.status_text(
                job, progress.state, progress.elapsed, attempts=progress.attempts, ahead=ahead
            )
            await self._writer.show(place, text)
            await asyncio.sleep(self._tick)
