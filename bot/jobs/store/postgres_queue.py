"""One fair queue for all replicas: the images waiting for the gateway, in the shared
database (``queued_units``).

Each replica keeps its own units' futures and payloads in memory and their
places in the line in the table, leased like its jobs (a dead replica's rows
lapse with it; whoever takes its jobs over queues them again). A worker takes
the next unit in one short transaction under the pacer's row lock
(``postgres_pacer``): the unit whose user was served longest ago
(``gateway_turns``), the first queued among one user's — round-robin between
users across replicas — and only once its call may start: while fewer than
``concurrency`` gateway calls are lined up or running, ``min_interval`` after
the last call started. When the next unit belongs to another replica,
this one waits for a ``NOTIFY`` (a unit taken, a call ended) or a short poll.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Collection, Iterable
from typing import Generic, TypeVar

import psycopg
from psycopg.rows import DictRow

from bot.jobs.fair_queue import QueueClosed, Unit, fail, round_robin
from bot.jobs.progress import CancelledUnit
from bot.jobs.store.postgres_listen import GATEWAY_CHANNEL, JOBS_CHANNEL, Listener
from bot.jobs.store.postgres_pacer import (
    DB_NOW,
    FORGET_LAPSED,
    LOCK_PACER,
    NOTIFY,
    POLL_SECONDS,
)
from bot.jobs.store.postgres_tx import Pool, transaction

T = TypeVar("T")
logger = logging.getLogger(__name__)

# A unit joins the line only while its job may still run (not cancelled meanwhile).
PUT = (
    "INSERT INTO queued_units (job_id, user_id, replica, lease_until)"
    f" SELECT id, user_id, %(owner)s, {DB_NOW} + %(lease)s FROM jobs"
    " WHERE id = %(job)s AND state IN ('queued', 'running') RETURNING id"
)
FORGET_LAPSED_UNITS = f"DELETE FROM queued_units WHERE lease_until < {DB_NOW}"
WAITING = (
    "queued_units u JOIN jobs j ON j.id = u.job_id AND j.state IN ('queued', 'running')"
    " LEFT JOIN gateway_turns t ON t.user_id = u.user_id"
)
NEXT = (
    f"SELECT {DB_NOW} AS now, busy.n AS busy, next.id, next.replica, next.user_id, next.job_id"
    " FROM (SELECT count(*) AS n FROM gateway_calls) busy LEFT JOIN LATERAL ("
    f"  SELECT u.id, u.replica, u.user_id, u.job_id FROM {WAITING}"
    "  ORDER BY t.served_at NULLS FIRST, u.id LIMIT 1) next ON true"
)
# Taking a job's first unit starts it, in the same transaction a cancel would need.
TAKE = (
    "DELETE FROM queued_units WHERE id = %(id)s",
    "INSERT INTO gateway_turns (user_id, served_at) VALUES (%(user)s, " + DB_NOW + ")"
    " ON CONFLICT (user_id) DO UPDATE SET served_at = excluded.served_at",
    "UPDATE jobs SET state = 'running' WHERE id = %(job)s AND state = 'queued'",
)
LINE = f"SELECT u.job_id, u.user_id, t.served_at FROM {WAITING} ORDER BY u.id"
CANCEL = (
    "UPDATE jobs SET state = 'cancelled', finished_at = %(now)s, updated_at = %(now)s,"
    " leased_by = NULL, lease_until = NULL"
    " WHERE user_id = %(user)s AND state = 'queued' RETURNING id"
)
CANCELLED_HERE = "SELECT id FROM jobs WHERE id = ANY(%(jobs)s) AND state = 'cancelled'"
CANCELLED = f"NOTIFY {JOBS_CHANNEL}"
BUSY = "SELECT count(*) AS n FROM gateway_calls"
WITHDRAW = "DELETE FROM queued_units WHERE id = ANY(%(ids)s)"


class SharedFairQueue(Generic[T]):
    """A :class:`~bot.jobs.fair_queue.UnitQueue` over the journal's database."""

    def __init__(
        self,
        pool: Pool,
        listener: Listener,
        *,
        owner: str,
        lease_seconds: float,
        concurrency: int,
        min_interval: float,
    ) -> None:
        self._pool = pool
        self._listener = listener
        self._owner = owner
        self._lease = lease_seconds
        self._concurrency = concurrency
        self._interval = min_interval
        self._units: dict[int, Unit[T]] = {}  # this replica's, by row
        self._put_here = asyncio.Event()  # wakes this replica's looker (no NOTIFY needed)
        self._looking = asyncio.Lock()
        self._closed = False

    def __len__(self) -> int:
        return len(self._units)

    async def put(self, unit: Unit[T]) -> None:
        if self._closed:
            raise QueueClosed()
        # Only this replica can take its unit, so only it is woken (others' turn to
        # look comes when a unit is taken or a call ends: those notify).
        async with self._pool.connection() as conn:
            cursor = await conn.execute(
                PUT,
                {"job": unit.job_id, "user": unit.user, "owner": self._owner, "lease": self._lease},
            )
            rows = await cursor.fetchall()
        if not rows:  # cancelled from another replica before its first unit was queued
            fail([unit], CancelledUnit)
            return
        self._units[int(rows[0]["id"])] = unit
        self._put_here.set()

    async def get(self) -> Unit[T]:
        """This replica's unit that is next in the shared line; waits for one.

        Raises:
            QueueClosed: the queue was closed.
        """
        # One worker of this replica looks at a time, the others wait behind it: a
        # look takes at most one unit, and each costs the database a transaction.
        async with self._looking:
            while True:
                if self._closed:
                    raise QueueClosed()
                woken, put = self._listener.changed(GATEWAY_CHANNEL), self._put_here
                put.clear()
                if self._units:
                    try:
                        taken, wait = await self._take()
                    except psycopg.Error as exc:  # the database is away: look again soon
                        logger.warning("could not take a unit from the shared queue: %s", exc)
                        taken, wait = None, POLL_SECONDS
                    if taken is not None and taken in self._units:
                        return self._units.pop(taken)
                else:
                    wait = POLL_SECONDS
                await _first_of(woken, put, within=wait)

    async def _take(self) -> tuple[int | None, float]:
        """The unit taken, if this replica's is next and may start now; else how long
        to wait at most before looking again."""
        async with transaction(self._pool) as tx:
            pacer = await tx.conn.execute(LOCK_PACER)
            await tx.conn.execute(FORGET_LAPSED)
            await tx.conn.execute(FORGET_LAPSED_UNITS)
            cursor = await tx.conn.execute(NEXT)
            row, locked = await cursor.fetchone(), await pacer.fetchone()
            assert row is not None  # an aggregate's one row, and the one pacer row
            assert locked is not None
            if row["replica"] != self._owner or row["busy"] >= self._concurrency:
                return None, POLL_SECONDS
            # Taken when its call may start, so that whoever is queued meanwhile gets
            # their turn too (the pacer still paces each call, retries included).
            early = locked["last_start"] + self._interval - row["now"]
            if early > 0:
                return None, min(early, POLL_SECONDS)
            taken = int(row["id"])
            for statement in TAKE:
                await tx.conn.execute(
                    statement, {"id": taken, "user": row["user_id"], "job": row["job_id"]}
                )
            await tx.conn.execute(NOTIFY)
        return taken, 0.0

    async def ahead(self, job_id: str, in_flight_here: int) -> int | None:
        """Images that will start before this job's first one, in every replica's line
        and at the gateway (None: it has none waiting)."""
        async with self._pool.connection() as conn, conn.pipeline():
            line, busy = await conn.execute(LINE), await conn.execute(BUSY)
            rows, (calls,) = await line.fetchall(), await busy.fetchall()
        for index, job in enumerate(_turns(rows)):
            if job == job_id:
                return index + int(calls["n"])
        return None

    async def withdraw(self, job_id: str) -> list[Unit[T]]:
        return await self._withdraw([r for r, unit in self._units.items() if unit.job_id == job_id])

    async def cancel(
        self, user: str, unstarted: Collection[str], error: Callable[[], BaseException]
    ) -> int:
        """Cancel the user's queued jobs on every replica, atomically with the takes:
        a job either started or is cancelled. Their owners hear it at once."""
        async with transaction(self._pool) as tx:
            await tx.conn.execute(LOCK_PACER)
            cancelled = await tx.conn.execute(CANCEL, {"user": user, "now": time.time()})
            await tx.conn.execute(CANCELLED)
        jobs = {row["id"] for row in await cancelled.fetchall()}
        await self._fail_jobs(jobs, error)
        return len(jobs)

    async def forget_cancelled(self, error: Callable[[], BaseException]) -> None:
        here = list({unit.job_id for unit in self._units.values()})
        if not here:
            return
        async with self._pool.connection() as conn:
            cursor = await conn.execute(CANCELLED_HERE, {"jobs": here})
            jobs = {row["id"] for row in await cursor.fetchall()}
        await self._fail_jobs(jobs, error)

    async def _fail_jobs(self, jobs: set[str], error: Callable[[], BaseException]) -> None:
        rows = [row for row, unit in self._units.items() if unit.job_id in jobs]
        fail(await self._withdraw(rows), error)

    async def close(self) -> list[Unit[T]]:
        self._closed = True
        self._put_here.set()
        return await self._withdraw(list(self._units))

    async def _withdraw(self, rows: list[int]) -> list[Unit[T]]:
        """Take these of this replica's units out of the line (cancelled, or stopping)."""
        units = [self._units.pop(row) for row in rows]
        if rows:
            async with self._pool.connection() as conn:
                await conn.execute(WITHDRAW, {"ids": rows})
        return units


def _turns(rows: Iterable[DictRow]) -> list[str]:
    """The jobs of the waiting units in the order they will be taken: users by how
    long ago they were served (never first), then one unit per user per round."""
    lanes: dict[str, list[str]] = {}
    served: dict[str, float] = {}
    for row in rows:  # in queue order: a user's lane keeps its units' order
        lanes.setdefault(row["user_id"], []).append(row["job_id"])
        served[row["user_id"]] = row["served_at"] if row["served_at"] is not None else -1.0
    users = sorted(lanes, key=lambda user: served[user])  # stable: first queued first
    return round_robin([lanes[user] for user in users])


async def _first_of(*events: asyncio.Event, within: float) -> None:
    waiters = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        await asyncio.wait(waiters, timeout=within, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*waiters, return_exceptions=True)
