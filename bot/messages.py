"""Every user-facing string, and where errors become user text.

The CLI and the Slack bot both speak through here, so a refusal or a busy
gateway reads the same everywhere.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

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
from bot.generation.model import estimated_cost
from bot.options import RATIO_ALIASES, RATIOS, SIZES, ImageOptions, ParsedRequest, UsageError

if TYPE_CHECKING:
    from bot.jobs.job import Job
    from bot.jobs.journal import Usage

JobState = Literal["queued", "generating", "done", "failed"]

MOVED_TO_DM_TEXT = (
    "I can't post in this conversation (invite me with `/invite @banana` to fix that), "
    "so your image is coming to our DM instead."
)
UNEXPECTED_TEXT = "Something went wrong on the bot's side — please try again."
MALFORMED_TEXT = "That request arrived without its user or channel, so I can't answer it."
SHUTTING_DOWN_TEXT = "The bot is restarting — send that again in a few seconds."
UNKNOWN_COMMAND_TEXT = "I only know `/banana`. Try `/banana help`."
# Slack refuses a card whose section is over 3,000 characters: the model's (or
# the gateway's) words are cut well before that.
MODEL_WORDS_SHOWN = 600
# Slack's plain_text_input holds at most 3,000 characters.
INPUT_LIMIT = 3000

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
            "*Edit*: mention me with up to 4 images attached, or in a thread with my image "
            "(`@banana make it night`, `@banana v1 but in watercolor`), or use the "
            "message shortcut *Edit with banana*.",
            f"*More*: `{command} history` · `{command} usage` · `{command} cancel`",
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
        said = f" It said: “{_clip(error.model_text)}”" if error.model_text else ""
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
        return (
            f"The image service refused the request ({_clip(str(error))}) — tell the bot's admin."
        )
    if isinstance(error, GatewayErrorCode):
        return (
            f"The image service returned an error ({error.code}: {_clip(error.gateway_message)}). "
            "Try again; if it keeps happening, tell the bot's admin."
        )
    if isinstance(error, MalformedAnswer):
        return "The image service sent back a broken answer — try again."
    return f"Something went wrong generating the image ({_clip(str(error))}) — try again."


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


def ack_text(parsed: ParsedRequest, quota_note: str = "") -> str:
    """The slash command's instant, ephemeral acknowledgement."""
    return (
        f"🍌 Generating _{_short(parsed.prompt, 120)}_ · {parsed.options.describe()} — "
        f"I'll post it here when it's ready.{f' {quota_note}' if quota_note else ''}"
    )


def quota_note(job: Job, used_today: int, quota: int | None) -> str:
    """What a request costs, said before it is made (``quota`` None: no quota)."""
    cost = f"≈ ${estimated_cost(job.options.size, job.options.count):.2f}"
    if quota is None:
        return f"({cost})"
    return (
        f"({cost}; {_count(used_today, 'image')} of your {quota} today, refusals and failures free)"
    )


def _request(job: Job) -> str:
    return f"<@{job.user}>: _{_short(job.prompt)}_ · {job.options.describe()}"


def status_text(
    job: Job,
    state: JobState,
    elapsed: float,
    detail: str = "",
    *,
    attempts: int = 0,
    ahead: int | None = None,
) -> str:
    """The one status line a job shows while it moves: queued → generating → failed."""
    request = _request(job)
    if state == "queued":
        if ahead:
            return f"⏳ Queued — {_count(ahead, 'image')} ahead of yours — {request}"
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
    lines.extend(f"> {escape(_clip(text))}" for text in sorted(said))
    if failures:
        lines.append(
            f"⚠️ {len(failures)} of {options.count} images failed: {failure_text(failures[0])}"
        )
    return "\n".join(lines)


def upload_failed_text(error: Exception) -> str:
    return f"Your image was made, but Slack would not take the upload ({error}). Try again."


def origin_note(link: str | None) -> str:
    """The first line of a result made from an earlier one."""
    return f"↩️ From <{link}|an earlier image>" if link else "↩️ From an earlier image"


def not_started_text(job: Job) -> str:
    return (
        f"⚠️ I could not post in this conversation, so nothing was made: {_request(job)}\n"
        f"Slack may be busy; try again in a minute: `{escape(job.retry_command())}`"
    )


def paused_text(job: Job) -> str:
    return (
        f"⏸ Paused — the bot is restarting; your image will continue when it is back. "
        f"{_request(job)}"
    )


def cancelled_text(job: Job) -> str:
    return f"🚫 Cancelled — {_request(job)}"


def interrupted_text(job: Job, age_seconds: float) -> str:
    minutes = max(1, round(age_seconds / 60))
    return (
        f"⚠️ Your request was interrupted by a restart {minutes} min ago and was not finished: "
        f"{_request(job)}\nTo try again, send: `{escape(job.retry_command())}`"
    )


def interrupted_upload_text(job: Job) -> str:
    return (
        f"⚠️ The bot restarted while uploading your image: {_request(job)}\n"
        "If it is not here, send the request again: "
        f"`{escape(job.retry_command())}`"
    )


def too_many_queued_text(limit: int) -> str:
    return (
        f"🍳 You already have {_count(limit, 'image')} cooking — wait for one to finish, "
        "or `/banana cancel` the queued ones."
    )


def over_quota_text(used: int, quota: int, asked: int) -> str:
    left = max(0, quota - used)
    return (
        f"📉 That would go past your daily quota of {_count(quota, 'image')}: "
        f"{used} used or in progress, {left} left, you asked for {asked}. "
        "The quota resets at 00:00 UTC."
    )


def channel_not_allowed_text() -> str:
    return "Sorry, I'm not set up to make images in this channel. DM me instead!"


def usage_report_text(usage: Usage, quota: int, is_admin: bool) -> str:
    left = (
        "admins have no quota"
        if is_admin
        else f"{max(0, quota - usage.images_today)} of {quota} left; resets 00:00 UTC"
    )
    return "\n".join(
        [
            f"*Today:* {_count(usage.images_today, 'image')} ({left})",
            f"*Estimated cost:* ${usage.cost_today:.2f} today · ${usage.cost_month:.2f} this month",
            f"*In progress:* {usage.active}",
        ]
    )


def cancel_report_text(cancelled: int) -> str:
    if not cancelled:
        return "You have no queued images to cancel (running ones always finish)."
    return f"🚫 Cancelled {_count(cancelled, 'queued request')}. Running ones will finish."


# ---- Block Kit: result cards, buttons, the edit modal, history ----------------------------
ACTION_REROLL = "banana_reroll"
ACTION_RATIO = "banana_ratio"
ACTION_EDIT = "banana_edit"
ACTION_DELETE = "banana_delete"
VIEW_EDIT = "banana_edit"
VIEW_EDIT_MESSAGE = "banana_edit_message"
SHORTCUT_EDIT_MESSAGE = "banana_edit_message"
DELETE_DENIED_TEXT = "Only the person who asked for this image (or an admin) can delete it."
MODAL_FAILED_TEXT = "Slack would not open the editor (it may have taken too long) — click again."
GONE_TEXT = "I no longer know that image (it may have been deleted)."
NO_IMAGES_TEXT = "That message has no images I can edit. Attach up to 4 images and mention me."
Block = dict[str, Any]


def _button(text: str, action_id: str, value: str, style: str | None = None) -> Block:
    button: Block = {
        "type": "button",
        "text": {"type": "plain_text", "text": text, "emoji": True},
        "action_id": action_id,
        "value": value,
    }
    if style:
        button["style"] = style
    return button


def _controls(job: Job, *, rephrase: bool = False) -> Block:
    ratio_options = [
        {"text": {"type": "plain_text", "text": ratio}, "value": f"{job.id}|{ratio}"}
        for ratio in RATIOS
        if ratio != job.options.aspect_ratio
    ]
    elements: list[Block] = []
    if rephrase:
        elements.append(_button("✏️ Try again, rephrased", ACTION_EDIT, job.id, "primary"))
    elements.append(_button("🔁 Re-roll", ACTION_REROLL, job.id))
    elements.append(
        {
            "type": "static_select",
            "action_id": ACTION_RATIO,
            "placeholder": {"type": "plain_text", "text": "Another ratio…"},
            "options": ratio_options,
        }
    )
    if not rephrase:
        elements.append(_button("✏️ Edit prompt", ACTION_EDIT, job.id))
        delete = _button("🗑 Delete", ACTION_DELETE, job.id, "danger")
        delete["confirm"] = {
            "title": {"type": "plain_text", "text": "Delete this image?"},
            "text": {"type": "plain_text", "text": "The image and this card will be removed."},
            "confirm": {"type": "plain_text", "text": "Delete"},
            "deny": {"type": "plain_text", "text": "Keep"},
        }
        elements.append(delete)
    return {"type": "actions", "block_id": f"controls-{job.id}", "elements": elements}


def result_card(
    job: Job, elapsed: float, images: int, version: int | None
) -> tuple[str, list[Block]]:
    """The status line, once the images are up: what was made, with buttons."""
    tag = f"*v{version}* " if version else ""
    noun = "image" if images == 1 else f"{images} images"
    text = f"✅ {tag}{_request(job)} — {noun} in {elapsed:.0f}s"
    return text, [{"type": "section", "text": {"type": "mrkdwn", "text": text}}, _controls(job)]


def failure_card(job: Job, text: str, *, declined: bool) -> tuple[str, list[Block]]:
    """A failed job's status line; a refusal offers to try again, rephrased."""
    return text, [
        {"type": "section", "text": {"type": "mrkdwn", "text": text}},
        _controls(job, rephrase=declined),
    ]


def edit_modal(job: Job, *, title: str = "Edit prompt") -> Block:
    options = job.options
    flags = f" --ar {options.aspect_ratio} --size {options.size}"
    if options.count > 1:
        flags += f" --n {options.count}"
    hint = "Options: --ar W:H, --size 1K|2K, --n N"
    prompt = job.prompt
    if len(prompt) + len(flags) > INPUT_LIMIT:
        prompt = prompt[: INPUT_LIMIT - len(flags) - 1] + "…"
        hint = f"The prompt was cut to fit Slack's {INPUT_LIMIT:,}-character box. {hint}"
    return {
        "type": "modal",
        "callback_id": VIEW_EDIT,
        "private_metadata": job.id,
        "title": {"type": "plain_text", "text": title},
        "submit": {"type": "plain_text", "text": "Generate"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {
                "type": "input",
                "block_id": "prompt",
                "label": {"type": "plain_text", "text": "Prompt and options"},
                "element": {
                    "type": "plain_text_input",
                    "action_id": "prompt",
                    "multiline": True,
                    "initial_value": prompt + flags,
                    "max_length": INPUT_LIMIT,
                },
                "hint": {"type": "plain_text", "text": hint},
            }
        ],
    }


def edit_message_modal(metadata: str, images: int) -> Block:
    noun = "image" if images == 1 else f"{images} images"
    return {
        "type": "modal",
        "callback_id": VIEW_EDIT_MESSAGE,
        "private_metadata": metadata,
        "title": {"type": "plain_text", "text": "Edit with banana"},
        "submit": {"type": "plain_text", "text": "Edit"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {
                "type": "input",
                "block_id": "prompt",
                "label": {"type": "plain_text", "text": f"What should change in the {noun}?"},
                "element": {
                    "type": "plain_text_input",
                    "action_id": "prompt",
                    "multiline": True,
                    "placeholder": {"type": "plain_text", "text": "make it night, watercolor"},
                },
            }
        ],
    }


def permalink(base_url: str, channel: str, ts: str, thread_ts: str | None = None) -> str:
    link = f"{base_url.rstrip('/')}/archives/{channel}/p{ts.replace('.', '')}"
    if thread_ts and thread_ts != ts:
        link += f"?thread_ts={thread_ts}&cid={channel}"
    return link


def history_text(entries: Sequence[HistoryItem]) -> str:
    if not entries:
        return "You have no images yet. Try `/banana a shiba inu in a park --ar 16:9`."
    lines = ["*Your last generations:*"]
    for item in entries:
        when = dt.datetime.fromtimestamp(item.finished_at, dt.UTC).strftime("%b %d %H:%M UTC")
        link = f" · <{item.link}|open>" if item.link else ""
        version = f"v{item.version} · " if item.version else ""
        lines.append(
            f"• {version}_{_short(item.prompt, 80)}_ · {item.options.describe()} · {when}{link}"
        )
    return "\n".join(lines)


def home_view(usage_report: str, history: Sequence[HistoryItem]) -> Block:
    """The App Home tab."""
    return {
        "type": "home",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": "🍌 banana"}},
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": "Turn a sentence into a picture: type "
                    "`/banana a shiba inu in a park --ar 16:9` in any channel, mention "
                    "@banana (in threads too), or write to me in the Messages tab.",
                },
            },
            {"type": "section", "text": {"type": "mrkdwn", "text": usage_report}},
            {"type": "divider"},
            {"type": "section", "text": {"type": "mrkdwn", "text": history_text(history)}},
            {
                "type": "context",
                "elements": [
                    {"type": "mrkdwn", "text": "`/banana help` shows every option and tip."}
                ],
            },
        ],
    }


@dataclass(frozen=True)
class HistoryItem:
    prompt: str
    options: ImageOptions
    finished_at: float
    version: int | None
    link: str | None


def inputs_note(names: Sequence[str]) -> str:
    """Which images the model was given to edit."""
    shown = ", ".join(f"_{escape(name)}_" for name in names)
    return f"✏️ Edited from {shown}"


def version_missing_text(version: int, latest: int) -> str:
    return f"There is no v{version} in this thread (the latest is v{latest})."


def download_failed_text(error: Exception) -> str:
    return f"I could not read the image to edit ({error}). Is it still shared here?"


def _clip(text: str, limit: int = MODEL_WORDS_SHOWN) -> str:
    """Words from the model or the gateway, cut to fit in a Slack message or card."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _count(number: int, noun: str) -> str:
    """``1 image``, ``3 images``."""
    return f"{number} {noun}{'' if number == 1 else 's'}"
