"""The spool: generated images on disk until Slack has them (``BANANA_SPOOL``).

A generated image has been paid for; while Slack is away it waits here, not in
memory, so an outage or a restart never throws it away. One folder per job,
written under a temporary name and renamed into place (a crash leaves either
the whole job or a ``.tmp-`` folder that the next start removes), with what
the result comment says of it in ``delivery.json``. The spool's size is
capped (``BANANA_SPOOL_MAX_MB``): past it a job is delivered from memory only.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bot.generation.images import GeneratedImage, NotAnImage, identify
from bot.jobs.outcomes import Delivered, Made

logger = logging.getLogger(__name__)

MANIFEST = "delivery.json"
TEMPORARY = ".tmp-"


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
                if entry.name.startswith(TEMPORARY) or entry.name not in keep:
                    shutil.rmtree(entry, ignore_errors=True)
        except OSError as exc:
            raise SpoolUnusable(
                f"BANANA_SPOOL={self.root}: cannot create or write it ({exc.strerror or exc}); "
                "made images wait there for Slack: create it writable for this user, "
                "or point BANANA_SPOOL elsewhere"
            ) from exc

    def size(self) -> int:
        """Bytes held, over every job."""
        return sum(f.stat().st_size for f in self.root.glob("*/*") if f.is_file())

    def jobs(self) -> int:
        return sum(1 for d in self.root.iterdir() if not d.name.startswith(TEMPORARY))

    def save(self, job_id: str, images: Sequence[GeneratedImage], delivery: Delivered) -> None:
        """Write the job's images and comment, atomically, and flush them to disk.

        Raises:
            SpoolFull: they would take the spool past ``max_bytes``.
            OSError: the disk would not take them.
        """
        incoming = sum(len(image.data) for image in images)
        held = self.size()
        if held + incoming > self.max_bytes:
            raise SpoolFull(
                f"the spool holds {held} bytes and {incoming} more would pass "
                f"BANANA_SPOOL_MAX_MB ({self.max_bytes // 1024**2} MB)"
            )
        staging = self.root / f"{TEMPORARY}{job_id}"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        try:
            for number, image in enumerate(images):
                # Straight from the decode buffer: a copy would double each image in memory.
                _write(staging / f"{number}.{image.extension}", image.data)
            manifest = _manifest(delivery)
            _write(staging / MANIFEST, json.dumps(manifest).encode())
            os.replace(staging, self.root / job_id)
            _sync_folder(self.root)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise

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
            images = [identify(f.read_bytes()) for f in files]
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


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


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
