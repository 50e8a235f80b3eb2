"""A job: one accepted request, everything needed to run and answer it."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Literal

from bot.options import ImageOptions

# "assistant": a message in Slack's AI-app panel; its status is the thread's own
# (a live line the person sees while the bot works), not a status message.
Source = Literal["command", "mention", "dm", "assistant"]
# queued → running → spooled → uploading → delivered; or failed / cancelled / interrupted.
# spooled: made and on disk, not yet shown (safe to upload again); uploading: being
# shared right now, so maybe shown (never shared again). Plain TEXT in the journal.
State = Literal[
    "queued", "running", "spooled", "uploading", "delivered", "failed", "cancelled", "interrupted"
]
ACTIVE_STATES: tuple[State, ...] = ("queued", "running", "spooled", "uploading")


@dataclass(frozen=True)
class StatusRef:
    """Where a job's status lives, as its publisher named it.

    Opaque to the job core: it only keeps it (in the journal, to come back to
    after a restart, or to link a re-roll to) and hands it back.
    """

    conversation: str
    message: str
    thread: str | None  # None: the result goes top level


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
    created_at: float = field(default_factory=time.time)
    inputs: tuple[str, ...] = ()  # url_private of images to edit (attachments, earlier versions)
    parent: str | None = None  # the job this one re-rolls or edits
