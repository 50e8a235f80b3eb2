"""How a job ended, as data: the publisher turns each into words."""

from __future__ import annotations

from dataclasses import dataclass

from bot.generation import Declined, GenerationError
from bot.jobs.job import StatusRef


@dataclass(frozen=True)
class Made:
    """One generation that gave images: its logid, and what the model said (untrusted)."""

    logid: str
    text: str = ""


@dataclass(frozen=True)
class Delivered:
    """Images made and posted; ``failures`` are the images of the job that were not."""

    images: int
    elapsed: float
    made: tuple[Made, ...]
    failures: tuple[GenerationError, ...] = ()
    version: int | None = None  # the result's number in its thread
    input_names: tuple[str, ...] = ()  # the images it was edited from
    origin: StatusRef | None = None  # the job it re-rolls or edits, when known


class Unexpected(Exception):
    """A bug on the bot's side (logged where it happened)."""


class UploadRefused(Exception):
    """The images were made but could not be posted; ``code`` is the platform's."""

    def __init__(self, code: str = "") -> None:
        super().__init__(code or "upload refused")
        self.code = code


class Undelivered(UploadRefused):
    """The images were made but never reached the requester: refused, or the platform
    stayed away for the whole delivery window (``waited``)."""

    def __init__(self, code: str = "", *, waited: bool = False) -> None:
        super().__init__(code)
        self.waited = waited


class InputUnreadable(Exception):
    """An image to edit could not be fetched or read; ``code`` says why, briefly."""

    def __init__(self, code: str = "") -> None:
        super().__init__(code or "input unreadable")
        self.code = code


JobError = GenerationError | InputUnreadable | UploadRefused | Unexpected


@dataclass(frozen=True)
class Failed:
    error: JobError

    @property
    def declined(self) -> bool:
        """The model said no: worth rephrasing rather than retrying."""
        return isinstance(self.error, Declined)


@dataclass(frozen=True)
class Cancelled:
    """The requester cancelled it before it started."""


@dataclass(frozen=True)
class Paused:
    """The bot is stopping; the job stays journaled and resumes on start."""


@dataclass(frozen=True)
class Interrupted:
    """A restart caught the job and it will not resume (too old, or mid-upload)."""

    age: float
    during_upload: bool = False


Outcome = Delivered | Failed | Cancelled | Paused | Interrupted


@dataclass(frozen=True)
class NotStarted:
    """The job's status line could not be posted: nothing is delivered or charged, and
    the requester hears it by what is left (not an outcome a status line shows)."""


__all__ = [
    "Cancelled",
    "Delivered",
    "Failed",
    "InputUnreadable",
    "Interrupted",
    "JobError",
    "Made",
    "NotStarted",
    "Outcome",
    "Paused",
    "Undelivered",
    "Unexpected",
    "UploadRefused",
]
