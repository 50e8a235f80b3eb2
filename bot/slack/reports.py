"""Text for the people who run the bot: the stats card's lines, the budget's
notices and refusal, and the answer to ``/banana forget``. Words come from
:mod:`bot.text`; ids from the journal are shown as Slack mentions only when they
look like ids, escaped otherwise."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from bot.jobs.accounting import Forgotten, Stats, Tally
from bot.jobs.budget import Notice
from bot.slack.mrkdwn import escape
from bot.text import COMMAND, count, say


def reset_time(when: float) -> str:
    """``2026-12-01 00:00 UTC``: a date every reader parses the same way."""
    return say("budget.resets", date=f"{dt.datetime.fromtimestamp(when, dt.UTC):%Y-%m-%d}")


def budget_refusal(resets_at: float) -> str:
    return say("refused.budget", resets=reset_time(resets_at))


def budget_notice(notice: Notice) -> str:
    return say(
        "budget.notice_100" if notice.threshold >= 100 else "budget.notice_80",
        percent=notice.threshold,
        spent=f"{notice.spent:.2f}",
        budget=f"{notice.budget:.2f}",
        resets=reset_time(notice.resets_at),
    )


def budget_line(spent: float, budget: float, resets_at: float) -> str:
    return say(
        "stats.budget",
        spent=f"{spent:.2f}",
        budget=f"{budget:.2f}",
        percent=f"{100 * spent / budget:.0f}",
        resets=reset_time(resets_at),
    )


def _rate(part: int, whole: int) -> str:
    percent = f"{100 * part / whole:.1f}" if whole else "0"
    return say("stats.rate", percent=percent, count=part)


def _seconds(value: float | None) -> str:
    return say("stats.no_time") if value is None else f"{value:.0f}s"


def stats_summary(window: str, stats: Stats) -> str:
    """One window's totals: images and cost, refusal and failure rates, times."""
    return say(
        "stats.summary",
        window=window,
        images=count("count.image", stats.images),
        cost=f"{stats.cost:.2f}",
        refusals=_rate(stats.declined, stats.requests),
        failures=_rate(stats.failed, stats.requests),
        requests=count("count.request", stats.requests),
        p50=_seconds(stats.p50),
        p95=_seconds(stats.p95),
    )


def _who(slack_id: str, kind: str) -> str:
    if not slack_id.isalnum():
        return escape(slack_id)
    if kind == "user":
        return f"<@{slack_id}>"
    return say("stats.dm") if slack_id.startswith("D") else f"<#{slack_id}>"


def tally_lines(title_key: str, tallies: Sequence[Tally], kind: str) -> str:
    """A top-ten list under its title: ``1. @alice — 12 images · $0.80``."""
    lines = [say(title_key)]
    lines += [
        say(
            "stats.tally",
            rank=rank,
            who=_who(tally.who, kind),
            images=count("count.image", tally.images),
            cost=f"{tally.cost:.2f}",
        )
        for rank, tally in enumerate(tallies, 1)
    ] or [say("stats.nothing")]
    return "\n".join(lines)


def forgotten_text(forgotten: Forgotten) -> str:
    text = say("forget.done", count=forgotten.erased) + say("forget.posted_stay")
    if forgotten.in_progress:
        requests = count("count.request", forgotten.in_progress)
        text += say("forget.in_progress", requests=requests, command=COMMAND)
    return text
