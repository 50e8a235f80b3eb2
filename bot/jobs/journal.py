"""The job journal: every accepted request, stored before it is acknowledged.

Keys every delivery Slack makes (``event_id``, ``trigger_id``, channel+ts) so
one request never costs two generations, even across a restart; records each
job's state, attempts, logids, images and estimated cost; answers the
questions limits and ``/banana usage`` ask.

Two stores implement it (``BANANA_DB``): SQLite, the embedded default, for one
process (``bot/jobs/store/sqlite.py``), and PostgreSQL, which replicas share
(``bot/jobs/store/postgres.py``). Each keeps admission, dedupe and version
numbering atomic in its own way; the policy lives once: which columns may
change here, what refuses a request in ``bot/jobs/admission.py``, how a row
reads back in ``bot/jobs/entry.py``.

Guarantees (see README): generation is at-least-once per job (a crash while
generating regenerates on restart); a generated job is ``spooled`` and delivered
from the spool, across restarts (``bot/jobs/delivery.py``); sharing is
at-most-once (a job caught mid-share is never shared again; its requester is
told instead).

Leases, and what processes sharing a journal share: ``bot/jobs/leases.py``.
"""

from __future__ import annotations

import abc
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any, ClassVar

from bot.generation.model import estimated_cost
from bot.jobs.accounting import Accounting
from bot.jobs.admission import Decision
from bot.jobs.entry import Entry
from bot.jobs.job import ACTIVE_STATES, Job, State
from bot.jobs.leases import DEFAULT_LEASE_SECONDS, LeaseHolder, LeaseLost
from bot.jobs.limits import Limits
from bot.setting_values import PostgresURL

# What ``update`` may set: names are put into SQL, so only these pass.
UPDATABLE_COLUMNS = frozenset(
    {
        "state",
        "attempts",
        "logids",
        "images",
        "cost",
        "status_channel",
        "status_ts",
        "result_thread",
        "error",
        "file_ids",
        "version",
        "deleted",
        "aspect_ratio",  # an edit settles its shape once its image is read
        "size",
        "updated_at",
        "finished_at",
        "leased_by",
        "lease_until",
    }
)

ACTIVE_SQL = "(" + ", ".join(f"'{s}'" for s in ACTIVE_STATES) + ")"


class StoreError(Exception):
    """The journal's database cannot be used; the message names ``BANANA_DB``, says
    why and what to do, and carries no password."""


class JournalUnwritable(StoreError):
    """A write failed while running (the disk is full, the file became read-only):
    the request that needed it fails; the process stays up."""


class Journal(Accounting, LeaseHolder):
    """The store interface. ``Journal.open`` picks the implementation; what it counts
    for operators, and how it forgets, is :class:`Accounting`; its leases, and what
    processes sharing it share, :class:`LeaseHolder`."""

    # The reads, in each store's SQL (its placeholders, its insertion-order tie-breaker).
    JOB_BY_ID: ClassVar[str]
    HISTORY: ClassVar[str]  # (user, limit)
    THREAD_VERSIONS: ClassVar[str]  # (channel, thread_ts)
    UNFINISHED: ClassVar[str]

    @classmethod
    async def open(
        cls, target: Path | PostgresURL, *, lease_seconds: float = DEFAULT_LEASE_SECONDS
    ) -> Journal:
        """Open (creating or upgrading) the journal at ``target``; this process's
        leases last ``lease_seconds`` unless renewed.

        Raises:
            StoreError: the database is locked by another process, unreachable,
                or newer than this code; the message says what to do.
        """
        # Each store is imported only when chosen (psycopg costs 0.2 s to import), and
        # so only once both modules have loaded: the stores import this one. This is
        # the one exception pyproject.toml's import contract names.
        if isinstance(target, PostgresURL):
            from bot.jobs.store.postgres import PostgresJournal

            return await PostgresJournal.connect(target, lease_seconds)
        from bot.jobs.store.sqlite import SqliteJournal

        return await SqliteJournal.connect(target, lease_seconds)

    @abc.abstractmethod
    async def close(self) -> None: ...

    @abc.abstractmethod
    async def remember(self, keys: Iterable[str]) -> bool:
        """Record delivery keys; False if any was seen before (a duplicate, and then
        none is recorded)."""

    @abc.abstractmethod
    async def admit(self, job: Job, keys: Iterable[str], limits: Limits) -> Decision:
        """Check the delivery ``keys`` (already-remembered ones may be left out) and the
        limits and, if all pass, write the job as queued.

        Atomic: concurrent requests cannot both squeeze under a limit, nor both
        claim one key. A refused request's keys stay remembered, so a retry of
        it is a duplicate rather than a second refusal.
        """

    async def update(self, job_id: str, state: State | None = None, **fields: Any) -> None:
        """Set a job's state and/or columns; a final state also stamps ``finished_at``
        and ends the lease. A job another process took over is left alone."""
        await self._update(job_id, state, **fields)

    async def mark_sharing(self, job_id: str) -> None:
        """Mark a made job ``uploading`` right before it is shared: from here it may be
        shown, so it is never shared again.

        Raises:
            LeaseLost: another process holds the job now: it shares it, not this one.
        """
        if not await self._update(job_id, "uploading"):
            raise LeaseLost(job_id)

    async def _update(self, job_id: str, state: State | None = None, **fields: Any) -> bool:
        """``update``; False when no row was written (not this process's job)."""
        if state is not None:
            fields["state"] = state
            if state not in ACTIVE_STATES:
                fields["finished_at"] = time.time()
                fields["leased_by"] = fields["lease_until"] = None
        fields["updated_at"] = time.time()
        unknown = set(fields) - UPDATABLE_COLUMNS
        if unknown:
            raise ValueError(f"not a journal column: {', '.join(sorted(unknown))}")
        return await self._set_columns(job_id, fields)

    @abc.abstractmethod
    async def _set_columns(self, job_id: str, fields: dict[str, Any]) -> bool:
        """Write checked column values to one job, unless another process leases it;
        whether a row was written."""

    async def release(self, job_id: str) -> None:
        """Put a job this process will not finish back in the queue, for any process."""
        await self.update(job_id, "queued", leased_by=None, lease_until=None)

    async def finish_delivered(
        self,
        job_id: str,
        *,
        images: int,
        size: str,
        attempts: int,
        logids: list[str],
        file_ids: list[str],
    ) -> None:
        await self.update(
            job_id,
            "delivered",
            images=images,
            cost=estimated_cost(size, images),
            attempts=attempts,
            logids=" ".join(logids),
            file_ids=" ".join(file_ids),
        )

    @abc.abstractmethod
    async def start_upload(
        self, job_id: str, channel: str, thread_ts: str | None, logids: list[str]
    ) -> int | None:
        """Mark a job as spooled (made, to be delivered) and, in a thread, give it the
        next number (v1, v2, …).

        Reading the highest number and claiming the next are atomic, so two
        edits finishing together never share a number.

        Raises:
            LeaseLost: this process no longer holds the job: it must not upload.
        """

    async def mark_deleted(self, job_id: str) -> None:
        await self.update(job_id, deleted=True)

    async def get(self, job_id: str) -> Entry | None:
        entries = await self._entries(self.JOB_BY_ID, job_id)
        return entries[0] if entries else None

    async def history(self, user: str, limit: int = 10) -> list[Entry]:
        """The user's latest delivered generations, newest request first.

        Ordered by when they were asked for, not when they finished: two
        requests running side by side finish in either order.
        """
        return await self._entries(self.HISTORY, user, limit)

    async def thread_versions(self, channel: str, thread_ts: str) -> list[Entry]:
        """Delivered images in a thread, oldest first: v1, v2, …"""
        return await self._entries(self.THREAD_VERSIONS, channel, thread_ts)

    async def unfinished(self) -> list[Entry]:
        """Jobs a previous run left queued, running or uploading, oldest first."""
        return await self._entries(self.UNFINISHED)

    @abc.abstractmethod
    async def _entries(self, sql: str, *args: object) -> list[Entry]:
        """Run one of the reads above and read its rows back as entries."""

    # ---- what each person chose --------------------------------------------------------
    @abc.abstractmethod
    async def language(self, user: str) -> str | None:
        """The language ``user`` chose to be answered in; None: follow their Slack."""

    @abc.abstractmethod
    async def set_language(self, user: str, language: str | None) -> None:
        """Keep ``user``'s chosen language (None: follow their Slack again)."""

    async def languages(self, most: int) -> dict[str, str] | None:
        """Everyone's chosen language (user → language), in one read; None when more
        than ``most`` people chose one."""
        rows = await self._read(
            "SELECT user_id, language FROM user_preferences WHERE language IS NOT NULL"
            f" LIMIT {self.MARK}",
            most + 1,
        )
        if len(rows) > most:
            return None
        return {str(row["user_id"]): str(row["language"]) for row in rows}
