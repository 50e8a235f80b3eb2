"""Remember which Slack deliveries were already accepted, so a retried event
or a duplicate delivery never costs a second generation."""

from __future__ import annotations

import time
from collections import OrderedDict


class DeliveryMemory:
    def __init__(self, ttl_seconds: float = 3600.0, capacity: int = 50_000) -> None:
        self._ttl = ttl_seconds
        self._capacity = capacity
        self._seen: OrderedDict[str, float] = OrderedDict()

    def first_time(self, *keys: str) -> bool:
        """True (and remembered) if none of ``keys`` was seen within the TTL."""
        now = time.monotonic()
        while self._seen and (
            len(self._seen) > self._capacity or next(iter(self._seen.values())) < now - self._ttl
        ):
            self._seen.popitem(last=False)
        present = [k for k in keys if k]
        if any(k in self._seen for k in present):
            return False
        for key in present:
            self._seen[key] = now
        return True
