"""``banana-bot sandbox``: the real bot against a built-in Slack, in the browser."""

from bot.sandbox.run import run_sandbox

__all__ = ["run_sandbox"]
