"""The SQLite journal: the embedded default, for exactly one process.

SQLite runs on one thread of its own (WAL mode), so the event loop never
blocks on it; each operation is one hop to that thread, so an admission under
a burst costs a fraction of a ms. That single thread is also what makes
admission, dedupe and version numbering atomic — which holds only while one
process uses the file, so the process takes an exclusive lock on a sidecar
``<file>.lock`` for its whole life and a second one stops at start.
"""

from __future__ import annotations

import asyncio
import fcntl
import functools
import os
import sqlite3
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from bot.jobs.job import Job
from bot.jobs.journal import (
    ACTIVE_SQL,
    Admission,
    Decision,
    Entry,
    Journal,
    StoreError,
    Usage,
    admitted_values,
    distinct_keys,
    entry_from_row,
    judge,
)
from bot.jobs.limits import Limits, day_start, month_start
from bot.jobs.store import sqlite_schema

T = TypeVar("T")
SET_LANGUAGE = (
    "INSERT INTO user_preferences (user_id, language, updated_at) VALUES (?, ?, ?)"
    " ON CONFLICT (user_id) DO UPDATE SET"
    " language = excluded.language, updated_at = excluded.updated_at"
)


class SqliteJournal(Journal):
    """Every method runs its SQL on the journal's own thread, one hop per call."""

    JOB_BY_ID = "SELECT * FROM jobs WHERE id = ?"
    HISTORY = (
        "SELECT * FROM jobs WHERE user_id = ? AND state = 'delivered' AND NOT deleted"
        " ORDER BY created_at DESC, rowid DESC LIMIT ?"
    )
    THREAD_VERSIONS = (
        "SELECT * FROM jobs WHERE status_channel = ? AND result_thread = ?"
        " AND state = 'delivered' AND NOT deleted AND version IS NOT NULL ORDER BY version"
    )
    UNFINISHED = f"SELECT * FROM jobs WHERE state IN {ACTIVE_SQL} ORDER BY created_at, rowid"

    def __init__(self, db: sqlite3.Connection, executor: ThreadPoolExecutor, lock: int) -> None:
        self._db = db
        self._executor = executor
        self._lock = lock

    @classmethod
    async def connect(cls, path: Path) -> SqliteJournal:
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="journal")
        loop = asyncio.get_running_loop()
        try:
            lock = await loop.run_in_executor(executor, _lock, path)
            try:
                db = await loop.run_in_executor(executor, _connect, path)
            except BaseException:
                os.close(lock)
                raise
        except BaseException:
            executor.shutdown(wait=False)
            raise
        return cls(db, executor, lock)

    async def close(self) -> None:
        await self._run(self._db.close)
        self._executor.shutdown(wait=True)
        os.close(self._lock)  # releases the lock: the next process may start

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(fn, *args))

    async def remember(self, keys: Iterable[str]) -> bool:
        return await self._run(self._remember_now, distinct_keys(keys))

    def _remember_now(self, keys: list[str]) -> bool:
        with self._db:
            return self._remember(keys)

    def _remember(self, keys: list[str]) -> bool:
        if not keys:
            return True
        marks = ",".join("?" * len(keys))
        seen = self._db.execute(
            f"SELECT 1 FROM deliveries WHERE key IN ({marks}) LIMIT 1", keys
        ).fetchone()
        if seen:
            return False
        now = time.time()
        self._db.executemany(
            "INSERT INTO deliveries (key, seen_at) VALUES (?, ?)", [(k, now) for k in keys]
        )
        return True

    async def admit(self, job: Job, keys: Iterable[str], limits: Limits) -> Decision:
        return await self._run(self._admit, job, distinct_keys(keys), limits)

    def _admit(self, job: Job, keys: list[str], limits: Limits) -> Decision:
        with self._db:
            if not self._remember(keys):
                return Decision(Admission.DUPLICATE)
            if limits.is_admin(job.user):
                decision = judge(job, limits)
            else:
                active = self._scalar(
                    f"SELECT COUNT(*) FROM jobs WHERE user_id = ? AND state IN {ACTIVE_SQL}",
                    job.user,
                )
                decision = judge(job, limits, active, self._images_counted(job.user, job))
            if decision.admission is Admission.ACCEPTED:
                values = admitted_values(job)
                self._db.execute(
                    f"INSERT INTO jobs ({', '.join(values)})"
                    f" VALUES ({', '.join(':' + name for name in values)})",
                    values,
                )
            return decision

    def _images_counted(self, user: str, job: Job) -> int:
        delivered = self._scalar(
            "SELECT COALESCE(SUM(images), 0) FROM jobs "
            "WHERE user_id = ? AND state = 'delivered' AND finished_at >= ?",
            user,
            day_start(job.created_at),
        )
        reserved = self._scalar(
            f"SELECT COALESCE(SUM(count), 0) FROM jobs WHERE user_id = ? AND state IN {ACTIVE_SQL}",
            user,
        )
        return delivered + reserved

    async def _set_columns(self, job_id: str, fields: dict[str, Any]) -> None:
        columns = ", ".join(f"{name} = ?" for name in fields)
        await self._run(
            self._write, f"UPDATE jobs SET {columns} WHERE id = ?", [*fields.values(), job_id]
        )

    def _write(self, sql: str, args: list[Any]) -> None:
        with self._db:
            self._db.execute(sql, args)

    async def start_upload(
        self, job_id: str, channel: str, thread_ts: str | None, logids: list[str]
    ) -> int | None:
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
            f"SELECT COUNT(*) FROM jobs WHERE user_id = ? AND state IN {ACTIVE_SQL}", user
        )
        return Usage(int(row[0]), float(row[1]), float(row[2]), active)

    async def prune_deliveries(self, older_than_seconds: float = 7 * 86400) -> None:
        await self._run(
            self._write,
            "DELETE FROM deliveries WHERE seen_at < ?",
            [time.time() - older_than_seconds],
        )

    async def language(self, user: str) -> str | None:
        rows = await self._run(
            self._rows, "SELECT language FROM user_preferences WHERE user_id = ?", (user,)
        )
        return str(rows[0]["language"]) if rows and rows[0]["language"] else None

    async def set_language(self, user: str, language: str | None) -> None:
        await self._run(self._write, SET_LANGUAGE, [user, language, time.time()])

    async def _entries(self, sql: str, *args: object) -> list[Entry]:
        rows = await self._run(self._rows, sql, args)
        return [entry_from_row(row) for row in rows]

    def _rows(self, sql: str, args: tuple[object, ...]) -> list[sqlite3.Row]:
        return self._db.execute(sql, args).fetchall()

    def _scalar(self, sql: str, *args: object) -> int:
        row = self._db.execute(sql, args).fetchone()
        return int(row[0]) if row and row[0] is not None else 0


def _lock(path: Path) -> int:
    """Hold ``<path>.lock`` exclusively for this process's life (the kernel lets go
    when it dies, even by ``kill -9``); the file names the holder's pid.

    Raises:
        StoreError: another process holds it.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    lock_path = path.with_name(path.name + ".lock")
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
        os.close(fd)
        raise StoreError(
            f"another banana-bot process (pid {holder}) is using the SQLite journal "
            f"BANANA_DB={path}, and a SQLite journal serves one process only; stop that "
            "process, or set BANANA_DB=postgresql://… to share one database"
        ) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd


def _connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, check_same_thread=False)
    try:
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        sqlite_schema.migrate(db, f"BANANA_DB={path}")
    except sqlite3.DatabaseError as exc:
        db.close()
        raise StoreError(f"BANANA_DB={path} is not a usable SQLite journal: {exc}") from exc
    except BaseException:
        db.close()
        raise
    return db
