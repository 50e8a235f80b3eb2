"""HTTP header values that both of the bot's HTTP clients read (gateway and Slack)."""

from __future__ import annotations

import email.utils
import math
import time


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value: a number of seconds or an HTTP
    date (RFC 9110 §10.2.3). None when absent or unreadable; never negative, never
    infinite (``inf`` from a hostile host would park a retry forever)."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
