"""The words a job's end is said in: why it failed, how it stopped, and the
comment its images are shared with."""

from __future__ import annotations

from collections.abc import Callable

from bot.generation import GenerationError
from bot.jobs.job import Job
from bot.jobs.outcomes import (
    Cancelled,
    Delivered,
    InputUnreadable,
    Interrupted,
    JobError,
    Paused,
    Undelivered,
    UploadRefused,
)
from bot.slack import mrkdwn
from bot.slack.downloads import NOT_ON_SLACK, TOO_LARGE
from bot.text import count, say

# A message's link, from its conversation, ts and thread (None when unknown).
Permalink = Callable[[str | None, str | None, str | None], str | None]


def reason_text(error: JobError, *, max_input_bytes: int = 0) -> str:
    """Why a job failed, for its status line."""
    if isinstance(error, GenerationError):
        return mrkdwn.failure_text(error)
    if isinstance(error, InputUnreadable):
        if error.code == NOT_ON_SLACK:
            return say("failure.input_external")
        if error.code == TOO_LARGE:
            return say("failure.input_too_large", limit=mrkdwn.byte_size(max_input_bytes))
        return say("failure.input", detail=mrkdwn.escape(error.code))
    if isinstance(error, Undelivered) and error.waited:
        return say("failure.undelivered")
    if isinstance(error, UploadRefused):
        return say("failure.upload", detail=mrkdwn.escape(error.code))
    return say("unexpected")


def outcome_text(job: Job, outcome: Interrupted | Cancelled | Paused) -> str:
    request = mrkdwn.request_line(job)
    if isinstance(outcome, Cancelled):
        return say("status.cancelled", request=request)
    if isinstance(outcome, Paused):
        return say("status.paused", request=request)
    retry = mrkdwn.retry_command(job)
    if outcome.during_upload:
        return say("status.interrupted_upload", request=request, retry=retry)
    seconds = max(1, round(outcome.age))
    ago = count("ago.seconds", seconds) if seconds < 60 else count("ago.minutes", seconds // 60)
    return say("status.interrupted", ago=ago, request=request, retry=retry)


def result_comment(job: Job, delivery: Delivered, permalink: Permalink) -> str:
    """What is said with a result's images: who asked, what, how long it took, what
    failed of it, and where it came from (``permalink`` links the origin)."""
    comment = mrkdwn.result_comment(
        user=job.user,
        prompt=job.prompt,
        options=job.options,
        elapsed=delivery.elapsed,
        generations=delivery.made,
        failures=delivery.failures,
    )
    if delivery.input_names:
        comment = f"{mrkdwn.inputs_note(delivery.input_names)}\n{comment}"
    if job.parent:  # a re-roll or variation links back to what it came from
        origin = delivery.origin
        url = None
        if origin is not None:
            url = permalink(origin.conversation, origin.message, origin.thread)
        comment = f"{mrkdwn.origin_note(url)}\n{comment}"
    if delivery.version:
        comment = say("result.version", version=delivery.version, comment=comment)
    return comment
