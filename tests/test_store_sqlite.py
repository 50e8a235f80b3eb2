"""The SQLite store: upgrading a released journal in place, and one process per file."""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
from pathlib import Path

import pytest

from bot.jobs import Admission, Job, Journal, Limits
from bot.jobs.journal import StoreError
from bot.jobs.store.sqlite_schema import STEPS
from bot.options import ImageOptions
from tests.fakes import journal_job

ACCEPTED = Admission.ACCEPTED

FIXTURES = Path(__file__).parent / "fixtures"
# The fixture's clock: jobs were asked for from 10:00 UTC that day.
FIXTURE_DAY = dt.datetime(2026, 11, 26, 12, 0, tzinfo=dt.UTC).timestamp()


def released_journal(path: Path) -> Path:
    """A journal file exactly as the last unversioned release (aaa8e3f) wrote it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path) as db:
        db.executescript((FIXTURES / "journal_aaa8e3f.sql").read_text())
    return path


def columns(path: Path) -> set[str]:
    with sqlite3.connect(path) as db:
        return {row[1] for row in db.execute("PRAGMA table_info(jobs)")}


def schema_version(path: Path) -> int:
    with sqlite3.connect(path) as db:
        return int(db.execute("PRAGMA user_version").fetchone()[0])


async def test_a_released_journal_upgrades_in_place_and_keeps_everything(
    tmp_path: Path,
) -> None:
    path = released_journal(tmp_path / "banana.db")
    assert "file_urls" in columns(path)

    journal = await Journal.open(path)
    try:
        # Kept: jobs, their states, thread versions, deletions, usage, dedupe keys.
        assert [e.job.id for e in await journal.history("U0ALICE")] == ["job2", "job1"]
        (owl,) = await journal.unfinished()
        assert (owl.job.id, owl.state, owl.status_ts) == ("job4", "queued", "9.4")
        versions = await journal.thread_versions("C0GENERAL", "9.1")
        assert [(e.job.id, e.version) for e in versions] == [("job1", 1), ("job2", 2)]
        edit = await journal.get("job2")
        assert edit is not None
        assert (edit.job.parent, edit.job.inputs, edit.file_ids) == (
            "job1",
            ("https://files/F1",),
            ("F1",),
        )
        deleted = await journal.get("job5")
        assert deleted is not None
        assert deleted.deleted
        usage = await journal.usage("U0ALICE", now=FIXTURE_DAY)
        assert (usage.images_today, usage.active) == (3, 0)
        assert usage.cost_today == pytest.approx(3 * 0.067)
        assert not await journal.remember(["trigger:T1"])
        assert not await journal.remember(["message:C0GENERAL:1700000000.000100"])
        # And it works: a new job, the next version in the old thread.
        new = Job(
            key="trigger:T6",
            user="U0ALICE",
            channel="C0GENERAL",
            prompt="a new moon",
            options=ImageOptions("1:1", "1K", 1),
            source="command",
        )
        decision = await journal.admit(new, [new.key], Limits())
        assert decision.admission is Admission.ACCEPTED
        await journal.update(new.id, "running", status_channel="C0GENERAL", result_thread="9.1")
        assert await journal.start_upload(new.id, "C0GENERAL", "9.1", ["l"]) == 3
    finally:
        await journal.close()

    assert "file_urls" not in columns(path)  # issue 12: never written, now gone
    assert schema_version(path) == len(STEPS)
    reopened = await Journal.open(path)  # a second open finds nothing left to do
    await reopened.close()
    assert schema_version(path) == len(STEPS)


async def test_a_journal_from_a_newer_release_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "banana.db"
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA user_version = 99")
    with pytest.raises(StoreError, match=r"schema version 99, newer than this banana-bot"):
        await Journal.open(path)
    assert schema_version(path) == 99


async def test_one_journal_file_serves_one_process_at_a_time(tmp_path: Path) -> None:
    path = tmp_path / "banana.db"
    first = await Journal.open(path)
    try:
        with pytest.raises(StoreError) as caught:
            await Journal.open(path)
        message = str(caught.value)
        assert f"BANANA_DB={path}" in message
        assert "postgresql://" in message
        assert "\n" not in message
    finally:
        await first.close()
    second = await Journal.open(path)  # closing let go of the lock
    await second.close()


def commits_in_wal(path: Path) -> int:
    """Transactions written to ``path``'s WAL: frames whose header marks a commit."""
    wal = path.with_name(path.name + "-wal").read_bytes()
    page_size = int.from_bytes(wal[8:12], "big")
    frames = range(32, len(wal), 24 + page_size)
    return sum(1 for at in frames if int.from_bytes(wal[at + 4 : at + 8], "big"))


async def test_admissions_that_arrive_together_share_one_commit(tmp_path: Path) -> None:
    """A burst's admissions are written together (a group commit), each still on disk
    before its decision is known, and the limits still hold within the group."""
    path = tmp_path / "journal.db"
    journal = await Journal.open(path)
    try:
        await journal.admit(journal_job("UWARM"), ["warm"], Limits())
        before = commits_in_wal(path)
        jobs = [journal_job(f"U{n % 5}") for n in range(20)]
        limits = Limits(max_queued_per_user=3)
        decisions = await asyncio.gather(*(journal.admit(j, [j.key], limits) for j in jobs))
        assert commits_in_wal(path) - before < 5  # not one each
        accepted = [j for j, d in zip(jobs, decisions, strict=True) if d.admission is ACCEPTED]
        assert len(accepted) == 15  # 3 for each of the 5 people
        with sqlite3.connect(path) as other:  # on disk, for any reader
            rows = other.execute("SELECT id FROM jobs WHERE user_id != 'UWARM'").fetchall()
        assert sorted(r[0] for r in rows) == sorted(j.id for j in accepted)
    finally:
        await journal.close()
