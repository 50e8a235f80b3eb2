"""A round-robin queue of image units across users.

Each image of a request is one unit. Workers take units user by user, so
one person's ``--n 4`` batch (or three queued requests) cannot starve the
others: with users A (4 units) and B (1 unit) the order is A1 B1 A2 A3 A4.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict, deque
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

T = TypeVar("T")


class QueueClosed(Exception):
    """The queue takes and gives no more work (the bot is shutting down)."""


@dataclass(eq=False)
class Unit(Generic[T]):
    user: str
    job_id: str
    payload: T
    result: asyncio.Future[object] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class UnitQueue(Protocol[T]):
    """Where units wait for a worker: :class:`FairQueue` in one process, or the line
    replicas share in PostgreSQL (``bot/jobs/store/postgres_queue.py``)."""

    def __len__(self) -> int:
        """This process's units waiting."""
        ...

    async def put(self, unit: Unit[T]) -> None: ...

    async def get(self) -> Unit[T]:
        """The next unit for this process's workers; waits for one.

        Raises:
            QueueClosed: the queue was closed.
        """
        ...

    async def ahead(self, job_id: str, in_flight_here: int) -> int | None:
        """Images that will start before this job's first one, those being generated
        included (None: it has none waiting)."""
        ...

    async def withdraw(self, job_id: str) -> list[Unit[T]]:
        """Take a job's waiting units out of the line (a cancel)."""
        ...

    async def cancel(
        self, user: str, unstarted: Collection[str], error: Callable[[], BaseException]
    ) -> int:
        """Cancel the user's jobs none of whose units started, wherever they wait
        (``unstarted``: this process's); their units here fail with ``error()``.
        Returns how many jobs were cancelled."""
        ...

    async def forget_cancelled(self, error: Callable[[], BaseException]) -> None:
        """Fail with ``error()`` this process's units that another process cancelled."""
        ...

    async def close(self) -> list[Unit[T]]:
        """Stop handing out units; returns this process's units still waiting."""
        ...


def fail(units: Iterable[Unit[T]], error: Callable[[], BaseException]) -> None:
    """Settle units that will not run: whoever waits on them hears ``error()``."""
    for unit in units:
        if not unit.result.done():
            unit.result.set_exception(error())


def round_robin(lanes: list[list[T]]) -> list[T]:
    """Items one lane at a time, in lane order: [[a1, a2], [b1]] gives a1 b1 a2."""
    result: list[T] = []
    depth = 0
    while any(depth < len(lane) for lane in lanes):
        result.extend(lane[depth] for lane in lanes if depth < len(lane))
        depth += 1
    return result


class FairQueue(Generic[T]):
    """The :class:`UnitQueue` of one process."""

    def __init__(self) -> None:
        self._by_user: OrderedDict[str, deque[Unit[T]]] = OrderedDict()
        self._ready = asyncio.Condition()
        self._closed = False

    def __len__(self) -> int:
        return sum(len(units) for units in self._by_user.values())

    async def put(self, unit: Unit[T]) -> None:
        if self._closed:
            raise QueueClosed()
        async with self._ready:
            self._by_user.setdefault(unit.user, deque()).append(unit)
            self._ready.notify()

    async def get(self) -> Unit[T]:
        """The next unit in round-robin order; waits for one.

        Raises:
            QueueClosed: the queue was closed.
        """
        async with self._ready:
            while not self._by_user:
                if self._closed:
                    raise QueueClosed()
                await self._ready.wait()
            if self._closed:
                raise QueueClosed()
            user, units = next(iter(self._by_user.items()))
            unit = units.popleft()
            del self._by_user[user]
            if units:  # the user goes to the back of the line
                self._by_user[user] = units
            return unit

    def order(self) -> list[Unit[T]]:
        """Every waiting unit in the order workers will take them."""
        return round_robin([list(units) for units in self._by_user.values()])

    def ahead_of(self, job_id: str) -> int | None:
        """How many units will be taken before this job's first one (None: none waiting)."""
        for index, unit in enumerate(self.order()):
            if unit.job_id == job_id:
                return index
        return None

    async def ahead(self, job_id: str, in_flight_here: int) -> int | None:
        index = self.ahead_of(job_id)
        return None if index is None else index + in_flight_here

    async def withdraw(self, job_id: str) -> list[Unit[T]]:
        return self.remove_job(job_id)

    async def cancel(
        self, user: str, unstarted: Collection[str], error: Callable[[], BaseException]
    ) -> int:
        for job_id in unstarted:
            fail(self.remove_job(job_id), error)
        return len(unstarted)

    async def forget_cancelled(self, error: Callable[[], BaseException]) -> None:
        """Nothing to do: no other process shares this queue."""

    def remove_job(self, job_id: str) -> list[Unit[T]]:
        """Take a job's waiting units out of the queue (a cancel)."""
        removed: list[Unit[T]] = []
        for user in list(self._by_user):
            kept = deque(u for u in self._by_user[user] if u.job_id != job_id)
            removed.extend(u for u in self._by_user[user] if u.job_id == job_id)
            if kept:
                self._by_user[user] = kept
            else:
                del self._by_user[user]
        return removed

    async def close(self) -> list[Unit[T]]:
        """Stop handing out units; returns those still waiting."""
        async with self._ready:
            self._closed = True
            waiting = self.order()
            self._by_user.clear()
            self._ready.notify_all()
            return waiting
