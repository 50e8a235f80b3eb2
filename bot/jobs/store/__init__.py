"""The journal's two stores (see ``bot/jobs/journal.py`` for the interface).

``sqlite``: the embedded default, one process, locked against a second one.
``postgres``: one server shared by replicas; atomic across them.
Each has its numbered schema migrations beside it (``*_schema.py``), and its
accounting queries (``*_accounting.py``).
"""

from __future__ import annotations

from bot.jobs.journal import StoreError


def schema_too_new(shown: str, found: int, known: int) -> StoreError:
    """A database written by a newer banana-bot: never guess at its schema."""
    return StoreError(
        f"the journal at {shown} has schema version {found}, newer than "
        f"this banana-bot knows ({known}); run the newer banana-bot, or point "
        "BANANA_DB elsewhere"
    )
