"""Placeholder until the sandbox entry point lands (replaced in this change)."""

from __future__ import annotations

import sys

from bot.settings import Settings


def run_sandbox(settings: Settings) -> int:
    print("banana-bot: 'sandbox' is not available yet", file=sys.stderr)
    return 1
