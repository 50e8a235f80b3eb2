"""Test doubles for the job core's ports: they implement the real protocols and
record what they are asked, so the core's logic is tested in milliseconds."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.generation import GeneratedImage
from bot.jobs import InputFile, Job, PublishError, StatusRef
from bot.jobs.outcomes import Delivered, InputUnreadable, Outcome
from bot.jobs.publisher import StatusView, UploadedFile
from bot.options import ImageOptions


def journal_job(user: str = "U1", count: int = 1, key: str = "", size: str = "1K") -> Job:
    """A command's job as the journal sees it, keyed by its own trigger id unless given one."""
    made = Job(
        key=key,
        user=user,
        channel="C1",
        prompt="a cat",
        options=ImageOptions("1:1", size, count),
        source="command",
    )
    return made if key else Job(**{**made.__dict__, "key": f"trigger:{made.id}"})


@dataclass
class RecordingPublisher:
    """Implements the Publisher protocol; records every call, fails on request."""

    statuses: list[tuple[str, StatusView]] = field(default_factory=list)
    delivered: list[tuple[str, int, Delivered]] = field(default_factory=list)
    outcomes: list[tuple[str, StatusRef | None, Outcome]] = field(default_factory=list)
    not_started_jobs: list[str] = field(default_factory=list)
    delivered_to: list[StatusRef | None] = field(default_factory=list)
    inputs: dict[str, InputFile] = field(default_factory=dict)
    refuse_status: bool = False
    status_delay: float = 0.0  # Slack taking its time (a busy channel's posting limit)
    refuse_upload: str = ""
    uploaded: dict[str, int] = field(default_factory=dict)  # job → images, not yet shared
    upload_outage: list[str] = field(default_factory=list)  # codes the next uploads fail with

    async def open_status(
        self, job: Job, view: StatusView, existing: StatusRef | None = None
    ) -> StatusRef:
        await asyncio.sleep(self.status_delay)
        if self.refuse_status:
            raise PublishError("no", code="fatal_error")
        self.statuses.append((job.id, view))
        return existing or StatusRef("C1", f"ts-{job.id}", None)

    async def show_status(self, job: Job, ref: StatusRef, view: StatusView) -> None:
        self.statuses.append((job.id, view))

    async def upload(self, job: Job, images: Sequence[GeneratedImage]) -> list[UploadedFile]:
        if self.refuse_upload:
            raise PublishError("no", code=self.refuse_upload)
        if self.upload_outage:
            raise PublishError("not now", code=self.upload_outage.pop(0), retry_after=0.01)
        self.uploaded[job.id] = len(images)
        return [UploadedFile(f"F{job.id}-{n}", job.prompt) for n in range(len(images))]

    async def share(
        self,
        job: Job,
        ref: StatusRef | None,
        files: Sequence[UploadedFile],
        delivery: Delivered,
    ) -> list[str]:
        self.delivered.append((job.id, self.uploaded.pop(job.id), delivery))
        self.delivered_to.append(ref)
        return [f.id for f in files]

    async def finish(self, job: Job, ref: StatusRef | None, outcome: Outcome) -> None:
        self.outcomes.append((job.id, ref, outcome))

    async def not_started(self, job: Job) -> None:
        self.not_started_jobs.append(job.id)

    async def fetch_input(self, job: Job, file_id: str) -> InputFile:
        if file_id not in self.inputs:
            raise InputUnreadable("file_not_found")
        return self.inputs[file_id]
