"""Status lines: what each job's line shows, and when it may next be edited.

Slack allows ~50 ``chat.update`` a minute per workspace, so the ticking figures
(the seconds, the queue position) are thinned out: at most one tick per line
every few seconds, within a shared budget. What the line *says* — queued,
generating, retrying, the result, a failure — is never thinned out nor
delayed: a short job must not read "Queued" through its whole generation.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from bot.jobs.job import StatusRef
from bot.slack.errors import DeliveryError
from bot.slack.writer import SlackWriter

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
        """One token for a tick, if there is one."""
        self._refill()
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True

    def spend(self) -> None:
        """A token for an edit that goes anyway (a change of state): ticks wait longer."""
        self._refill()
        self._tokens -= 1

    def _refill(self) -> None:
        now = time.monotonic()
        self._tokens = min(self._burst, self._tokens + (now - self._stamp) * self._rate)
        self._stamp = now


@dataclass
class _Line:
    shown: str = ""
    gist: str = ""  # what ``shown`` says, without its ticking figures
    last_edit: float = 0.0
    moved_to_dm: bool = False


class StatusLines:
    def __init__(self, writer: SlackWriter) -> None:
        self._writer = writer
        self._budget = EditBudget()
        self._lines: dict[StatusRef, _Line] = {}

    def opened(self, ref: StatusRef, text: str, *, gist: str, moved_to_dm: bool) -> None:
        self._lines[ref] = _Line(text, gist, time.monotonic(), moved_to_dm)

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
        gist: str | None = None,
        final: bool = False,
        blocks: list[dict[str, Any]] | None = None,
    ) -> None:
        """Edit the line: at once when what it says changes, else as a tick.

        ``gist`` is ``text`` without its ticking figures (None: all of it). A new
        gist, and a final edit, go now, whatever the gap or the budget. A tick —
        only the figures moved — goes at most once per ``MIN_EDIT_GAP`` seconds
        and within the workspace's edit budget, else it is skipped (a later tick
        carries the newer figures).

        Raises:
            DeliveryError: a final edit failed (any other failure is only logged).
        """
        line = self._lines.setdefault(ref, _Line())
        if text == line.shown and blocks is None:
            return
        gist = text if gist is None else gist
        if final or gist != line.gist:
            self._budget.spend()
        elif time.monotonic() < line.last_edit + MIN_EDIT_GAP or not self._budget.take():
            return  # a later tick carries the newer figures
        try:
            await self._writer.update(ref.conversation, ref.message, text, blocks)
        except DeliveryError as exc:
            if final:
                raise
            logger.warning("status edit failed: %s", exc.code)
            return
        line.shown, line.gist, line.last_edit = text, gist, time.monotonic()
