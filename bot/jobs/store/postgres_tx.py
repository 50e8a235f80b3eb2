"""Pooled connections and short pipelined transactions, for every PostgreSQL module."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import psycopg
from psycopg import AsyncConnection
from psycopg.pq import TransactionStatus
from psycopg.rows import DictRow
from psycopg_pool import AsyncConnectionPool

Pool = AsyncConnectionPool[AsyncConnection[DictRow]]


@dataclass
class Transaction:
    conn: AsyncConnection[DictRow]
    commit: bool = True  # False: roll back at the end instead (nothing it wrote stays)


@contextlib.asynccontextmanager
async def transaction(pool: Pool) -> AsyncIterator[Transaction]:
    """One transaction on a pooled connection, BEGIN and COMMIT in its pipeline.

    psycopg's own ``transaction()`` waits for BEGIN and for COMMIT, two round
    trips more; here the server learns of both with the statements around them.
    """
    async with pool.connection() as conn:
        try:
            async with conn.pipeline():
                await conn.execute("BEGIN")
                tx = Transaction(conn)
                yield tx
                await conn.execute("COMMIT" if tx.commit else "ROLLBACK")
        except BaseException:
            if not conn.closed and conn.info.transaction_status != TransactionStatus.IDLE:
                with contextlib.suppress(psycopg.Error):
                    await conn.rollback()
            raise
