"""The job journal: every accepted request, in SQLite, before it is acknowledged.

Keys every delivery Slack makes (``event_id``, ``trigger_id``, channel+ts) so
one request never costs two generations, even across a restart; records each
job's state, attempts, logids, images and estimated cost; answers the
questions limits and ``/banana usage`` ask. SQLite runs on one thread of its
own (WAL mode), so the event loop never blocks on it; each operation is one
hop to that thread, so an admission under a burst costs a fraction of a ms.

Guarantees (see README): generation is at-least-once per job (a crash while
generating regenerates on restart), delivery is at-most-once (a job caught
mid-upload is never uploaded again; its requester is told instead).
"""

from __future__ import annotations

import asyncio
import enum
import functools
import sqlite3
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from bot.generation.model import estimated_cost
from bot.jobs.job import ACTIVE_STATES, Job, State
from bot.jobs.limits import Limits, day_start, month_start
from bot.options import ImageOptions

T = TypeVar("T")

SCHEMA = """
CREATE TABLE IF NOT EXISTS deliveries (
    key TEXT PRIMARY KEY,
    seen_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    delivery_key TEXT NOT NULL,
    state TEXT NOT NULL,
    source TEXT NOT NULL,
    user_id TEXT NOT NULL,
    channel TEXT NOT NULL,
    reply_thread TEXT,
    request_ts TEXT,
    response_url TEXT,
    prompt TEXT NOT NULL,
    aspect_ratio TEXT NOT NULL,
    size TEXT NOT NULL,
    count INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    logids TEXT NOT NULL DEFAULT '',
    images INTEGER NOT NULL DEFAULT 0,
    cost REAL NOT NULL DEFAULT 0,
    status_channel TEXT,
    status_ts TEXT,
    result_thread TEXT,
    error TEXT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    finished_at REAL
);
CREATE INDEX IF NOT EXISTS jobs_by_user ON jobs (user_id, state, finished_at);
CREATE INDEX IF NOT EXISTS jobs_by_state ON jobs (state);
"""
# Columns added after the first release; added to older journals on open.
LATER_COLUMNS = {
    "inputs": "TEXT NOT NULL DEFAULT ''",
    "parent_id": "TEXT",
    "file_ids": "TEXT NOT NULL DEFAULT ''",
    "file_urls": "TEXT NOT NULL DEFAULT ''",
    "version": "INTEGER",
    "deleted": "INTEGER NOT NULL DEFAULT 0",
}
_ACTIVE = "(" + ", ".join(f"'{s}'" for s in ACTIVE_STATES) + ")"


class Admission(enum.Enum):
    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    TOO_MANY_QUEUED = "too_many_queued"
    OVER_QUOTA = "over_quota"


@dataclass(frozen=True)
class Decision:
    admission: Admission
    used_today: int = 0  # images counted today, this request included once accepted
    exempt: bool = False  # an admin: no quota


@dataclass(frozen=True)
class Usage:
    images_today: int
    cost_today: float
    cost_month: float
    active: int


@dataclass(frozen=True)
class Entry:
    """A job read back from the journal, with where its status line lives."""

    job: Job
    state: State
    status_channel: str | None
    status_ts: str | None
    result_thread: str | None
    file_ids: tuple[str, ...] = ()
    file_urls: tuple[str, ...] = ()
    version: int | None = None
    deleted: bool = False
    finished_at: float | None = None


class Journal:
    """Every method runs its SQL on the journal's own thread, one hop per call."""

    def __init__(self, db: sqlite3.Connection, executor: ThreadPoolExecutor) -> None:
        self._db = db
        self._executor = executor

    @classmethod
    async def open(cls, path: Path) -> Journal:
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="journal")
        db = await asyncio.get_running_loop().run_in_executor(executor, _connect, path)
        return cls(db, executor)

    async def close(self) -> None:
        await self._run(self._db.close)
        self._executor.shutdown(wait=True)

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(fn, *args))

    async def remember(self, keys: Iterable[str]) -> bool:
        """Record delivery keys; False if any was seen before (a duplicate)."""
        return await self._run(self._remember_now, list(keys))

    def _remember_now(self, keys: list[str]) -> bool:
        with self._db:
            return self._remember(keys)

    def _remember(self, keys: Iterable[str]) -> bool:
        present = [k for k in keys if k]
        if not present:
            return True
        marks = ",".join("?" * len(present))
        seen = self._db.execute(
            f"SELECT 1 FROM deliveries WHERE key IN ({marks}) LIMIT 1", present
        ).fetchone()
        if seen:
            return False
        now = time.time()
        self._db.executemany(
            "INSERT OR IGNORE INTO deliveries (key, seen_at) VALUES (?, ?)",
            [(k, now) for k in present],
        )
        return True

    async def admit(self, job: Job, keys: Iterable[str], limits: Limits) -> Decision:
        """Check the delivery ``keys`` (already-remembered ones may be left out) and the
        limits and, if all pass, write the job as queued.

        One transaction on the journal's single thread, so concurrent requests
        cannot both squeeze under a limit.
        """
        return await self._run(self._admit, job, list(keys), limits)

    def _admit(self, job: Job, keys: list[str], limits: Limits) -> Decision:
        with self._db:
            if not self._remember(keys):
                return Decision(Admission.DUPLICATE)
            used, exempt = 0, limits.is_admin(job.user)
            if not exempt:
                active = self._scalar(
                    f"SELECT COUNT(*) FROM jobs WHERE user_id = ? AND state IN {_ACTIVE}",
                    job.user,
                )
                if active >= limits.max_queued_per_user:
                    return Decision(Admission.TOO_MANY_QUEUED)
                used = self._images_counted(job.user, job.created_at)
                if used + job.options.count > limits.daily_quota:
                    return Decision(Admission.OVER_QUOTA, used_today=used)
            self._insert(job)
            return Decision(Admission.ACCEPTED, used + job.options.count, exempt)

    def _images_counted(self, user: str, now: float) -> int:
        """Delivered today plus what active jobs may still deliver (refusals never count)."""
        delivered = self._scalar(
            "SELECT COALESCE(SUM(images), 0) FROM jobs "
            "WHERE user_id = ? AND state = 'delivered' AND finished_at >= ?",
            user,
            day_start(now),
        )
        reserved = self._scalar(
            f"SELECT COALESCE(SUM(count), 0) FROM jobs WHERE user_id = ? AND state IN {_ACTIVE}",
            user,
        )
        return delivered + reserved

    def _insert(self, job: Job) -> None:
        options = job.options
        self._db.execute(
            "INSERT INTO jobs (id, delivery_key, state, source, user_id, channel, reply_thread,"
            " request_ts, response_url, prompt, aspect_ratio, size, count, created_at, updated_at,"
            " inputs, parent_id)"
            " VALUES (?, ?, 'queued', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                job.id,
                job.key,
                job.source,
                job.user,
                job.channel,
                job.reply_thread,
                job.request_ts,
                job.response_url,
                job.prompt,
                options.aspect_ratio,
                options.size,
                options.count,
                job.created_at,
                time.time(),
                " ".join(job.inputs),
                job.parent,
            ),
        )

    async def update(self, job_id: str, state: State | None = None, **fields: Any) -> None:
        """Set a job's state and/or columns; a final state also stamps ``finished_at``."""
        if state is not None:
            fields["state"] = state
            if state not in ACTIVE_STATES:
                fields["finished_at"] = time.time()
        fields["updated_at"] = time.time()
        columns = ", ".join(f"{name} = ?" for name in fields)
        await self._run(
            self._write, f"UPDATE jobs SET {columns} WHERE id = ?", [*fields.values(), job_id]
        )

    def _write(self, sql: str, args: list[Any]) -> None:
        with self._db:
            self._db.execute(sql, args)

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

    async def start_upload(
        self, job_id: str, channel: str, thread_ts: str | None, logids: list[str]
    ) -> int | None:
        """Mark a job as uploading and, in a thread, give it the next number (v1, v2, …).

        Reading the highest number and claiming the next happen in one
        transaction, so two edits finishing together never share a number.
        """
        return await self._run(self._start_upload, job_id, channel, thread_ts, " ".join(logids))

    def _start_upload(
        self, job_id: str, channel: str, thread_ts: str | None, logids: str
    ) -> int | None:
        with self._db:
            version = None
            if thread_ts:
                latest = self._scalar(
                    "SELECT COALESCE(MAX(version), 0) FROM jobs WHERE status_channel = ?"
                    " AND result_thread = ? AND state IN ('delivered', 'uploading')",
                    channel,
                    thread_ts,
                )
                version = latest + 1
            self._db.execute(
                "UPDATE jobs SET state = 'uploading', version = ?, logids = ?, updated_at = ?"
                " WHERE id = ?",
                (version, logids, time.time(), job_id),
            )
        return version

    async def mark_deleted(self, job_id: str) -> None:
        await self.update(job_id, deleted=1)

    async def get(self, job_id: str) -> Entry | None:
        rows = await self._run(self._rows, "SELECT * FROM jobs WHERE id = ?", (job_id,))
        return _entry(rows[0]) if rows else None

    async def history(self, user: str, limit: int = 10) -> list[Entry]:
        """The user's latest delivered generations, newest request first.

        Ordered by when they were asked for, not when they finished: two
        requests running side by side finish in either order.
        """
        rows = await self._run(
            self._rows,
            "SELECT * FROM jobs WHERE user_id = ? AND state = 'delivered' AND deleted = 0"
            " ORDER BY created_at DESC, rowid DESC LIMIT ?",
            (user, limit),
        )
        return [_entry(row) for row in rows]

    async def thread_versions(self, channel: str, thread_ts: str) -> list[Entry]:
        """Delivered images in a thread, oldest first: v1, v2, …"""
        rows = await self._run(
            self._rows,
            "SELECT * FROM jobs WHERE status_channel = ? AND result_thread = ?"
            " AND state = 'delivered' AND deleted = 0 AND version IS NOT NULL ORDER BY version",
            (channel, thread_ts),
        )
        return [_entry(row) for row in rows]

    async def unfinished(self) -> list[Entry]:
        """Jobs a previous run left queued, running or uploading, oldest first."""
        rows = await self._run(
            self._rows, f"SELECT * FROM jobs WHERE state IN {_ACTIVE} ORDER BY created_at", ()
        )
        return [_entry(row) for row in rows]

    async def usage(self, user: str, now: float | None = None) -> Usage:
        return await self._run(self._usage, user, time.time() if now is None else now)

    def _usage(self, user: str, now: float) -> Usage:
        today, month = day_start(now), month_start(now)
        row = self._db.execute(
            "SELECT"
            " COALESCE(SUM(CASE WHEN finished_at >= ? THEN images END), 0),"
            " COALESCE(SUM(CASE WHEN finished_at >= ? THEN cost END), 0),"
            " COALESCE(SUM(cost), 0)"
            " FROM jobs WHERE user_id = ? AND state = 'delivered' AND finished_at >= ?",
            (today, today, user, month),
        ).fetchone()
        active = self._scalar(
            f"SELECT COUNT(*) FROM jobs WHERE user_id = ? AND state IN {_ACTIVE}", user
        )
        return Usage(int(row[0]), float(row[1]), float(row[2]), active)

    async def prune_deliveries(self, older_than_seconds: float = 7 * 86400) -> None:
        await self._run(
            self._write,
            "DELETE FROM deliveries WHERE seen_at < ?",
            [time.time() - older_than_seconds],
        )

    def _rows(self, sql: str, args: tuple[Any, ...]) -> list[sqlite3.Row]:
        return self._db.execute(sql, args).fetchall()

    def _scalar(self, sql: str, *args: object) -> int:
        row = self._db.execute(sql, args).fetchone()
        return int(row[0]) if row and row[0] is not None else 0


def _connect(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, check_same_thread=False)
    db.row_factory = sqlite3.Row
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.executescript(SCHEMA)
    present = {row[1] for row in db.execute("PRAGMA table_info(jobs)")}
    for column, kind in LATER_COLUMNS.items():
        if column not in present:
            db.execute(f"ALTER TABLE jobs ADD COLUMN {column} {kind}")
    db.commit()
    return db


def _entry(row: sqlite3.Row) -> Entry:
    job = Job(
        key=row["delivery_key"],
        user=row["user_id"],
        channel=row["channel"],
        prompt=row["prompt"],
        options=ImageOptions(row["aspect_ratio"], row["size"], row["count"]),
        source=row["source"],
        reply_thread=row["reply_thread"],
        request_ts=row["request_ts"],
        response_url=row["response_url"],
        id=row["id"],
        created_at=row["created_at"],
        inputs=tuple(row["inputs"].split()),
        parent=row["parent_id"],
    )
    return Entry(
        job,
        row["state"],
        row["status_channel"],
        row["status_ts"],
        row["result_thread"],
        file_ids=tuple(row["file_ids"].split()),
        file_urls=tuple(row["file_urls"].split()),
        version=row["version"],
        deleted=bool(row["deleted"]),
        finished_at=row["finished_at"],
    )
