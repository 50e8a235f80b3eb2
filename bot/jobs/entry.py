"""A job as the journal keeps it: a stored row read back as an :class:`Entry`.

Every store, the leases and the takeover read jobs back this way; it needs
nothing from the journal itself, so each of them can import it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from bot.jobs.job import Job, State
from bot.options import ImageOptions


@dataclass(frozen=True)
class Entry:
    """A job read back from the journal, with where its status line lives."""

    job: Job
    state: State
    status_channel: str | None
    status_ts: str | None
    result_thread: str | None
    file_ids: tuple[str, ...] = ()
    version: int | None = None
    deleted: bool = False
    finished_at: float | None = None


class Row(Protocol):
    """A row by column name: ``sqlite3.Row`` and psycopg's ``dict_row`` both are."""

    def __getitem__(self, key: str, /) -> Any: ...


def entry_from_row(row: Row) -> Entry:
    job = Job(
        key=row["delivery_key"],
        user=row["user_id"],
        channel=row["channel"],
        prompt=row["prompt"],
        options=ImageOptions(row["aspect_ratio"], row["size"], row["count"]),
        source=row["source"],
        reply_thread=row["reply_thread"],
        request_ts=row["request_ts"],
        response_url=row["response_url"],
        id=row["id"],
        created_at=row["created_at"],
        inputs=tuple(row["inputs"].split()),
        parent=row["parent_id"],
    )
    return Entry(
        job,
        row["state"],
        row["status_channel"],
        row["status_ts"],
        row["result_thread"],
        file_ids=tuple(row["file_ids"].split()),
        version=row["version"],
        deleted=bool(row["deleted"]),
        finished_at=row["finished_at"],
    )
