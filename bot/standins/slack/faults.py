"""Why the stand-in refuses a call that would otherwise succeed: errors a test
queued for a method, an outage, or Slack's rate limit on posting."""

from __future__ import annotations

import time
from collections import defaultdict, deque


class Faults:
    def __init__(self) -> None:
        self._queued: dict[str, deque[str]] = defaultdict(deque)
        self._down_until = 0.0  # an outage (see ``outage``) lasts until then
        self._down_methods: frozenset[str] = frozenset()
        # Slack's chat.postMessage limit, ~1 post/s per channel with short bursts:
        # (burst, posts per second) when set; over it → 429 with Retry-After.
        self.post_limit: tuple[int, float] | None = None
        self._post_buckets: dict[str, tuple[float, float]] = {}  # channel → (tokens, at)

    def fail(self, method: str, *errors: str) -> None:
        """The next calls of ``method`` fail with these errors (``ratelimited`` → HTTP 429)."""
        self._queued[method].extend(errors)

    def next_error(self, method: str) -> str | None:
        """The error queued for this call of ``method``, if any (it is used up)."""
        queued = self._queued[method]
        return queued.popleft() if queued else None

    def outage(self, seconds: float, *methods: str) -> None:
        """Slack answers 503 for ``seconds`` from now: to every call, or to these
        methods (Web API names, ``upload`` for the bytes, ``response_url``)."""
        self._down_until = time.monotonic() + seconds
        self._down_methods = frozenset(methods)

    def down(self, method: str) -> bool:
        if time.monotonic() >= self._down_until:
            return False
        return not self._down_methods or method in self._down_methods

    def may_post(self, channel: str) -> bool:
        """Whether a post to ``channel`` is within ``post_limit`` (a token bucket)."""
        if self.post_limit is None:
            return True
        burst, rate = self.post_limit
        now = time.monotonic()
        tokens, at = self._post_buckets.get(channel, (float(burst), now))
        tokens = min(float(burst), tokens + (now - at) * rate)
        allowed = tokens >= 1
        self._post_buckets[channel] = (tokens - 1 if allowed else tokens, now)
        return allowed
