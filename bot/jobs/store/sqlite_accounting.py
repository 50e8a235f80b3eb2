"""The SQLite journal's counting: ``/banana usage``, pruning and forgetting (folding
finished jobs into the day aggregates), and the budget notices' claims.

The statements shared with PostgreSQL are :class:`~bot.jobs.accounting.Accounting`'s;
these are the ones SQLite says its own way. Each runs on the file's thread, so a
fold and its delete are one transaction.
"""

from __future__ import annotations

import sqlite3
import time

from bot.jobs.accounting import ADD_UP, JOB_COUNTS, Accounting, Forgotten, Usage
from bot.jobs.journal import ACTIVE_SQL
from bot.jobs.limits import day_start, month_start
from bot.jobs.retention import Cutoffs
from bot.jobs.store.sqlite_file import SqliteFile

# Finished jobs matching ``{where}`` added to their day's aggregates (then deleted).
FOLD = (
    "INSERT INTO daily_usage (day, user_id, channel, size, images, cost, requests, declined,"
    " failed) SELECT CAST(COALESCE(finished_at, updated_at) / 86400 AS INTEGER) * 86400.0,"
    f" user_id, channel, size, {JOB_COUNTS} FROM jobs"
    f" WHERE state NOT IN {ACTIVE_SQL} AND {{where}} GROUP BY 1, 2, 3, 4"
    f" ON CONFLICT (day, user_id, channel, size) DO UPDATE SET {ADD_UP}"
)
FOLDED = f"DELETE FROM jobs WHERE state NOT IN {ACTIVE_SQL} AND {{where}}"


class SqliteAccounting(SqliteFile, Accounting):
    """Mixed into :class:`~bot.jobs.store.sqlite.SqliteJournal`."""

    MARK = "?"

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
