"""What the bot says, by key: the one way user text is made.

``say("status.queued", request=...)`` looks the key up and fills its named
parameters; an entry with plural forms is chosen by the ``count`` parameter.
Code never spells out user text itself, so a second language is a second
catalog, not a hunt through f-strings.
"""

from __future__ import annotations

from bot.text.english import MESSAGES

COMMAND = "/banana"  # the slash command, as the manifest declares it


class MissingMessage(KeyError):
    """A key that no catalog has: a bug, caught by the catalog's tests."""


def say(key: str, /, **params: object) -> str:
    """The text for ``key`` with ``params`` filled in."""
    try:
        entry = MESSAGES[key]
    except KeyError as exc:
        raise MissingMessage(key) from exc
    if isinstance(entry, dict):
        count = params.get("count")
        form = "one" if count == 1 else "other"
        entry = entry.get(form) or entry["other"]
    return entry.format(**params) if params else entry


def count(key: str, number: int) -> str:
    """``count("count.image", 3)`` → ``3 images``."""
    return say(key, count=number)


__all__ = ["COMMAND", "MissingMessage", "count", "say"]
