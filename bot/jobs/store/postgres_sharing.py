"""What replicas on one PostgreSQL journal share besides its rows: leases on jobs,
one queue, one pacer, and the notifications that wake them.

Leases are timed by the server's clock (``DB_NOW``): a replica whose clock is
off by minutes neither steals live work nor keeps dead work. A takeover locks
the rows it takes with ``FOR UPDATE SKIP LOCKED``, so replicas looking at once
split the work instead of waiting on each other or both taking a job. A
replica's queued units and gateway calls are leased with its jobs: renewed in
the same round trip, let go together.
"""

from __future__ import annotations

from bot.jobs.entry import Entry, entry_from_row
from bot.jobs.journal import ACTIVE_SQL
from bot.jobs.progress import JobRequest
from bot.jobs.store.postgres_listen import JOBS_CHANNEL, Listener
from bot.jobs.store.postgres_pacer import DB_NOW, SharedPacer
from bot.jobs.store.postgres_queue import SharedFairQueue
from bot.jobs.store.postgres_tx import Pool

RENEW = (
    f"UPDATE jobs SET lease_until = {DB_NOW} + %(lease)s"
    f" WHERE leased_by = %(owner)s AND state IN {ACTIVE_SQL}"
)
RENEW_CALLS = (
    f"UPDATE gateway_calls SET lease_until = {DB_NOW} + %(lease)s WHERE replica = %(owner)s"
)
RENEW_UNITS = (
    f"UPDATE queued_units SET lease_until = {DB_NOW} + %(lease)s WHERE replica = %(owner)s"
)
TAKE_OVER = (
    f"UPDATE jobs SET leased_by = %(owner)s, lease_until = {DB_NOW} + %(lease)s"
    " WHERE id IN (SELECT id FROM jobs"
    f"  WHERE state IN {ACTIVE_SQL} AND leased_by IS DISTINCT FROM %(owner)s"
    f"  AND (leased_by IS NULL OR lease_until IS NULL OR lease_until < {DB_NOW})"
    "  FOR UPDATE SKIP LOCKED)"
    " RETURNING *"
)


class PostgresSharing:
    """Mixed into :class:`~bot.jobs.store.postgres.PostgresJournal`."""

    _pool: Pool
    _listener: Listener
    owner: str
    lease_seconds: float

    def shared_pacer(self, concurrency: int, min_interval: float) -> SharedPacer:
        return SharedPacer(
            self._pool,
            self._listener,
            owner=self.owner,
            lease_seconds=self.lease_seconds,
            concurrency=concurrency,
            min_interval=min_interval,
        )

    def shared_queue(self, concurrency: int, min_interval: float) -> SharedFairQueue[JobRequest]:
        return SharedFairQueue(
            self._pool,
            self._listener,
            owner=self.owner,
            lease_seconds=self.lease_seconds,
            concurrency=concurrency,
            min_interval=min_interval,
        )

    async def wait_for_released(self, within: float) -> None:
        await self._listener.wait(self._listener.changed(JOBS_CHANNEL), within)

    async def _probe(self) -> None:
        # A write that matches no row: refused on a standby or a read-only database.
        async with self._pool.connection() as conn:
            await conn.execute("UPDATE gateway_pacer SET last_start = last_start WHERE false")

    async def renew_leases(self) -> None:
        held = {"owner": self.owner, "lease": self.lease_seconds}
        async with self._pool.connection() as conn, conn.pipeline():
            await conn.execute(RENEW, held)
            await conn.execute(RENEW_CALLS, held)
            await conn.execute(RENEW_UNITS, held)

    async def release_leases(self) -> None:
        async with self._pool.connection() as conn, conn.pipeline():
            await conn.execute(
                "UPDATE jobs SET leased_by = NULL, lease_until = NULL WHERE leased_by = %s",
                [self.owner],
            )
            await conn.execute("DELETE FROM gateway_calls WHERE replica = %s", [self.owner])
            await conn.execute("DELETE FROM queued_units WHERE replica = %s", [self.owner])
        await self._notify_released()

    async def _notify_released(self) -> None:
        async with self._pool.connection() as conn:
            await conn.execute(f"NOTIFY {JOBS_CHANNEL}")

    async def take_over(self) -> list[Entry]:
        async with self._pool.connection() as conn:
            cursor = await conn.execute(
                TAKE_OVER, {"owner": self.owner, "lease": self.lease_seconds}
            )
            rows = await cursor.fetchall()
        rows.sort(key=lambda row: (row["created_at"], row["seq"]))
        return [entry_from_row(row) for row in rows]
