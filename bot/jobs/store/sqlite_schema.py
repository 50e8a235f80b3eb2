"""The SQLite journal's schema, as numbered steps recorded in ``PRAGMA user_version``.

Journals made before versioning say 0; step 1 brings any of them (and a new,
empty file) to the schema of the last unversioned release, so every later
step starts from one known shape. Append steps; never edit a released one.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence

from bot.jobs.journal import StoreError
from bot.jobs.store import schema_too_new

Step = Callable[[sqlite3.Connection], None]

RELEASED_TABLES = (
    """CREATE TABLE IF NOT EXISTS deliveries (
        key TEXT PRIMARY KEY,
        seen_at REAL NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS jobs (
        id TEXT PRIMARY KEY,
        delivery_key TEXT NOT NULL,
        state TEXT NOT NULL,
        source TEXT NOT NULL,
        user_id TEXT NOT NULL,
        channel TEXT NOT NULL,
        reply_thread TEXT,
        request_ts TEXT,
        response_url TEXT,
        prompt TEXT NOT NULL,
        aspect_ratio TEXT NOT NULL,
        size TEXT NOT NULL,
        count INTEGER NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        logids TEXT NOT NULL DEFAULT '',
        images INTEGER NOT NULL DEFAULT 0,
        cost REAL NOT NULL DEFAULT 0,
        status_channel TEXT,
        status_ts TEXT,
        result_thread TEXT,
        error TEXT,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL,
        finished_at REAL
    )""",
    "CREATE INDEX IF NOT EXISTS jobs_by_user ON jobs (user_id, state, finished_at)",
    "CREATE INDEX IF NOT EXISTS jobs_by_state ON jobs (state)",
)
# Columns the unversioned releases added to older journals when opening them.
RELEASED_LATER_COLUMNS = {
    "inputs": "TEXT NOT NULL DEFAULT ''",
    "parent_id": "TEXT",
    "file_ids": "TEXT NOT NULL DEFAULT ''",
    "file_urls": "TEXT NOT NULL DEFAULT ''",
    "version": "INTEGER",
    "deleted": "INTEGER NOT NULL DEFAULT 0",
}


def _released_schema(db: sqlite3.Connection) -> None:
    for statement in RELEASED_TABLES:
        db.execute(statement)
    present = {row[1] for row in db.execute("PRAGMA table_info(jobs)")}
    for column, kind in RELEASED_LATER_COLUMNS.items():
        if column not in present:
            db.execute(f"ALTER TABLE jobs ADD COLUMN {column} {kind}")


def _statements(*sql: str) -> Step:
    def run(db: sqlite3.Connection) -> None:
        for statement in sql:
            db.execute(statement)

    return run


STEPS: Sequence[Step] = (
    # 1: the last unversioned release's tables, whatever older release made the file.
    _released_schema,
    # 2: file_urls was never written (issue 12).
    _statements("ALTER TABLE jobs DROP COLUMN file_urls"),
    # 3: version numbering and thread listings look jobs up by thread.
    _statements("CREATE INDEX jobs_by_thread ON jobs (result_thread, status_channel)"),
    # 4: retention (issue 18): finished jobs fold into day aggregates before they are
    # pruned; budget notices are posted once; ages are looked up by index.
    _statements(
        """CREATE TABLE daily_usage (
            day REAL NOT NULL,
            user_id TEXT NOT NULL,
            channel TEXT NOT NULL,
            size TEXT NOT NULL,
            images INTEGER NOT NULL DEFAULT 0,
            cost REAL NOT NULL DEFAULT 0,
            requests INTEGER NOT NULL DEFAULT 0,
            declined INTEGER NOT NULL DEFAULT 0,
            failed INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (day, user_id, channel, size)
        )""",
        "CREATE INDEX daily_usage_by_user ON daily_usage (user_id, day)",
        "CREATE TABLE notices (key TEXT PRIMARY KEY, sent_at REAL NOT NULL)",
        "CREATE INDEX jobs_by_finish ON jobs (finished_at)",
        "CREATE INDEX deliveries_by_age ON deliveries (seen_at)",
    ),
    # 5: what each person chose (`/banana language zh`); NULL: follow their Slack.
    _statements(
        """CREATE TABLE user_preferences (
            user_id TEXT PRIMARY KEY,
            language TEXT,
            updated_at REAL NOT NULL
        )"""
    ),
    # 6: leases (which process runs a job, until when); one process, but one interface.
    _statements(
        "ALTER TABLE jobs ADD COLUMN leased_by TEXT",
        "ALTER TABLE jobs ADD COLUMN lease_until REAL",
    ),
)


def migrate(db: sqlite3.Connection, shown: str) -> None:
    """Apply the steps ``db`` lacks, each in its own transaction with its number.

    Raises:
        StoreError: the file was written by a newer banana-bot, or a step failed.
    """
    current = int(db.execute("PRAGMA user_version").fetchone()[0])
    if current > len(STEPS):
        raise schema_too_new(shown, current, len(STEPS))
    implicit = db.isolation_level
    db.isolation_level = None  # explicit BEGIN/COMMIT: DDL must not autocommit mid-step
    try:
        for number in range(current + 1, len(STEPS) + 1):
            db.execute("BEGIN IMMEDIATE")
            try:
                STEPS[number - 1](db)
                db.execute(f"PRAGMA user_version = {number}")
                db.execute("COMMIT")
            except sqlite3.Error as exc:
                db.execute("ROLLBACK")
                raise StoreError(
                    f"could not upgrade the journal at {shown} to schema version {number}: {exc}"
                ) from exc
    finally:
        db.isolation_level = implicit
