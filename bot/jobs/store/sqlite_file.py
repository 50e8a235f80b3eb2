"""The SQLite file: held by one process, used from one thread, its errors explained.

A process takes an exclusive lock on a sidecar ``<file>.lock`` for its whole
life, so a second one stops at start. Every statement runs on the journal's
one thread; a write that cannot happen (a full disk, a read-only file) fails
the request that needed it, with a line an operator can act on.
"""

from __future__ import annotations

import asyncio
import fcntl
import functools
import os
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from bot.jobs.journal import JournalUnwritable, StoreError
from bot.jobs.store import sqlite_schema

T = TypeVar("T")
# SQLite's codes for "this write cannot happen here now": the request fails, not the bot.
UNWRITABLE = ("SQLITE_FULL", "SQLITE_READONLY", "SQLITE_IOERR", "SQLITE_CANTOPEN")


class SqliteFile:
    """The open file and its thread: one hop to that thread per call."""

    _db: sqlite3.Connection
    _executor: ThreadPoolExecutor
    _path: Path

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        """Raises:
        JournalUnwritable: the disk is full, or the file or its disk cannot be written.
        """
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, functools.partial(fn, *args))
        except sqlite3.OperationalError as exc:
            raise self._unwritable_or(exc) from exc

    def _unwritable_or(self, exc: Exception) -> Exception:
        """``exc``, or JournalUnwritable when it says the file cannot be written."""
        name = getattr(exc, "sqlite_errorname", "") or ""
        if isinstance(exc, sqlite3.OperationalError) and name.startswith(UNWRITABLE):
            unwritable = JournalUnwritable(str(unusable(self._path, exc)))
            unwritable.__cause__ = exc
            return unwritable
        return exc

    def _write(self, sql: str, args: list[Any]) -> int:
        """Rows changed."""
        with self._db:
            return self._db.execute(sql, args).rowcount

    def _rows(self, sql: str, args: tuple[object, ...]) -> list[sqlite3.Row]:
        return self._db.execute(sql, args).fetchall()

    def _scalar(self, sql: str, *args: object) -> int:
        row = self._db.execute(sql, args).fetchone()
        return int(row[0]) if row and row[0] is not None else 0


def take_lock(path: Path) -> int:
    """Hold ``<path>.lock`` exclusively for this process's life (the kernel lets go
    when it dies, even by ``kill -9``); the file names the holder's pid.

    Raises:
        StoreError: another process holds it.
    """
    lock_path = path.with_name(path.name + ".lock")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise StoreError(
            f"BANANA_DB={path}: cannot create or write its folder {path.parent} "
            f"({exc.strerror or exc}); the journal needs a writable folder: create it or "
            "fix its permissions (a read-only mount?), or point BANANA_DB elsewhere"
        ) from exc
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
        os.close(fd)
        raise StoreError(
            f"another banana-bot process (pid {holder}) is using the SQLite journal "
            f"BANANA_DB={path}, and a SQLite journal serves one process only; stop that "
            "process, or set BANANA_DB=postgresql://… to share one database"
        ) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd


def open_connection(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, check_same_thread=False)
    try:
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        sqlite_schema.migrate(db, f"BANANA_DB={path}")
    except sqlite3.DatabaseError as exc:
        db.close()
        raise unusable(path, exc) from exc
    except BaseException:
        db.close()
        raise
    return db


# What to do about a SQLite error, by its code: the line an operator reads.
_ADVICE = {
    "SQLITE_NOTADB": "is not a SQLite database; move it away, or point BANANA_DB to a new file",
    "SQLITE_CORRUPT": "is damaged; restore it from a backup, or point BANANA_DB to a new file",
    "SQLITE_READONLY": (
        "cannot be written (a read-only file or mount); make it writable for this user, "
        "or point BANANA_DB elsewhere"
    ),
    "SQLITE_FULL": "cannot grow: its disk is full; free space there",
    "SQLITE_CANTOPEN": "cannot be opened; check the path and its permissions",
    "SQLITE_IOERR": "cannot be read or written (a disk error); check the disk",
}


def unusable(path: Path, exc: sqlite3.Error) -> StoreError:
    """One line naming BANANA_DB, what is wrong and what to do; SQLite's words in brackets."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    advice = next((text for code, text in _ADVICE.items() if name.startswith(code)), None)
    if advice is None:
        advice = "is not a usable SQLite journal"
    return StoreError(f"BANANA_DB={path} {advice} ({exc})")
