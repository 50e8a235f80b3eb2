"""Slack message text → the plain text a person meant to type.

Slack escapes ``& < >`` and wraps mentions, channels, links and broadcasts in
``<...>`` control sequences; a prompt must read as the user saw it.
"""

from __future__ import annotations

import re

_CONTROL = re.compile(r"<([^<>]*)>")


def _readable(match: re.Match[str]) -> str:
    inner = match.group(1)
    target, _, label = inner.partition("|")
    if target.startswith("@"):  # <@U123> or <@U123|bob>
        return "@" + (label or target[1:])
    if target.startswith("#"):  # <#C123|general>
        return "#" + (label or target[1:])
    if target.startswith("!"):  # <!here>, <!subteam^S1|@team>, <!date^...|fallback>
        if label:
            return label if label.startswith("@") or "^" in target[:6] else "@" + label
        return "@" + target[1:].split("^", 1)[0]
    if label:  # <http://x|label>, <mailto:a@b|a@b>
        return label
    return target.removeprefix("mailto:")


def to_plain(text: str) -> str:
    """Rewrite control sequences first, then unescape ``&lt; &gt;``, then ``&amp;`` last."""
    text = _CONTROL.sub(_readable, text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def strip_user_mentions(text: str, user_id: str) -> str:
    """Remove every ``<@USER>`` / ``<@USER|name>`` of ``user_id`` (the bot's own mention)."""
    return re.sub(rf"<@{re.escape(user_id)}(?:\|[^>]*)?>", " ", text)
