"""The SQLite journal: the embedded default, for exactly one process.

SQLite runs on one thread of its own (WAL mode), so the event loop never
blocks on it; each operation is one hop to that thread, so an admission under
a burst costs a fraction of a ms. That single thread is also what makes
admission, dedupe and version numbering atomic — which holds only while one
process uses the file, so the process takes an exclusive lock on a sidecar
``<file>.lock`` for its whole life and a second one stops at start
(``sqlite_file.py``). What it counts: ``sqlite_accounting.py``.

Leases are kept as in PostgreSQL, but are trivial here: holding the file lock,
this process knows any other holder is dead, so it takes over every
unfinished job another process leased, whatever its time.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bot.jobs.admission import Admission, Decision, admitted_values, distinct_keys, judge
from bot.jobs.entry import Entry, entry_from_row
from bot.jobs.job import Job
from bot.jobs.journal import ACTIVE_SQL, Journal
from bot.jobs.leases import LeaseLost
from bot.jobs.limits import Limits, day_start
from bot.jobs.store.sqlite_accounting import SqliteAccounting
from bot.jobs.store.sqlite_file import open_connection, take_lock

SET_LANGUAGE = (
    "INSERT INTO user_preferences (user_id, language, updated_at) VALUES (?, ?, ?)"
    " ON CONFLICT (user_id) DO UPDATE SET"
    " language = excluded.language, updated_at = excluded.updated_at"
)


class SqliteJournal(SqliteAccounting, Journal):
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
            lock = await loop.run_in_executor(executor, take_lock, path)
            try:
                db = await loop.run_in_executor(executor, open_connection, path)
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


def _age_order(entry: Entry) -> float:
    return entry.job.created_at
