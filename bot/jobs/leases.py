"""The part of the journal that lets processes share it: leases and what they share.

The process running a job holds a lease on it (``leased_by`` names the
process, ``lease_until`` is when it lapses, by the database's clock). It takes
the lease when it admits or takes over the job, renews all its leases in one
write a few times per lease, and lets them go when it stops. A job whose lease
lapsed (its process died) is taken over by another; a process that lost a
job's lease stops before uploading, so a job is never shared twice.

A store that other processes can share (PostgreSQL) also gives them one
queue and one gateway pacer; one that serves a single process (SQLite) gives
neither, and the process keeps its own.
"""

from __future__ import annotations

import abc
import asyncio
import logging
import os
import socket
import uuid
from typing import ClassVar

from bot.generation.pacing import CallPacer
from bot.jobs.entry import Entry
from bot.jobs.fair_queue import UnitQueue
from bot.jobs.progress import JobRequest

logger = logging.getLogger(__name__)

DEFAULT_LEASE_SECONDS = 30.0


class LeaseLost(Exception):
    """Another process took the job over (this one's lease lapsed): leave it to that one."""


class LeaseHolder(abc.ABC):
    # Whether other processes share this journal (and so can run what this one admits).
    SHARED: ClassVar[bool] = False

    def __init__(self, lease_seconds: float) -> None:
        self.lease_seconds = lease_seconds
        # Names this process in ``leased_by``: unique even for pids reused on one host.
        self.owner = f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    @abc.abstractmethod
    async def renew_leases(self) -> None:
        """Extend every lease this process holds, in one write."""

    @abc.abstractmethod
    async def release_leases(self) -> None:
        """Let go of every lease this process holds (it is stopping): others take over."""

    @abc.abstractmethod
    async def take_over(self) -> list[Entry]:
        """Lease the unfinished jobs nobody holds (a process died, or let them go),
        oldest first. Two processes asking at once never get the same job."""

    async def wait_for_released(self, within: float) -> None:
        """Until jobs may have been let go by a process (or ``within`` seconds)."""
        await asyncio.sleep(within)

    def shared_pacer(self, concurrency: int, min_interval: float) -> CallPacer | None:
        """A pacer every process on this journal shares, if the store has one (else
        each process paces itself: SQLite serves one process)."""
        return None

    def shared_queue(self, concurrency: int, min_interval: float) -> UnitQueue[JobRequest] | None:
        """The line of units every process on this journal shares, if the store has
        one: taken as the shared pacer would start them."""
        return None

    async def writable(self, within: float = 3.0) -> bool:
        """Whether the journal answers, and would take a write, within ``within`` s
        (for health checks: a replica that cannot journal cannot acknowledge)."""
        try:
            async with asyncio.timeout(within):
                await self._probe()
        except Exception as exc:  # unreachable, read-only, locked: all mean "not now"
            logger.warning("the journal is not writable: %s", type(exc).__name__)
            return False
        return True

    @abc.abstractmethod
    async def _probe(self) -> None:
        """Raise unless the database answers and would take a write."""
