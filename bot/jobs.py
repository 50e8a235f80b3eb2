"""The job runner: the bot's own background work.

Handlers enqueue a :class:`Job`; the runner generates its images through the
shared (paced) generation client and hands every outcome to the Slack writer.
It holds strong references to its tasks, routes every failure to the
requester, and waits for running jobs on shutdown.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from dataclasses import dataclass, field
from typing import Literal

from bot import messages
from bot.generation import Generation, GenerationClient, GenerationError, ImageRequest
from bot.options import ImageOptions
from bot.slack.writer import DeliveryError, Place, SlackWriter

logger = logging.getLogger(__name__)

Source = Literal["command", "mention", "dm"]


@dataclass(frozen=True)
class Job:
    key: str  # Slack's event_id / the command's trigger_id: one delivery, one job
    user: str
    channel: str
    prompt: str
    options: ImageOptions
    source: Source
    reply_thread: str | None = None  # thread root for mention and DM answers
    request_ts: str | None = None  # the user's message, for reactions
    response_url: str | None = None  # slash commands only
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:10])


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


class JobRunner:
    def __init__(
        self, generator: GenerationClient, writer: SlackWriter, *, tick_seconds: float = 5.0
    ) -> None:
        self._generator = generator
        self._writer = writer
        self._tick = tick_seconds
        self._tasks: set[asyncio.Task[None]] = set()
        self.accepting = True

    @property
    def active(self) -> int:
        return len(self._tasks)

    def submit(self, job: Job) -> None:
        """Start ``job`` in the background; the runner keeps the task until it ends."""
        task = asyncio.create_task(self._run(job), name=f"job-{job.id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self, grace: float) -> None:
        """Stop taking work, let running jobs finish within ``grace`` seconds, cancel the rest."""
        self.accepting = False
        if not self._tasks:
            return
        _, pending = await asyncio.wait(set(self._tasks), timeout=grace)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    async def _run(self, job: Job) -> None:
        logger.info(
            "job %s accepted user=%s source=%s options=%s",
            job.id,
            job.user,
            job.source,
            job.options.describe(),
        )
        logger.debug("job %s prompt=%r", job.id, job.prompt)
        progress = _Progress()
        try:
            place = await self._writer.open(job, messages.status_text(job, "queued", 0))
        except DeliveryError:
            logger.exception(
                "job %s: could not post its status; the requester was not told", job.id
            )
            return
        ticker = asyncio.create_task(self._keep_status_fresh(job, place, progress))
        try:
            await self._generate_and_deliver(job, place, progress)
        except asyncio.CancelledError:
            await asyncio.shield(self._tell_failure(job, place, messages.SHUTDOWN_TEXT))
            raise
        except Exception:  # the boundary: every failure reaches the requester
            logger.exception("job %s failed unexpectedly", job.id)
            await self._tell_failure(job, place, messages.UNEXPECTED_TEXT)
        finally:
            ticker.cancel()

    async def _generate_and_deliver(self, job: Job, place: Place, progress: _Progress) -> None:
        options = job.options
        request = ImageRequest(job.prompt, options.aspect_ratio, options.size)
        results = await asyncio.gather(
            *(
                self._generator.generate(request, on_attempt=progress.attempt)
                for _ in range(options.count)
            ),
            return_exceptions=True,
        )
        generations = [r for r in results if isinstance(r, Generation)]
        failures = [r for r in results if isinstance(r, GenerationError)]
        for result in results:
            if isinstance(result, BaseException) and not isinstance(result, GenerationError):
                raise result
        for failure in failures:
            logger.warning("job %s: generation failed: %s logid=%s", job.id, failure, failure.logid)
        if not generations:
            progress.state = "failed"
            await self._tell_failure(job, place, messages.failure_text(failures[0]))
            return
        comment = messages.result_comment(
            user=job.user,
            prompt=job.prompt,
            options=options,
            elapsed=progress.elapsed,
            generations=generations,
            failures=failures,
        )
        images = [image for generation in generations for image in generation.images]
        try:
            await self._writer.deliver(job, place, images, comment)
        except DeliveryError as exc:
            logger.exception("job %s: upload failed", job.id)
            await self._tell_failure(job, place, messages.upload_failed_text(exc))
            return
        progress.state = "done"
        logger.info(
            "job %s delivered images=%d elapsed=%.1fs logids=%s",
            job.id,
            len(images),
            progress.elapsed,
            ",".join(g.logid for g in generations),
        )

    async def _tell_failure(self, job: Job, place: Place, text: str) -> None:
        try:
            await self._writer.fail(job, place, messages.status_text(job, "failed", 0, text))
        except DeliveryError:
            logger.exception("job %s: could not tell the requester about a failure", job.id)

    async def _keep_status_fresh(self, job: Job, place: Place, progress: _Progress) -> None:
        while True:
            text = messages.status_text(
                job, progress.state, progress.elapsed, attempts=progress.attempts
            )
            await self._writer.show(place, text)
            await asyncio.sleep(self._tick)
