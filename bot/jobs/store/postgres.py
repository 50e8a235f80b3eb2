"""The PostgreSQL journal: one database that replicas share.

Everything SQLite got from its single thread, this gets from the server:

- a delivery key is claimed by ``INSERT … ON CONFLICT DO NOTHING`` inside the
  admission transaction, so of two replicas given one Slack retry, one wins;
- one user's admissions are serialized by a transaction-scoped advisory lock
  on a hash of the user id, so the per-user cap and the daily quota hold
  against requests arriving at different replicas at once;
- a thread's next version number is read and claimed under an advisory lock
  on the thread, in one statement.

Statements are pipelined, BEGIN and COMMIT included, so a transaction costs
one round trip per point where Python must read a result before going on:
an admission two (lock, key claim and counts; then the insert and COMMIT), a
version claim one.

Leases, the shared queue and pacer: ``postgres_sharing.py``; what it counts:
``postgres_accounting.py``.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable
from typing import Any

import psycopg
from psycopg import AsyncConnection
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.rows import DictRow, dict_row
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from bot.jobs.admission import Admission, Decision, admitted_values, distinct_keys, judge
from bot.jobs.entry import Entry, entry_from_row
from bot.jobs.job import Job
from bot.jobs.journal import ACTIVE_SQL, Journal, StoreError
from bot.jobs.leases import LeaseLost
from bot.jobs.limits import Limits, day_start
from bot.jobs.store import postgres_schema
from bot.jobs.store.postgres_accounting import PostgresAccounting
from bot.jobs.store.postgres_listen import GATEWAY_CHANNEL, JOBS_CHANNEL, Listener
from bot.jobs.store.postgres_pacer import DB_NOW
from bot.jobs.store.postgres_sharing import PostgresSharing
from bot.jobs.store.postgres_tx import Pool, transaction
from bot.setting_values import PostgresURL

# The runner's workers and the listeners each hold a connection only for one
# short transaction, so a few serve a burst; more would only crowd the server.
POOL_SIZE = 8
CONNECT_TIMEOUT = 10

CLAIM_KEYS = (
    "INSERT INTO deliveries (key, seen_at) SELECT unnest(%s::text[]), %s"
    " ON CONFLICT DO NOTHING RETURNING key"
)
# What counts against the cap and the quota: active jobs, and today's deliveries.
COUNT_USER = (
    f"SELECT count(*) FILTER (WHERE state IN {ACTIVE_SQL}) AS active,"
    f" COALESCE(sum(count) FILTER (WHERE state IN {ACTIVE_SQL}), 0)"
    "  + COALESCE(sum(images) FILTER (WHERE state = 'delivered'), 0)"
    "  + (SELECT COALESCE(sum(images), 0) FROM daily_usage"
    "     WHERE user_id = %(user)s AND day >= %(today)s)::bigint AS used"
    " FROM jobs WHERE user_id = %(user)s"
    f" AND (state IN {ACTIVE_SQL} OR (state = 'delivered' AND finished_at >= %(today)s))"
)
START_UPLOAD = (
    "UPDATE jobs SET state = 'spooled', logids = %(logids)s, updated_at = %(now)s,"
    " version = CASE WHEN %(thread)s::text IS NULL THEN NULL ELSE ("
    "  SELECT COALESCE(MAX(version), 0) + 1 FROM jobs WHERE status_channel = %(channel)s"
    "  AND result_thread = %(thread)s AND state IN ('delivered', 'spooled', 'uploading')) END"
    " WHERE id = %(id)s AND leased_by = %(owner)s RETURNING version"
)


class PostgresJournal(PostgresSharing, PostgresAccounting, Journal):
    """Each operation borrows a pooled connection for one short transaction."""

    SHARED = True

    JOB_BY_ID = "SELECT * FROM jobs WHERE id = %s"
    HISTORY = (
        "SELECT * FROM jobs WHERE user_id = %s AND state = 'delivered' AND NOT deleted"
        " ORDER BY created_at DESC, seq DESC LIMIT %s"
    )
    THREAD_VERSIONS = (
        "SELECT * FROM jobs WHERE status_channel = %s AND result_thread = %s"
        " AND state = 'delivered' AND NOT deleted AND version IS NOT NULL ORDER BY version"
    )
    UNFINISHED = f"SELECT * FROM jobs WHERE state IN {ACTIVE_SQL} ORDER BY created_at, seq"

    def __init__(self, pool: Pool, listener: Listener, lease_seconds: float) -> None:
        super().__init__(lease_seconds)
        self._pool = pool
        self._listener = listener

    @classmethod
    async def connect(cls, target: PostgresURL, lease_seconds: float) -> PostgresJournal:
        shown = f"BANANA_DB={target.redacted}"
        try:
            given = conninfo_to_dict(target.url)
        except psycopg.ProgrammingError as exc:
            raise StoreError(f"{shown} is not a valid PostgreSQL URL: {_first_line(exc)}") from exc
        conninfo = (
            target.url
            if "connect_timeout" in given
            else make_conninfo(target.url, connect_timeout=CONNECT_TIMEOUT)
        )
        try:
            async with await AsyncConnection.connect(conninfo, autocommit=True) as conn:
                await postgres_schema.migrate(conn, shown)
        except psycopg.OperationalError as exc:
            raise StoreError(
                f"cannot reach the PostgreSQL database at {shown} ({_first_line(exc)}); "
                "check the URL, its password, and that the server is up"
            ) from exc
        except psycopg.Error as exc:
            raise StoreError(
                f"could not prepare the journal's tables at {shown} ({_first_line(exc)}); "
                "the user needs the right to create tables in that database"
            ) from exc
        pool: Pool = AsyncConnectionPool(
            conninfo,
            min_size=1,
            max_size=POOL_SIZE,
            open=False,
            name="journal",
            connection_class=AsyncConnection[DictRow],
            kwargs={"autocommit": True, "row_factory": dict_row},
        )
        try:
            await pool.open(wait=True, timeout=CONNECT_TIMEOUT)
        except PoolTimeout as exc:
            await pool.close()
            raise StoreError(f"cannot open connections to {shown}") from exc
        listener = Listener(conninfo, (GATEWAY_CHANNEL, JOBS_CHANNEL))
        listener.start()
        return cls(pool, listener, lease_seconds)

    async def close(self) -> None:
        await self._listener.close()
        await self._pool.close()

    async def remember(self, keys: Iterable[str]) -> bool:
        present = distinct_keys(keys)
        if not present:
            return True
        async with transaction(self._pool) as tx:
            claimed = await tx.conn.execute(CLAIM_KEYS, [present, time.time()])
            tx.commit = len(await claimed.fetchall()) == len(present)
        return tx.commit  # a duplicate records none of its keys

    async def admit(self, job: Job, keys: Iterable[str], limits: Limits) -> Decision:
        present = distinct_keys(keys)
        counted = not limits.is_admin(job.user)
        async with transaction(self._pool) as tx:
            conn = tx.conn
            if counted:  # one user's admissions, on any replica, one at a time
                await conn.execute("SELECT pg_advisory_xact_lock(%s)", [lock_key("user", job.user)])
            claim = await conn.execute(CLAIM_KEYS, [present, time.time()]) if present else None
            counts = (
                await conn.execute(
                    COUNT_USER, {"user": job.user, "today": day_start(job.created_at)}
                )
                if counted
                else None
            )
            if claim is not None and len(await claim.fetchall()) < len(present):
                tx.commit = False  # a duplicate records none of its keys
                return Decision(Admission.DUPLICATE)
            row = await counts.fetchone() if counts is not None else None
            decision = judge(job, limits, row["active"], row["used"]) if row else judge(job, limits)
            if decision.admission is Admission.ACCEPTED:
                values = admitted_values(job)
                await conn.execute(
                    _insert_sql(values),
                    {**values, "leased_by": self.owner, "lease": self.lease_seconds},
                )
        return decision

    async def _set_columns(self, job_id: str, fields: dict[str, Any]) -> bool:
        columns = ", ".join(f"{name} = %({name})s" for name in fields)
        async with self._pool.connection() as conn:
            cursor = await conn.execute(
                f"UPDATE jobs SET {columns} WHERE id = %(_id)s"
                " AND (leased_by IS NULL OR leased_by = %(_owner)s)",
                {**fields, "_id": job_id, "_owner": self.owner},
            )
        return cursor.rowcount > 0

    async def release(self, job_id: str) -> None:
        await super().release(job_id)
        await self._notify_released()

    async def start_upload(
        self, job_id: str, channel: str, thread_ts: str | None, logids: list[str]
    ) -> int | None:
        thread = thread_ts or None
        async with transaction(self._pool) as tx:
            if thread is not None:  # one thread's numbering, on any replica, one at a time
                await tx.conn.execute(
                    "SELECT pg_advisory_xact_lock(%s)", [lock_key("thread", channel, thread)]
                )
            updated = await tx.conn.execute(
                START_UPLOAD,
                {
                    "id": job_id,
                    "channel": channel,
                    "thread": thread,
                    "logids": " ".join(logids),
                    "now": time.time(),
                    "owner": self.owner,
                },
            )
        row = await updated.fetchone()  # read after COMMIT: the whole claim is one round trip
        if row is None:
            raise LeaseLost(job_id)
        version: int | None = row["version"]
        return version

    async def language(self, user: str) -> str | None:
        async with self._pool.connection() as conn:
            cursor = await conn.execute(
                "SELECT language FROM user_preferences WHERE user_id = %s", [user]
            )
            row = await cursor.fetchone()
        return str(row["language"]) if row and row["language"] else None

    async def set_language(self, user: str, language: str | None) -> None:
        async with self._pool.connection() as conn:
            await conn.execute(
                "INSERT INTO user_preferences (user_id, language, updated_at)"
                " VALUES (%s, %s, %s) ON CONFLICT (user_id) DO UPDATE SET"
                " language = excluded.language, updated_at = excluded.updated_at",
                [user, language, time.time()],
            )

    async def _entries(self, sql: str, *args: object) -> list[Entry]:
        async with self._pool.connection() as conn:
            cursor = await conn.execute(sql, args)
            rows = await cursor.fetchall()
        return [entry_from_row(row) for row in rows]


def lock_key(*parts: str) -> int:
    """A stable signed 64-bit key for ``pg_advisory_xact_lock`` (Python's ``hash``
    differs between processes; replicas must agree)."""
    digest = hashlib.blake2b("\x1f".join(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _insert_sql(values: dict[str, Any]) -> str:
    """The admitted job's row, leased to the admitting replica (``leased_by``, ``lease``)."""
    names = ", ".join(values)
    marks = ", ".join(f"%({name})s" for name in values)
    return (
        f"INSERT INTO jobs ({names}, leased_by, lease_until)"
        f" VALUES ({marks}, %(leased_by)s, {DB_NOW} + %(lease)s)"
    )


def _first_line(exc: BaseException) -> str:
    """The library's message, first line only: it names the host, never the password."""
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
