"""The PostgreSQL journal's schema, as numbered steps recorded in ``schema_version``.

Replicas starting together migrate one at a time: the steps run in one
transaction under an advisory lock, so the second finds the work done.
Append steps; never edit a released one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, LiteralString

from psycopg import AsyncConnection

from bot.jobs.store import schema_too_new

# The advisory lock every replica's migration takes ("banana" in ASCII).
MIGRATION_LOCK = 0x62616E616E61

STEPS: Sequence[LiteralString] = (
    # 1: the SQLite journal's tables as of its step 3, in PostgreSQL's types.
    """
    CREATE TABLE deliveries (
        key text PRIMARY KEY,
        seen_at double precision NOT NULL
    );
    CREATE INDEX deliveries_by_age ON deliveries (seen_at);
    CREATE TABLE jobs (
        seq bigint GENERATED ALWAYS AS IDENTITY,  -- ties in created_at: insertion order
        id text PRIMARY KEY,
        delivery_key text NOT NULL,
        state text NOT NULL,
        source text NOT NULL,
        user_id text NOT NULL,
        channel text NOT NULL,
        reply_thread text,
        request_ts text,
        response_url text,
        prompt text NOT NULL,
        aspect_ratio text NOT NULL,
        size text NOT NULL,
        count integer NOT NULL,
        attempts integer NOT NULL DEFAULT 0,
        logids text NOT NULL DEFAULT '',
        images integer NOT NULL DEFAULT 0,
        cost double precision NOT NULL DEFAULT 0,
        status_channel text,
        status_ts text,
        result_thread text,
        error text,
        created_at double precision NOT NULL,
        updated_at double precision NOT NULL,
        finished_at double precision,
        inputs text NOT NULL DEFAULT '',
        parent_id text,
        file_ids text NOT NULL DEFAULT '',
        version integer,
        deleted boolean NOT NULL DEFAULT false
    );
    CREATE INDEX jobs_by_user ON jobs (user_id, state, finished_at);
    CREATE INDEX jobs_by_state ON jobs (state);
    CREATE INDEX jobs_by_thread ON jobs (result_thread, status_channel);
    """,
    # 2: retention (issue 18): finished jobs fold into day aggregates before they are
    # pruned; budget notices are posted once; ages are looked up by index.
    """
    CREATE TABLE daily_usage (
        day double precision NOT NULL,
        user_id text NOT NULL,
        channel text NOT NULL,
        size text NOT NULL,
        images bigint NOT NULL DEFAULT 0,
        cost double precision NOT NULL DEFAULT 0,
        requests bigint NOT NULL DEFAULT 0,
        declined bigint NOT NULL DEFAULT 0,
        failed bigint NOT NULL DEFAULT 0,
        PRIMARY KEY (day, user_id, channel, size)
    );
    CREATE INDEX daily_usage_by_user ON daily_usage (user_id, day);
    CREATE TABLE notices (key text PRIMARY KEY, sent_at double precision NOT NULL);
    CREATE INDEX jobs_by_finish ON jobs (finished_at);
    """,
    # 3: what each person chose (`/banana language zh`); NULL: follow their Slack.
    """
    CREATE TABLE user_preferences (
        user_id text PRIMARY KEY,
        language text,
        updated_at double precision NOT NULL
    );
    """,
    # 4: replicas: leases on jobs (which replica runs one, until when: seconds since
    # the epoch by the server's clock), and the one gateway pacer they share
    # and the line of images waiting for it (postgres_pacer.py, postgres_queue.py).
    """
    ALTER TABLE jobs ADD COLUMN leased_by text;
    ALTER TABLE jobs ADD COLUMN lease_until double precision;
    CREATE INDEX jobs_by_lease ON jobs (leased_by)
        WHERE state IN ('queued', 'running', 'spooled', 'uploading');
    CREATE TABLE gateway_pacer (
        one boolean PRIMARY KEY DEFAULT true CHECK (one),
        last_start double precision NOT NULL DEFAULT 0
    );
    INSERT INTO gateway_pacer DEFAULT VALUES;
    CREATE TABLE gateway_calls (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        replica text NOT NULL,
        user_id text NOT NULL,
        calling boolean NOT NULL DEFAULT false,
        asked_at double precision NOT NULL,
        started_at double precision,
        lease_until double precision NOT NULL
    );
    CREATE INDEX gateway_calls_by_replica ON gateway_calls (replica);
    CREATE TABLE queued_units (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        job_id text NOT NULL,
        user_id text NOT NULL,
        replica text NOT NULL,
        lease_until double precision NOT NULL
    );
    CREATE INDEX queued_units_by_replica ON queued_units (replica);
    CREATE TABLE gateway_turns (
        user_id text PRIMARY KEY,
        served_at double precision NOT NULL
    );
    """,
)


async def migrate(conn: AsyncConnection[Any], shown: str) -> None:
    """Apply the steps the database lacks, all in one transaction.

    Raises:
        StoreError: the database was written by a newer banana-bot.
        psycopg.Error: the server refused a step (the caller words it).
    """
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", [MIGRATION_LOCK])
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_version ("
            " version integer PRIMARY KEY,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        cursor = await conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version")
        row = await cursor.fetchone()
        current = int(row[0]) if row else 0
        if current > len(STEPS):
            raise schema_too_new(shown, current, len(STEPS))
        for number in range(current + 1, len(STEPS) + 1):
            await conn.execute(STEPS[number - 1])
            await conn.execute("INSERT INTO schema_version (version) VALUES (%s)", [number])
