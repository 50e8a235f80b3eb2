"""What the job core needs from the place people asked in, and nothing more.

The core speaks in intents — open a status, show progress, deliver images,
say how it ended, fetch the images to edit — and in data: the status it shows
is a :class:`StatusView`, the end a :class:`~bot.jobs.outcomes.Outcome`. The
Slack layer implements :class:`Publisher` and decides every word and block.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from bot.generation import GeneratedImage
from bot.jobs.job import Job, State, StatusRef
from bot.jobs.outcomes import Delivered, Outcome


@dataclass(frozen=True)
class StatusView:
    """What a status line shows while the job moves."""

    state: State
    elapsed: float = 0.0
    attempts: int = 0  # gateway calls so far, retries included
    ahead: int | None = None  # images before this job's first, while queued


@dataclass(frozen=True)
class InputFile:
    """An image to edit, as the requester shared it."""

    name: str
    data: bytes


class PublishError(Exception):
    """The place would not take what the job had to say.

    ``code`` is the platform's short error code (``not_in_channel``…); it, not a
    library's own text, is what a requester may be shown.
    """

    def __init__(self, message: str, *, code: str = "", retry_after: float | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.retry_after = retry_after  # the platform's Retry-After, when it gave one


# Codes that say "not now" rather than "no": the platform is down, busy or out of
# reach, and the same call may well succeed later.
TRANSIENT_CODES = frozenset(
    {
        "ratelimited",
        "unreachable",
        "internal_error",
        "fatal_error",
        "service_unavailable",
        "request_timeout",
    }
)


def transient(code: str) -> bool:
    """True for a failure worth retrying: a server error, a rate limit, no connection."""
    return code in TRANSIENT_CODES or code.startswith("http_5") or code == "http_429"


@dataclass(frozen=True)
class UploadedFile:
    """An image the platform holds but has not shown anywhere yet."""

    id: str
    title: str


class Publisher(Protocol):
    async def open_status(
        self, job: Job, view: StatusView, existing: StatusRef | None = None
    ) -> StatusRef:
        """Post the job's status, or show ``view`` on the ``existing`` one (a resumed job).

        Raises:
            PublishError: there is nowhere to post it.
        """

    async def show_status(self, job: Job, ref: StatusRef, view: StatusView) -> None:
        """Show progress (ticks may be skipped; a failure is only logged)."""

    async def upload(self, job: Job, images: Sequence[GeneratedImage]) -> list[UploadedFile]:
        """Send the images' bytes, not yet shown to anyone: harmless to repeat.

        ``ref`` None: the status line is not up yet; post where the job was asked.

        Raises:
            PublishError: the platform would not take them (see :func:`transient`).
        """

    async def share(
        self,
        job: Job,
        ref: StatusRef | None,
        files: Sequence[UploadedFile],
        delivery: Delivered,
    ) -> list[str]:
        """Show uploaded images with what ``delivery`` says of them; returns their file ids.

        ``ref`` None: the status line is not up yet (a busy channel); show them where
        the job was asked.

        Once this has been called the images may be shown, even if it raised:
        the job core marks the job before, and never shares it twice.

        Raises:
            PublishError: the images could not be shown.
        """

    async def finish(self, job: Job, ref: StatusRef | None, outcome: Outcome) -> None:
        """Say how the job ended (on its status when ``ref`` is known).

        Raises:
            PublishError: it could not be said anywhere.
        """

    async def not_started(self, job: Job) -> None:
        """The status could not be opened: tell the requester by what is left."""

    async def fetch_input(self, job: Job, file_id: str) -> InputFile:
        """An image to edit.

        Raises:
            InputUnreadable: it could not be fetched.
        """
