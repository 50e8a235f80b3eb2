"""Placeholder until the server entry point lands (replaced in this change)."""

from __future__ import annotations

import sys

from bot.settings import Settings


def run_serve(settings: Settings) -> int:
    print("banana-bot: 'server' is not available yet", file=sys.stderr)
    return 1
