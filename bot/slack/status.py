"""Status lines: what each job's line shows, and when it may next be edited.

Slack allows about one ``chat.update`` per message per few seconds and ~50 a
minute per workspace, so progress ticks are thinned out; a final edit (the
result, a failure) waits for its turn instead.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any

from bot.jobs.job import StatusRef
from bot.slack.writer import DeliveryError, SlackWriter

logger = logging.getLogger(__name__)

MIN_EDIT_GAP = 3.0  # seconds between two edits of one status line


class EditBudget:
    """Progress edits share Slack's ``chat.update`` allowance (Tier 3, ~50 a minute per
    workspace): a token bucket refilled at ``per_minute``; final edits do not ask."""

    def __init__(self, per_minute: float = 40.0, burst: int = 10) -> None:
        self._rate = per_minute / 60.0
        self._burst = float(burst)
        self._tokens = float(burst)
        self._stamp = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self._tokens = min(self._burst, self._tokens + (now - self._stamp) * self._rate)
        self._stamp = now
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True


@dataclass
class _Line:
    shown: str = ""
    last_edit: float = 0.0
    moved_to_dm: bool = False


class StatusLines:
    def __init__(self, writer: SlackWriter) -> None:
        self._writer = writer
        self._budget = EditBudget()
        self._lines: dict[StatusRef, _Line] = {}

    def opened(self, ref: StatusRef, text: str, *, moved_to_dm: bool) -> None:
        self._lines[ref] = _Line(text, time.monotonic(), moved_to_dm)

    def moved_to_dm(self, ref: StatusRef) -> bool:
        line = self._lines.get(ref)
        return bool(line and line.moved_to_dm)

    def forget(self, ref: StatusRef) -> None:
        """The job is over: its line is never edited again by this process."""
        self._lines.pop(ref, None)

    async def show(
        self,
        ref: StatusRef,
        text: str,
        *,
        final: bool = False,
        blocks: list[dict[str, Any]] | None = None,
    ) -> None:
        """Edit the line, at most once per ``MIN_EDIT_GAP`` seconds.

        A non-final edit inside the gap, or beyond the workspace's edit budget, is
        skipped (the next tick carries the newer state); a final one waits for the gap.

        Raises:
            DeliveryError: a final edit failed (a failed tick is only logged).
        """
        line = self._lines.setdefault(ref, _Line())
        if text == line.shown and blocks is None:
            return
        wait = line.last_edit + MIN_EDIT_GAP - time.monotonic()
        if not final and (wait > 0 or not self._budget.take()):
            return  # a later tick carries the newer state
        if wait > 0:
            await asyncio.sleep(wait)
        try:
            await self._writer.update(ref.conversation, ref.message, text, blocks)
        except DeliveryError as exc:
            if final:
                raise
            logger.warning("status edit failed: %s", exc.code)
            return
        line.shown, line.last_edit = text, time.monotonic()
