"""Text in Slack's markup (mrkdwn): the words come from :mod:`bot.text`; this
module escapes what came from outside and adds mentions, links and emphasis."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from bot.generation import GenerationError
from bot.generation.model import estimated_cost
from bot.jobs import Job, Usage
from bot.jobs.job import State
from bot.options import RATIOS, ImageOptions, ParsedRequest, UsageError
from bot.text import COMMAND, count, say
from bot.text import failures as _failures
from bot.text.failures import clip
from bot.text.options import listing, ratio_names_text, sizes_text, usage_words


def escape(text: str) -> str:
    """Slack mrkdwn escaping, so outside text can never ping, link or format as markup."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def short(prompt: str, limit: int = 200) -> str:
    """A prompt on one line, cut to ``limit`` characters, escaped."""
    one_line = " ".join(prompt.split())
    return escape(one_line if len(one_line) <= limit else one_line[: limit - 1] + "…")


def mention(user: str) -> str:
    return f"<@{user}>"


def link(url: str, label: str) -> str:
    return f"<{url}|{label}>"


def permalink(base_url: str, channel: str, ts: str, thread_ts: str | None = None) -> str:
    url = f"{base_url.rstrip('/')}/archives/{channel}/p{ts.replace('.', '')}"
    if thread_ts and thread_ts != ts:
        url += f"?thread_ts={thread_ts}&cid={channel}"
    return url


def failure_text(error: GenerationError) -> str:
    """Why a generation failed, with the model's and the gateway's words escaped."""
    return _failures.failure_text(error, escape)


def describe(options: ImageOptions) -> str:
    """``16:9 · 2K`` (and ``· 3 images`` for a batch), in the reader's language."""
    shown = [options.aspect_ratio, options.size]
    if options.count > 1:
        shown.append(count("count.image", options.count))
    return " · ".join(shown)


def retry_command(job: Job) -> str:
    """The one line that asks for the same image again."""
    return escape(f"{COMMAND} {job.prompt} {job.options.flags()}")


def request_line(job: Job) -> str:
    """Who asked for what: ``@alice: _a cat_ · 16:9 · 2K``."""
    return say(
        "request", user=mention(job.user), prompt=short(job.prompt), options=describe(job.options)
    )


def status_text(
    job: Job,
    state: State,
    elapsed: float,
    detail: str = "",
    *,
    attempts: int = 0,
    ahead: int | None = None,
) -> str:
    """The one status line a job shows while it moves: queued → running → failed."""
    request = request_line(job)
    if state == "queued":
        if ahead:
            return say("status.queued_ahead", ahead=count("count.image", ahead), request=request)
        return say("status.queued", request=request)
    if state == "running":
        retrying = say("status.retrying") if attempts > job.options.count else ""
        return say("status.running", elapsed=f"{elapsed:.0f}", retrying=retrying, request=request)
    if state == "failed":
        return say("status.failed", request=request, reason=detail)
    if state == "spooled":
        return say("status.spooled", request=request)
    return say("status.done", request=request)


def byte_size(size: int) -> str:
    """``52428800`` → ``50 MB``; small sizes in KB."""
    if size >= 1024**2:
        return f"{size / 1024**2:.0f} MB"
    return f"{max(1, round(size / 1024))} KB"


def _code(text: str) -> str:
    return f"`{text}`"


def usage_text(command: str = COMMAND) -> str:
    """Help: every option and tip, with the option names of the reader's language."""
    return "\n".join(
        [
            say("help.usage", command=command),
            say("help.example", command=command),
            "",
            say("help.ratios", ratios=listing(RATIOS)),
            say("help.ratio_names", aliases=ratio_names_text(_code)),
            say("help.sizes", sizes=sizes_text(_code)),
            say("help.count"),
            say("help.edit"),
            say("help.more", command=command),
            say("help.language", command=command),
            "",
            say("help.tips"),
        ]
    )


def usage_error_text(error: UsageError, command: str = COMMAND) -> str:
    if error.empty_prompt:
        return usage_text(command)
    return say("usage_error", error=usage_words(error, escape), command=command)


def plain_usage_error(error: UsageError) -> str:
    """What is wrong, for a modal's field: Slack shows it as plain text, so no markup."""
    return usage_words(error).replace("`", "")


def ack_text(parsed: ParsedRequest, quota_note: str = "") -> str:
    """The slash command's instant, ephemeral acknowledgement."""
    note = f" {quota_note}" if quota_note else ""
    return say("ack", prompt=short(parsed.prompt, 120), options=describe(parsed.options), note=note)


def quota_note(job: Job, used_today: int, quota: int | None, *, free: bool = False) -> str:
    """What a request costs, said before it is made (``quota`` None: no quota;
    ``free``: offline previews, which cost nothing)."""
    if free:
        cost = say("quota.free_preview", count=job.options.count)
    else:
        dollars = estimated_cost(job.options.size, job.options.count)
        cost = say("quota.estimate", dollars=f"{dollars:.2f}")
    if quota is None:
        return say("quota.price", cost=cost)
    return say("quota.price_and_use", cost=cost, used=count("count.image", used_today), quota=quota)


class Made(Protocol):
    """One generation, as a result comment names it."""

    @property
    def logid(self) -> str: ...
    @property
    def text(self) -> str: ...


def _useful_model_text(text: str) -> str | None:
    """The model's words are worth showing when they say more than a preamble."""
    text = " ".join(text.split())
    return text if len(text) >= 40 else None


def result_comment(
    *,
    user: str,
    prompt: str,
    options: ImageOptions,
    elapsed: float,
    generations: Sequence[Made],
    failures: Sequence[GenerationError],
) -> str:
    """The comment on the uploaded images: who, what, options, time, logid."""
    logids = " ".join(f"`{escape(g.logid)}`" for g in generations)
    lines = [
        say("result.asked_for", user=mention(user), prompt=short(prompt, 500)),
        say(
            "result.details",
            ratio=options.aspect_ratio,
            size=options.size,
            elapsed=f"{elapsed:.0f}",
            logids=logids,
        ),
    ]
    said = {t for g in generations if (t := _useful_model_text(g.text))}
    lines.extend(f"> {escape(clip(text))}" for text in sorted(said))
    if failures:
        lines.append(
            say(
                "result.some_failed",
                failed=len(failures),
                count=options.count,
                reason=failure_text(failures[0]),
            )
        )
    return "\n".join(lines)


def inputs_note(names: Sequence[str]) -> str:
    """Which images the model was given to edit."""
    return say("result.edited_from", names=", ".join(f"_{escape(name)}_" for name in names))


def origin_note(url: str | None) -> str:
    """The first line of a result made from an earlier one."""
    earlier = say("result.earlier_image")
    return say("result.from_earlier", earlier=link(url, earlier) if url else earlier)


def usage_report_text(usage: Usage, quota: int, is_admin: bool, *, free: bool = False) -> str:
    """Today's images, the quota left, the cost (none for ``free`` offline previews)."""
    left = (
        say("usage.admin")
        if is_admin
        else say("usage.left", left=max(0, quota - usage.images_today), quota=quota)
    )
    cost = (
        say("usage.free")
        if free
        else say("usage.cost", today=f"{usage.cost_today:.2f}", month=f"{usage.cost_month:.2f}")
    )
    return "\n".join(
        [
            say("usage.today", images=count("count.image", usage.images_today), left=left),
            cost,
            say("usage.active", active=usage.active),
        ]
    )


def cancel_report_text(cancelled: int) -> str:
    if not cancelled:
        return say("cancel.none")
    return say("cancel.done", requests=count("count.queued_request", cancelled))


@dataclass(frozen=True)
class HistoryItem:
    prompt: str
    options: ImageOptions
    finished_at: float
    version: int | None
    link: str | None


def history_text(entries: Sequence[HistoryItem], command: str = COMMAND) -> str:
    if not entries:
        return say("history.empty", command=command)
    lines = [say("history.title")]
    for item in entries:
        finished = dt.datetime.fromtimestamp(item.finished_at, dt.UTC)
        when = finished.strftime(say("history.date_format"))
        opened = f" · {link(item.link, say('history.open'))}" if item.link else ""
        version = say("history.version", version=item.version) if item.version else ""
        lines.append(
            say(
                "history.item",
                version=version,
                prompt=f"_{short(item.prompt, 80)}_",
                options=describe(item.options),
                when=when,
                opened=opened,
            )
        )
    return "\n".join(lines)
