"""Every user-facing string, and where errors become user text.

The CLI and the Slack bot both speak through here, so a refusal or a busy
gateway reads the same everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

from bot.generation import (
    BadRequest,
    Declined,
    GatewayErrorCode,
    Generation,
    GenerationError,
    KeyRejected,
    MalformedAnswer,
    RateLimited,
    UpstreamUnavailable,
)
from bot.options import RATIO_ALIASES, RATIOS, SIZES, ImageOptions, ParsedRequest, UsageError

if TYPE_CHECKING:
    from bot.jobs import Job

JobState = Literal["queued", "generating", "done", "failed"]

MOVED_TO_DM_TEXT = (
    "I can't post in this conversation (invite me with `/invite @banana` to fix that), "
    "so your image is coming to our DM instead."
)
SHUTDOWN_TEXT = "The bot restarted before your image was ready — please send the request again."
UNEXPECTED_TEXT = "Something went wrong on the bot's side — please try again."
SHUTTING_DOWN_TEXT = "The bot is restarting — send that again in a few seconds."
UNKNOWN_COMMAND_TEXT = "I only know `/banana`. Try `/banana help`."

_REFUSAL_REASONS = {
    "IMAGE_SAFETY": "the image tripped the model's safety filter",
    "SAFETY": "the request tripped the model's safety filter",
    "IMAGE_PROHIBITED_CONTENT": "the image would show prohibited content",
    "PROHIBITED_CONTENT": "the request asks for prohibited content",
    "IMAGE_RECITATION": "the image would copy an existing work too closely",
    "RECITATION": "the answer would copy an existing work too closely",
    "NO_IMAGE": "the model produced no image",
}
REPHRASE_HINT = (
    "Try rephrasing: describe the scene plainly, and leave out real people's names, "
    "brands and anything graphic."
)


def usage_text(command: str = "/banana") -> str:
    aliases = ", ".join(f"`{name}` {ratio}" for name, ratio in RATIO_ALIASES.items())
    return "\n".join(
        [
            f"*Usage:* `{command} <what to draw> [--ar W:H] [--size 1K|2K] [--n N]`",
            f"Example: `{command} a shiba inu in a park --ar 16:9 --size 2K`",
            "",
            f"*Ratios* (`--ar`): {', '.join(RATIOS)} (default 1:1)",
            f"*Ratio names*: {aliases}, e.g. `--ar wide`",
            f"*Sizes* (`--size`): {', '.join(SIZES)} (default 1K)",
            "*Count* (`--n`): how many images, one call each",
            "",
            "*Tips:* portraits 2:3 or 3:4 · banners 16:9 or 21:9 · social posts 1:1 or 9:16. "
            "Say the style, light and mood; Chinese and English both work. "
            'Quote a prompt that contains dashes: `"--like this"`.',
        ]
    )


def refusal_reason(finish_reason: str | None) -> str | None:
    if not finish_reason:
        return None
    return _REFUSAL_REASONS.get(finish_reason.upper(), f"the model stopped with {finish_reason}")


def failure_text(error: GenerationError) -> str:
    """What the requester reads when a generation fails (Slack and terminal alike)."""
    if isinstance(error, Declined):
        reason = refusal_reason(error.finish_reason)
        said = f" It said: “{error.model_text}”" if error.model_text else ""
        why = f" ({reason})" if reason else ""
        return f"The model declined to draw this{why}.{said} {REPHRASE_HINT}"
    if isinstance(error, RateLimited):
        return "The image service is busy right now — try again in a minute."
    if isinstance(error, UpstreamUnavailable):
        if "timed out" in str(error):
            return "The image service took too long to answer — try again in a minute."
        return "The image service is unavailable right now — try again in a minute."
    if isinstance(error, KeyRejected):
        return "The image service rejected the bot's key — tell the bot's admin."
    if isinstance(error, BadRequest):
        return f"The image service refused the request ({error}) — tell the bot's admin."
    if isinstance(error, GatewayErrorCode):
        return (
            f"The image service returned an error ({error.code}: {error.gateway_message}). "
            "Try again; if it keeps happening, tell the bot's admin."
        )
    if isinstance(error, MalformedAnswer):
        return "The image service sent back a broken answer — try again."
    return f"Something went wrong generating the image ({error}) — try again."


def cli_failure_text(error: GenerationError) -> str:
    """One line for the terminal, where the reader is usually the admin."""
    if isinstance(error, KeyRejected):
        return f"the gateway rejected BANANA_API_KEY ({error.status}): check the key and network"
    if isinstance(error, BadRequest):
        return f"{error}; check BANANA_API_URL / BANANA_NETWORK and BANANA_MODEL"
    text = failure_text(error)
    return text.replace("tell the bot's admin", "check the bot's settings")


def escape(text: str) -> str:
    """Slack mrkdwn escaping, so a prompt can never ping or link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _short(prompt: str, limit: int = 200) -> str:
    one_line = " ".join(prompt.split())
    return escape(one_line if len(one_line) <= limit else one_line[: limit - 1] + "…")


def usage_error_text(error: UsageError, command: str = "/banana") -> str:
    if error.empty_prompt:
        return usage_text(command)
    return f"{error}\nType `{command} help` for all options."


def ack_text(parsed: ParsedRequest) -> str:
    """The slash command's instant, ephemeral acknowledgement."""
    return (
        f"🍌 Generating _{_short(parsed.prompt, 120)}_ · {parsed.options.describe()} — "
        "I'll post it here when it's ready."
    )


def status_text(
    job: Job, state: JobState, elapsed: float, detail: str = "", *, attempts: int = 0
) -> str:
    """The one status line a job shows while it moves: queued → generating → failed."""
    request = f"<@{job.user}>: _{_short(job.prompt)}_ · {job.options.describe()}"
    if state == "queued":
        return f"⏳ Queued — {request}"
    if state == "generating":
        retry = " (the image service is busy, retrying)" if attempts > job.options.count else ""
        return f"🎨 Generating… {elapsed:.0f}s{retry} — {request}"
    if state == "failed":
        return f"❌ {request}\n{detail}"
    return f"✅ Done — {request}"


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
    generations: Sequence[Generation],
    failures: Sequence[GenerationError],
) -> str:
    """The comment on the uploaded images: who, what, options, time, logid."""
    logids = " ".join(f"`{g.logid}`" for g in generations)
    lines = [
        f"<@{user}> asked for: _{_short(prompt, 500)}_",
        f"{options.aspect_ratio} · {options.size} · {elapsed:.0f}s · logid {logids}",
    ]
    said = {t for g in generations if (t := _useful_model_text(g.text))}
    lines.extend(f"> {escape(text)}" for text in sorted(said))
    if failures:
        lines.append(
            f"⚠️ {len(failures)} of {options.count} images failed: {failure_text(failures[0])}"
        )
    return "\n".join(lines)


def upload_failed_text(error: Exception) -> str:
    return f"Your image was made, but Slack would not take the upload ({error}). Try again."
