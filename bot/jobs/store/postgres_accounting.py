"""The PostgreSQL journal's counting: ``/banana usage``, pruning and forgetting
(folding finished jobs into the day aggregates), and the budget notices' claims.

The statements shared with SQLite are :class:`~bot.jobs.accounting.Accounting`'s;
these are the ones PostgreSQL says its own way. A fold deletes and adds up in
one statement, so replicas pruning at once never count a job twice.
"""

from __future__ import annotations

import time

from psycopg.rows import DictRow

from bot.jobs.accounting import ADD_UP, JOB_COUNTS, Accounting, Forgotten, Usage
from bot.jobs.journal import ACTIVE_SQL
from bot.jobs.limits import day_start, month_start
from bot.jobs.retention import Cutoffs
from bot.jobs.store.postgres_tx import Pool, transaction

USAGE = (
    "SELECT"
    " COALESCE(sum(images) FILTER (WHERE state = 'delivered' AND finished_at >= %(today)s), 0)"
    "  AS images_today,"
    " COALESCE(sum(cost) FILTER (WHERE state = 'delivered' AND finished_at >= %(today)s), 0)"
    "  AS cost_today,"
    " COALESCE(sum(cost) FILTER (WHERE state = 'delivered'), 0) AS cost_month,"
    f" count(*) FILTER (WHERE state IN {ACTIVE_SQL}) AS active"
    " FROM jobs WHERE user_id = %(user)s"
    f" AND (state IN {ACTIVE_SQL} OR (state = 'delivered' AND finished_at >= %(month)s))"
)

# What forgotten and pruned jobs still count for, per day (they are folded, never lost).
FOLDED_USAGE = (
    "SELECT COALESCE(sum(images) FILTER (WHERE day >= %(today)s), 0)::bigint AS images_today,"
    " COALESCE(sum(cost) FILTER (WHERE day >= %(today)s), 0) AS cost_today,"
    " COALESCE(sum(cost), 0) AS cost_month"
    " FROM daily_usage WHERE user_id = %(user)s AND day >= %(month)s"
)
# Finished jobs matching ``{where}`` deleted and, in the same statement, added to their
# day's aggregates: two replicas pruning at once cannot count a job twice.
FOLD = (
    f"WITH gone AS (DELETE FROM jobs WHERE state NOT IN {ACTIVE_SQL} AND {{where}} RETURNING *),"
    " folded AS (INSERT INTO daily_usage"
    " (day, user_id, channel, size, images, cost, requests, declined, failed)"
    " SELECT floor(COALESCE(finished_at, updated_at) / 86400) * 86400, user_id, channel, size,"
    f" {JOB_COUNTS} FROM gone GROUP BY 1, 2, 3, 4"
    f" ON CONFLICT (day, user_id, channel, size) DO UPDATE SET {ADD_UP})"
    " SELECT count(*) AS folded FROM gone"
)


class PostgresAccounting(Accounting):
    """Mixed into :class:`~bot.jobs.store.postgres.PostgresJournal`."""

    MARK = "%s"

    _pool: Pool

    async def usage(self, user: str, now: float | None = None) -> Usage:
        moment = time.time() if now is None else now
        when = {"user": user, "today": day_start(moment), "month": month_start(moment)}
        async with self._pool.connection() as conn, conn.pipeline():
            live = await conn.execute(USAGE, when)
            folded = await conn.execute(FOLDED_USAGE, when)
            row, earlier = await live.fetchone(), await folded.fetchone()
        assert row is not None  # an aggregate returns its one row
        assert earlier is not None
        return Usage(
            int(row["images_today"]) + int(earlier["images_today"]),
            float(row["cost_today"]) + float(earlier["cost_today"]),
            float(row["cost_month"]) + float(earlier["cost_month"]),
            int(row["active"]),
        )

    async def _prune(self, cutoffs: Cutoffs) -> int:
        older = "COALESCE(finished_at, updated_at) < %(jobs)s"
        async with transaction(self._pool) as tx:
            folded = await tx.conn.execute(FOLD.format(where=older), {"jobs": cutoffs.jobs})
            await tx.conn.execute("DELETE FROM deliveries WHERE seen_at < %s", [cutoffs.deliveries])
            await tx.conn.execute("DELETE FROM daily_usage WHERE day < %s", [cutoffs.aggregates])
            await tx.conn.execute("DELETE FROM notices WHERE sent_at < %s", [cutoffs.notices])
        row = await folded.fetchone()
        return int(row["folded"]) if row else 0

    async def forget(self, user: str) -> Forgotten:
        async with transaction(self._pool) as tx:
            folded = await tx.conn.execute(FOLD.format(where="user_id = %(user)s"), {"user": user})
            running = await tx.conn.execute(
                f"SELECT count(*) AS n FROM jobs WHERE user_id = %s AND state IN {ACTIVE_SQL}",
                [user],
            )
        erased, active = await folded.fetchone(), await running.fetchone()
        return Forgotten(int(erased["folded"]) if erased else 0, int(active["n"]) if active else 0)

    async def claim_notice(self, key: str) -> bool:
        async with self._pool.connection() as conn:
            cursor = await conn.execute(
                "INSERT INTO notices (key, sent_at) VALUES (%s, %s)"
                " ON CONFLICT DO NOTHING RETURNING key",
                [key, time.time()],
            )
            return await cursor.fetchone() is not None

    async def release_notice(self, key: str) -> None:
        async with self._pool.connection() as conn:
            await conn.execute("DELETE FROM notices WHERE key = %s", [key])

    async def _read(self, sql: str, *args: object) -> list[DictRow]:
        async with self._pool.connection() as conn:
            cursor = await conn.execute(sql, args)
            return await cursor.fetchall()
