"""The SQLite journal: the embedded default, for exactly one process.

SQLite runs on one thread of its own (WAL mode), so the event loop never
blocks on it; each operation is one hop to that thread, so an admission under
a burst costs a fraction of a ms. That single thread is also what makes
admission, dedupe and version numbering atomic — which holds only while one
process uses the file, so the process takes an exclusive lock on a sidecar
``<file>.lock`` for its whole life and a second one stops at start.

Leases are kept as in PostgreSQL, but are trivial here: holding the file lock,
this process knows any other holder is dead, so it takes over every
unfinished job another process leased, whatever its time.
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

from bot.jobs.accounting import ADD_UP, JOB_COUNTS, Forgotten
from bot.jobs.job import Job
from bot.jobs.journal import (
    ACTIVE_SQL,
    Admission,
    Decision,
    Entry,
    Journal,
    JournalUnwritable,
    StoreError,
    Usage,
    admitted_values,
    distinct_keys,
    entry_from_row,
    judge,
)
from bot.jobs.leases import LeaseLost
from bot.jobs.limits import Limits, day_start, month_start
from bot.jobs.retention import Cutoffs
from bot.jobs.store import sqlite_schema

T = TypeVar("T")
# SQLite's codes for "this write cannot happen here now": the request fails, not the bot.
UNWRITABLE = ("SQLITE_FULL", "SQLITE_READONLY", "SQLITE_IOERR", "SQLITE_CANTOPEN")

# Finished jobs matching ``{where}`` added to their day's aggregates (then deleted).
FOLD = (
    "INSERT INTO daily_usage (day, user_id, channel, size, images, cost, requests, declined,"
    " failed) SELECT CAST(COALESCE(finished_at, updated_at) / 86400 AS INTEGER) * 86400.0,"
    f" user_id, channel, size, {JOB_COUNTS} FROM jobs"
    f" WHERE state NOT IN {ACTIVE_SQL} AND {{where}} GROUP BY 1, 2, 3, 4"
    f" ON CONFLICT (day, user_id, channel, size) DO UPDATE SET {ADD_UP}"
)
FOLDED = f"DELETE FROM jobs WHERE state NOT IN {ACTIVE_SQL} AND {{where}}"
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
    MARK = "?"

    def __init__(
        self,
        db: sqlite3.Connection,
        executor: ThreadPoolExecutor,
        lock: int,
        path: Path,
        lease_seconds: float,
    ) -> None:
        super().__init__(lease_seconds)
        self._path = path
        self._db = db
        self._executor = executor
        self._lock = lock
        self._waiting_admissions: list[tuple[Job, list[str], Limits, asyncio.Future[Decision]]] = []
        self._admitter: asyncio.Task[None] | None = None

    @classmethod
    async def connect(cls, path: Path, lease_seconds: float) -> SqliteJournal:
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
        return cls(db, executor, lock, path, lease_seconds)

    async def close(self) -> None:
        await self._run(self._db.close)
        self._executor.shutdown(wait=True)
        os.close(self._lock)  # releases the lock: the next process may start

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        """Raises:
        JournalUnwritable: the disk is full, or the file or its disk cannot be written.
        """
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, functools.partial(fn, *args))
        except sqlite3.OperationalError as exc:
            raise self._unwritable_or(exc) from exc

    def _unwritable_or(self, exc: Exception) -> Exception:
        """``exc``, or JournalUnwritable when it says the file cannot be written."""
        name = getattr(exc, "sqlite_errorname", "") or ""
        if isinstance(exc, sqlite3.OperationalError) and name.startswith(UNWRITABLE):
            unwritable = JournalUnwritable(str(unusable(self._path, exc)))
            unwritable.__cause__ = exc
            return unwritable
        return exc

    async def _probe(self) -> None:
        await self._run(self._take_write_lock)

    def _take_write_lock(self) -> None:
        with self._db:  # BEGIN IMMEDIATE takes the write lock: the file is writable
            self._db.execute("BEGIN IMMEDIATE")

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
        """Admissions that arrive while others are being written wait and go together
        in one transaction (a group commit): one hop and one commit for a burst, and
        each decision still returns only once its job is on disk."""
        decided: asyncio.Future[Decision] = asyncio.get_running_loop().create_future()
        self._waiting_admissions.append((job, distinct_keys(keys), limits, decided))
        if self._admitter is None:
            self._admitter = asyncio.create_task(self._admit_waiting(), name="admissions")
        return await decided

    async def _admit_waiting(self) -> None:
        try:
            while self._waiting_admissions:
                group, self._waiting_admissions = self._waiting_admissions, []
                try:
                    outcomes = await self._run(self._admit_group, [item[:3] for item in group])
                except Exception as exc:  # the commit failed: none of them is admitted
                    outcomes = [exc] * len(group)
                for (*_, decided), outcome in zip(group, outcomes, strict=True):
                    if decided.done():
                        continue
                    if isinstance(outcome, Exception):
                        decided.set_exception(self._unwritable_or(outcome))
                    else:
                        decided.set_result(outcome)
        finally:
            self._admitter = None

    def _admit_group(
        self, group: list[tuple[Job, list[str], Limits]]
    ) -> list[Decision | Exception]:
        outcomes: list[Decision | Exception] = []
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            for job, keys, limits in group:
                self._db.execute("SAVEPOINT admission")  # one failing leaves the rest
                try:
                    outcomes.append(self._admit(job, keys, limits))
                except sqlite3.Error as exc:
                    self._db.execute("ROLLBACK TO admission")
                    outcomes.append(exc)
                self._db.execute("RELEASE admission")
        return outcomes

    def _admit(self, job: Job, keys: list[str], limits: Limits) -> Decision:
        """One admission, inside the group's transaction."""
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
            values.update(leased_by=self.owner, lease_until=time.time() + self.lease_seconds)
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
        ) + self._scalar(
            "SELECT COALESCE(SUM(images), 0) FROM daily_usage WHERE user_id = ? AND day >= ?",
            user,
            day_start(job.created_at),
        )
        reserved = self._scalar(
            f"SELECT COALESCE(SUM(count), 0) FROM jobs WHERE user_id = ? AND state IN {ACTIVE_SQL}",
            user,
        )
        return delivered + reserved

    async def _set_columns(self, job_id: str, fields: dict[str, Any]) -> bool:
        columns = ", ".join(f"{name} = ?" for name in fields)
        written = await self._run(
            self._write,
            f"UPDATE jobs SET {columns} WHERE id = ? AND (leased_by IS NULL OR leased_by = ?)",
            [*fields.values(), job_id, self.owner],
        )
        return written > 0

    async def renew_leases(self) -> None:
        await self._run(
            self._write,
            f"UPDATE jobs SET lease_until = ? WHERE leased_by = ? AND state IN {ACTIVE_SQL}",
            [time.time() + self.lease_seconds, self.owner],
        )

    async def release_leases(self) -> None:
        await self._run(
            self._write,
            "UPDATE jobs SET leased_by = NULL, lease_until = NULL WHERE leased_by = ?",
            [self.owner],
        )

    async def take_over(self) -> list[Entry]:
        rows = await self._run(self._take_over)
        return sorted((entry_from_row(row) for row in rows), key=_age_order)

    def _take_over(self) -> list[sqlite3.Row]:
        with self._db:
            return self._db.execute(
                "UPDATE jobs SET leased_by = ?, lease_until = ?"
                f" WHERE state IN {ACTIVE_SQL} AND leased_by IS NOT ?"
                " RETURNING *",
                (self.owner, time.time() + self.lease_seconds, self.owner),
            ).fetchall()

    def _write(self, sql: str, args: list[Any]) -> int:
        """Rows changed."""
        with self._db:
            return self._db.execute(sql, args).rowcount

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
                    " AND result_thread = ? AND state IN ('delivered', 'spooled', 'uploading')",
                    channel,
                    thread_ts,
                )
                version = latest + 1
            claimed = self._db.execute(
                "UPDATE jobs SET state = 'spooled', version = ?, logids = ?, updated_at = ?"
                " WHERE id = ? AND leased_by = ?",
                (version, logids, time.time(), job_id, self.owner),
            )
            if claimed.rowcount == 0:
                raise LeaseLost(job_id)
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
        folded = self._db.execute(
            "SELECT"
            " COALESCE(SUM(CASE WHEN day >= ? THEN images END), 0),"
            " COALESCE(SUM(CASE WHEN day >= ? THEN cost END), 0),"
            " COALESCE(SUM(cost), 0)"
            " FROM daily_usage WHERE user_id = ? AND day >= ?",
            (today, today, user, month),
        ).fetchone()
        active = self._scalar(
            f"SELECT COUNT(*) FROM jobs WHERE user_id = ? AND state IN {ACTIVE_SQL}", user
        )
        return Usage(
            int(row[0] + folded[0]),
            float(row[1] + folded[1]),
            float(row[2] + folded[2]),
            active,
        )

    async def _prune(self, cutoffs: Cutoffs) -> int:
        return await self._run(self._prune_now, cutoffs)

    def _prune_now(self, cutoffs: Cutoffs) -> int:
        older = "COALESCE(finished_at, updated_at) < ?"
        with self._db:
            pruned = self._fold(older, cutoffs.jobs)
            self._db.execute("DELETE FROM deliveries WHERE seen_at < ?", (cutoffs.deliveries,))
            self._db.execute("DELETE FROM daily_usage WHERE day < ?", (cutoffs.aggregates,))
            self._db.execute("DELETE FROM notices WHERE sent_at < ?", (cutoffs.notices,))
        return pruned

    def _fold(self, where: str, *args: object) -> int:
        """Count the finished jobs matching ``where`` in the aggregates, then delete them
        (inside the caller's transaction)."""
        self._db.execute(FOLD.format(where=where), args)
        return self._db.execute(FOLDED.format(where=where), args).rowcount

    async def forget(self, user: str) -> Forgotten:
        return await self._run(self._forget, user)

    def _forget(self, user: str) -> Forgotten:
        with self._db:
            erased = self._fold("user_id = ?", user)
            running = self._scalar(
                f"SELECT COUNT(*) FROM jobs WHERE user_id = ? AND state IN {ACTIVE_SQL}", user
            )
        return Forgotten(erased, running)

    async def claim_notice(self, key: str) -> bool:
        return await self._run(self._claim_notice, key)

    def _claim_notice(self, key: str) -> bool:
        with self._db:
            claimed = self._db.execute(
                "INSERT INTO notices (key, sent_at) VALUES (?, ?) ON CONFLICT DO NOTHING",
                (key, time.time()),
            )
        return claimed.rowcount == 1

    async def release_notice(self, key: str) -> None:
        await self._run(self._write, "DELETE FROM notices WHERE key = ?", [key])

    async def _read(self, sql: str, *args: object) -> list[sqlite3.Row]:
        return await self._run(self._rows, sql, args)

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


def _age_order(entry: Entry) -> float:
    return entry.job.created_at


def _lock(path: Path) -> int:
    """Hold ``<path>.lock`` exclusively for this process's life (the kernel lets go
    when it dies, even by ``kill -9``); the file names the holder's pid.

    Raises:
        StoreError: another process holds it.
    """
    lock_path = path.with_name(path.name + ".lock")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise StoreError(
            f"BANANA_DB={path}: cannot create or write its folder {path.parent} "
            f"({exc.strerror or exc}); the journal needs a writable folder: create it or "
            "fix its permissions (a read-only mount?), or point BANANA_DB elsewhere"
        ) from exc
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
        raise unusable(path, exc) from exc
    except BaseException:
        db.close()
        raise
    return db


# What to do about a SQLite error, by its code: the line an operator reads.
_ADVICE = {
    "SQLITE_NOTADB": "is not a SQLite database; move it away, or point BANANA_DB to a new file",
    "SQLITE_CORRUPT": "is damaged; restore it from a backup, or point BANANA_DB to a new file",
    "SQLITE_READONLY": (
        "cannot be written (a read-only file or mount); make it writable for this user, "
        "or point BANANA_DB elsewhere"
    ),
    "SQLITE_FULL": "cannot grow: its disk is full; free space there",
    "SQLITE_CANTOPEN": "cannot be opened; check the path and its permissions",
    "SQLITE_IOERR": "cannot be read or written (a disk error); check the disk",
}


def unusable(path: Path, exc: sqlite3.Error) -> StoreError:
    """One line naming BANANA_DB, what is wrong and what to do; SQLite's words in brackets."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    advice = next((text for code, text in _ADVICE.items() if name.startswith(code)), None)
    if advice is None:
        advice = "is not a usable SQLite journal"
    return StoreError(f"BANANA_DB={path} {advice} ({exc})")
