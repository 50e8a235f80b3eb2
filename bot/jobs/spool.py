"""The spool: generated images on disk until Slack has them (``BANANA_SPOOL``).

A generated image has been paid for; while Slack is away it waits here, not in
memory, so an outage or a restart never throws it away. One folder per job,
written under a temporary name and renamed into place (a crash leaves either
the whole job or a ``.tmp-`` folder that the next start removes), with what
the result comment says of it in ``delivery.json``. The spool's size is
capped (``BANANA_SPOOL_MAX_MB``): past it a job is delivered from where it was
made, and not across a restart.

Images are made straight into the spool's filesystem: each process decodes the
gateway's answers into its own folder under ``.incoming`` (:attr:`Spool.incoming`),
and saving a job renames those files into it — no second write, one fsync. A
process holds a lock on its folder while it lives, so a process starting beside
it (a shared volume) sweeps only the folders of processes that are gone.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import secrets
import shutil
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from bot.generation.images import GeneratedImage, NotAnImage, identify_file
from bot.jobs.outcomes import Delivered, Made

logger = logging.getLogger(__name__)

MANIFEST = "delivery.json"
TEMPORARY = ".tmp-"
INCOMING = ".incoming"
LOCK = ".lock"
_LOCKING = os.O_CREAT | os.O_RDWR


class SpoolFull(Exception):
    """The images would take the spool past its cap."""


class SpoolUnusable(Exception):
    """The spool's folder cannot be created or written; the message names BANANA_SPOOL."""


@dataclass(frozen=True)
class Spooled:
    """A job's images read back from the spool, and what its comment says."""

    images: list[GeneratedImage]
    delivery: Delivered
    spooled_at: float  # the delivery window runs from here, across restarts


class Spool:
    def __init__(self, root: Path, max_bytes: int) -> None:
        self.root = root
        self.max_bytes = max_bytes
        # Where this process's gateway answers are decoded (made by :meth:`open`).
        self.incoming = root / INCOMING / f"{os.getpid()}-{secrets.token_hex(4)}"
        self._lock: int | None = None  # held on ``incoming`` while this process lives
        self._locked = True  # False where the filesystem has no locks: nothing is swept

    def open(self, keep: set[str]) -> None:
        """Create the folder; remove half-written jobs and any job not in ``keep``
        (delivered or abandoned while its files were being removed).

        Raises:
            SpoolUnusable: the folder cannot be created or written.
        """
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            if not os.access(self.root, os.W_OK):
                raise PermissionError(13, "not writable")
            for entry in self.root.iterdir():
                if entry.name == INCOMING:
                    continue
                if entry.name.startswith(TEMPORARY) or entry.name not in keep:
                    shutil.rmtree(entry, ignore_errors=True)
            self._open_incoming()
        except OSError as exc:
            raise SpoolUnusable(
                f"BANANA_SPOOL={self.root}: cannot create or write it ({exc.strerror or exc}); "
                "made images wait there for Slack: create it writable for this user, "
                "or point BANANA_SPOOL elsewhere"
            ) from exc

    def _open_incoming(self) -> None:
        """Claim this process's folder for decoding into; remove those of processes
        that are gone (their calls were abandoned with them)."""
        folder = self.incoming.parent
        folder.mkdir(exist_ok=True)
        if self._lock is None:
            self._lock = os.open(self.incoming.with_name(self.incoming.name + LOCK), _LOCKING)
            try:
                fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a new name: ours
            except OSError as exc:  # a filesystem without locks (some network mounts)
                logger.warning(
                    "cannot lock %s (%s): files left there by killed processes are kept",
                    folder,
                    exc.strerror or exc,
                )
                self._locked = False
        if self._locked:
            for name in {entry.name.removesuffix(LOCK) for entry in folder.iterdir()}:
                if name != self.incoming.name and not _held(folder / (name + LOCK)):
                    shutil.rmtree(folder / name, ignore_errors=True)
                    (folder / (name + LOCK)).unlink(missing_ok=True)
        self.incoming.mkdir(exist_ok=True)

    def _job_folders(self) -> Iterator[Path]:
        return (
            entry
            for entry in self.root.iterdir()
            if entry.name != INCOMING and not entry.name.startswith(TEMPORARY)
        )

    def size(self) -> int:
        """Bytes held, over every job (images being made are not held yet)."""
        return sum(f.stat().st_size for d in self._job_folders() for f in d.iterdir())

    def jobs(self) -> int:
        return sum(1 for _ in self._job_folders())

    def save(
        self, job_id: str, images: Sequence[GeneratedImage], delivery: Delivered
    ) -> list[GeneratedImage]:
        """Keep the job's images and comment, atomically, flushed to disk; returns the
        images as kept. An image in a file (made in :attr:`incoming`) is moved in, one
        in memory written; when the save fails, the moved files are put back.

        Raises:
            SpoolFull: they would take the spool past ``max_bytes``.
            OSError: the disk would not take them.
        """
        incoming = sum(image.size for image in images)
        held = self.size()
        if held + incoming > self.max_bytes:
            raise SpoolFull(
                f"the spool holds {held} bytes and {incoming} more would pass "
                f"BANANA_SPOOL_MAX_MB ({self.max_bytes // 1024**2} MB)"
            )
        staging = self.root / f"{TEMPORARY}{job_id}"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        moved: list[tuple[Path, Path]] = []
        kept: list[GeneratedImage] = []
        try:
            for number, image in enumerate(images):
                name = f"{number}.{image.extension}"
                if image.path is not None:
                    os.replace(image.path, staging / name)
                    moved.append((image.path, staging / name))
                    _sync(staging / name)
                else:  # straight from the decode buffer: a copy would double it in memory
                    assert image.data is not None
                    _write(staging / name, image.data)
                kept.append(image.moved_to(self.root / job_id / name))
            manifest = _manifest(delivery)
            _write(staging / MANIFEST, json.dumps(manifest).encode())
            _sync(staging)
            os.replace(staging, self.root / job_id)
            _sync(self.root)
        except BaseException:
            for made, taken in moved:
                with contextlib.suppress(OSError):  # the image is lost either way
                    os.replace(taken, made)
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return kept

    def load(self, job_id: str) -> Spooled | None:
        """The job's spooled images, or None when there are none (never spooled,
        gone, or unreadable)."""
        folder = self.root / job_id
        try:
            manifest = json.loads((folder / MANIFEST).read_text())
            files = sorted(
                (f for f in folder.iterdir() if f.name != MANIFEST),
                key=lambda f: int(f.name.split(".")[0]),
            )
            images = [identify_file(f) for f in files]
            return Spooled(images, _delivery(manifest, len(images)), float(manifest["spooled_at"]))
        except (OSError, ValueError, KeyError, TypeError, NotAnImage):
            if folder.exists():
                logger.exception("job=%s spooled images unreadable", job_id)
            return None

    def discard(self, job_id: str) -> None:
        """Forget the job's images (delivered, or abandoned)."""
        shutil.rmtree(self.root / job_id, ignore_errors=True)


def _write(path: Path, data: bytes | bytearray) -> None:
    with path.open("wb") as file:
        file.write(data)
        file.flush()
        os.fsync(file.fileno())


def _sync(path: Path) -> None:
    """Flush a file (written by whoever made it) or a folder (its renames) to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _held(lock: Path) -> bool:
    """Whether a live process may hold ``lock``: a missing one is held by nobody, one
    that cannot be tried is taken as held (its folder is kept)."""
    try:
        fd = os.open(lock, os.O_RDWR)
    except FileNotFoundError:
        return False
    except OSError:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)
    return False


def _manifest(delivery: Delivered) -> dict[str, object]:
    # Failed siblings of the images are not kept: after a restart the comment
    # leaves out its "n of m failed" line.
    return {
        "spooled_at": time.time(),
        "elapsed": delivery.elapsed,
        "made": [[made.logid, made.text] for made in delivery.made],
        "version": delivery.version,
        "input_names": list(delivery.input_names),
    }


def _delivery(manifest: dict[str, object], images: int) -> Delivered:
    made = manifest["made"]
    names = manifest["input_names"]
    version = manifest["version"]
    if not isinstance(made, list) or not isinstance(names, list):
        raise ValueError("a malformed spool manifest")
    return Delivered(
        images=images,
        elapsed=float(str(manifest["elapsed"])),
        made=tuple(Made(str(logid), str(text)) for logid, text in made),
        version=int(version) if isinstance(version, int) else None,
        input_names=tuple(str(name) for name in names),
    )
