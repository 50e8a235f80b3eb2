"""One pacer for all replicas: gateway calls claimed in the shared database.

Each call a replica wants to make is a row in ``gateway_calls`` (waiting, then
calling), leased like a job: a dead replica's rows lapse with its lease and
stop counting. A call starts only once one short transaction, holding the
single ``gateway_pacer`` row ``FOR UPDATE`` (so claims on every replica line
up), finds that:

- it is next in line: the waiting call whose user was served longest ago
  (``gateway_turns``), first asked first among one user's calls — round-robin
  between users across replicas;
- fewer than ``concurrency`` calls are live;
- ``min_interval`` has passed since the last start,

all by the database's clock. It then records the start. A replica not yet
allowed waits for a ``NOTIFY`` (a call ended or started elsewhere), the rest
of the interval when only that holds it back, or a short poll as fallback.

Round trips per call: one to ask and try, one more to record the start when
granted at once, one to finish; each wait costs one more try.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

import psycopg
from psycopg import AsyncConnection, AsyncCursor
from psycopg.rows import DictRow

from bot.jobs.store.postgres_listen import GATEWAY_CHANNEL, Listener
from bot.jobs.store.postgres_tx import Pool, transaction

logger = logging.getLogger(__name__)

DB_NOW = "extract(epoch FROM clock_timestamp())::double precision"
POLL_SECONDS = 1.0  # when no notification comes (a lost connection, a dead replica)

ASK = (
    "INSERT INTO gateway_calls (replica, user_id, asked_at, lease_until)"
    f" VALUES (%(owner)s, %(user)s, {DB_NOW}, {DB_NOW} + %(lease)s) RETURNING id"
)
LOCK_PACER = "SELECT last_start FROM gateway_pacer FOR UPDATE"
FORGET_LAPSED = f"DELETE FROM gateway_calls WHERE lease_until < {DB_NOW}"
LOOK = (
    f"SELECT {DB_NOW} AS now,"
    " (SELECT count(*) FROM gateway_calls WHERE calling) AS calling,"
    " (SELECT c.id FROM gateway_calls c LEFT JOIN gateway_turns t USING (user_id)"
    "  WHERE NOT c.calling ORDER BY t.served_at NULLS FIRST, c.id LIMIT 1) AS next"
)
START = (
    f"UPDATE gateway_calls SET calling = true, started_at = {DB_NOW} WHERE id = %(id)s",
    f"UPDATE gateway_pacer SET last_start = {DB_NOW}",
    "INSERT INTO gateway_turns (user_id, served_at)"
    f" SELECT user_id, {DB_NOW} FROM gateway_calls WHERE id = %(id)s"
    " ON CONFLICT (user_id) DO UPDATE SET served_at = excluded.served_at",
)
NOTIFY = f"NOTIFY {GATEWAY_CHANNEL}"
FINISH = "DELETE FROM gateway_calls WHERE id = %(id)s"
Cursor = AsyncCursor[DictRow]


@dataclass(frozen=True)
class Verdict:
    started: bool
    wait: float | None = None  # seconds until the interval allows it; None: until told


class SharedPacer:
    """A :class:`~bot.generation.pacing.CallPacer` over the journal's database."""

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

    @contextlib.asynccontextmanager
    async def slot(self, requester: str = "") -> AsyncIterator[None]:
        woken = self._listener.changed(GATEWAY_CHANNEL)
        call_id, verdict = await self._ask(requester)
        try:
            while not verdict.started:
                await self._listener.wait(woken, verdict.wait or POLL_SECONDS)
                woken = self._listener.changed(GATEWAY_CHANNEL)
                verdict = await self._try(call_id)
            yield
        finally:
            await asyncio.shield(self._finish(call_id))

    async def _ask(self, requester: str) -> tuple[int, Verdict]:
        """Line up a call for ``requester``, and start it if the pacer allows now."""
        async with transaction(self._pool) as tx:
            asked = await tx.conn.execute(
                ASK, {"owner": self._owner, "user": requester, "lease": self._lease}
            )
            looked = await self._look(tx.conn)
            row = await asked.fetchone()
            assert row is not None  # INSERT … RETURNING returns its row
            call_id = int(row["id"])
            verdict = await self._decide(tx.conn, call_id, *looked)
        return call_id, verdict

    async def _try(self, call_id: int) -> Verdict:
        async with transaction(self._pool) as tx:
            verdict = await self._decide(tx.conn, call_id, *await self._look(tx.conn))
        return verdict

    @staticmethod
    async def _look(conn: AsyncConnection[DictRow]) -> tuple[Cursor, Cursor]:
        """Lock the pacer (every replica's claims line up here), forget lapsed calls,
        and look at the line; pipelined, so read nothing yet."""
        pacer = await conn.execute(LOCK_PACER)
        await conn.execute(FORGET_LAPSED)
        return pacer, await conn.execute(LOOK)

    async def _decide(
        self, conn: AsyncConnection[DictRow], call_id: int, pacer: Cursor, look: Cursor
    ) -> Verdict:
        """Start ``call_id`` in the open transaction if it is next, a slot is free and
        the interval has passed; else say how long to wait, if known."""
        locked, state = await pacer.fetchone(), await look.fetchone()
        assert locked is not None  # the one pacer row, and an aggregate's one row
        assert state is not None
        if state["next"] != call_id or state["calling"] >= self._concurrency:
            return Verdict(False)
        early = locked["last_start"] + self._interval - state["now"]
        if early > 0:
            return Verdict(False, early)
        for statement in START:
            await conn.execute(statement, {"id": call_id})
        await conn.execute(NOTIFY)
        return Verdict(True)

    async def _finish(self, call_id: int) -> None:
        try:
            async with self._pool.connection() as conn, conn.pipeline():
                await conn.execute(FINISH, {"id": call_id})
                await conn.execute(NOTIFY)
        except psycopg.Error:  # its lease lapses; it stops counting then
            logger.exception("could not record the end of a gateway call")
