"""Block Kit: result and failure cards with their buttons, the edit modals and the
Home tab. Slack refuses a whole message or view over its limits, so every
builder cuts what came from outside to fit (tests/test_messages.py checks)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.jobs import Job
from bot.jobs.accounting import Stats
from bot.options import RATIOS
from bot.slack import ids, reports
from bot.slack.mrkdwn import HistoryItem, history_text, request_line
from bot.text import COMMAND, say

Block = dict[str, Any]
# Slack's plain_text_input holds at most 3,000 characters.
INPUT_LIMIT = 3000


def _plain(text: str) -> Block:
    return {"type": "plain_text", "text": text}


def _section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def text_card(text: str) -> list[Block]:
    """Blocks for a plain answer where a card was expected."""
    return [_section(text)]


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


def _confirm(title: str, text: str, confirm: str) -> Block:
    """Slack's "are you sure?" dialog for a button that destroys something."""
    return {
        "title": _plain(title),
        "text": _plain(text),
        "confirm": _plain(confirm),
        "deny": _plain(say("confirm.keep")),
        "style": "danger",
    }


def _controls(job: Job, *, rephrase: bool = False) -> Block:
    ratio_options = [
        {"text": _plain(ratio), "value": f"{job.id}|{ratio}"}
        for ratio in RATIOS
        if ratio != job.options.aspect_ratio
    ]
    elements: list[Block] = []
    if rephrase:
        elements.append(_button(say("button.rephrase"), ids.ACTION_EDIT, job.id, "primary"))
    elements.append(_button(say("button.reroll"), ids.ACTION_REROLL, job.id))
    elements.append(
        {
            "type": "static_select",
            "action_id": ids.ACTION_RATIO,
            "placeholder": _plain(say("button.ratio")),
            "options": ratio_options,
        }
    )
    if not rephrase:
        elements.append(_button(say("button.edit"), ids.ACTION_EDIT, job.id))
        delete = _button(say("button.delete"), ids.ACTION_DELETE, job.id, "danger")
        delete["confirm"] = _confirm(
            say("confirm.delete_title"), say("confirm.delete_text"), say("confirm.delete")
        )
        elements.append(delete)
    return {"type": "actions", "block_id": f"controls-{job.id}", "elements": elements}


def result_card(
    job: Job, elapsed: float, images: int, version: int | None
) -> tuple[str, list[Block]]:
    """The status line, once the images are up: what was made, with buttons."""
    text = say(
        "status.delivered",
        version=say("result.version_tag", version=version) if version else "",
        request=request_line(job),
        images=say("status.delivered_images", count=images),
        elapsed=f"{elapsed:.0f}",
    )
    return text, [_section(text), _controls(job)]


def with_share(blocks: list[Block], job_id: str, channel: str, name: str) -> list[Block]:
    """A result card that also offers to post the image to the channel on screen."""
    label = say("button.share", channel=name[:60])  # Slack: a button says at most 75
    share = _button(label, ids.ACTION_SHARE, f"{job_id}|{channel}")
    return [*blocks, {"type": "actions", "block_id": f"share-{job_id}", "elements": [share]}]


def failure_card(job: Job, text: str, *, declined: bool) -> tuple[str, list[Block]]:
    """A failed job's status line; a refusal offers to try again, rephrased."""
    return text, [_section(text), _controls(job, rephrase=declined)]


def _prompt_input(element: Block, label: str, hint: str | None = None) -> Block:
    block: Block = {
        "type": "input",
        "block_id": ids.PROMPT_BLOCK,
        "label": _plain(label),
        "element": {
            "type": "plain_text_input",
            "action_id": ids.PROMPT_BLOCK,
            "multiline": True,
            **element,
        },
    }
    if hint:
        block["hint"] = _plain(hint)
    return block


def edit_modal(job: Job) -> Block:
    flags = f" {job.options.flags()}"
    hint = say("modal.options_hint")
    prompt = job.prompt
    if len(prompt) + len(flags) > INPUT_LIMIT:
        prompt = prompt[: INPUT_LIMIT - len(flags) - 1] + "…"
        hint = say("modal.prompt_cut", limit=f"{INPUT_LIMIT:,}", hint=hint)
    return {
        "type": "modal",
        "callback_id": ids.VIEW_EDIT,
        "private_metadata": job.id,
        "title": _plain(say("modal.edit_title")),
        "submit": _plain(say("modal.generate")),
        "close": _plain(say("modal.cancel")),
        "blocks": [
            _prompt_input(
                {"initial_value": prompt + flags, "max_length": INPUT_LIMIT},
                say("modal.prompt_label"),
                hint,
            )
        ],
    }


def edit_message_modal(metadata: str, images: int) -> Block:
    return {
        "type": "modal",
        "callback_id": ids.VIEW_EDIT_MESSAGE,
        "private_metadata": metadata,
        "title": _plain(say("modal.edit_message_title")),
        "submit": _plain(say("modal.edit")),
        "close": _plain(say("modal.cancel")),
        "blocks": [
            _prompt_input(
                {"placeholder": _plain(say("modal.placeholder"))},
                say("modal.what_changes", images=say("modal.what_changes_images", count=images)),
            )
        ],
    }


def home_view(
    usage_report: str, history: Sequence[HistoryItem], stats: Sequence[Block] = ()
) -> Block:
    """The App Home tab; an admin's also shows the stats card."""
    return {
        "type": "home",
        "blocks": [
            {"type": "header", "text": _plain(say("home.title"))},
            _section(say("home.intro", command=COMMAND)),
            _section(usage_report),
            {"type": "divider"},
            _section(history_text(history)),
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": say("home.help", command=COMMAND)}],
            },
            *([{"type": "divider"}, *stats] if stats else []),
        ],
    }


def stats_card(windows: Sequence[tuple[str, Stats]], budget: str | None = None) -> list[Block]:
    """``/banana stats`` for admins: per window, totals and rates, then the top ten
    users and channels side by side."""
    blocks: list[Block] = [{"type": "header", "text": _plain(say("stats.title"))}]
    if budget:
        blocks.append(_section(budget))
    for window, stats in windows:
        blocks.append(_section(reports.stats_summary(window, stats)))
        tops = (
            reports.tally_lines("stats.top_users", stats.by_user, "user"),
            reports.tally_lines("stats.top_channels", stats.by_channel, "channel"),
        )
        blocks.append({"type": "section", "fields": [_mrkdwn(top) for top in tops]})
    blocks.append({"type": "context", "elements": [_mrkdwn(say("stats.footnote"))]})
    return blocks


def card_text(blocks: Sequence[Block]) -> str:
    """A card's words as one mrkdwn text, for where only text goes (a DM reply)."""
    parts = []
    for block in blocks:
        texts = [block.get("text") or {}, *block.get("fields", ())]
        if block["type"] == "context":
            texts += block["elements"]
        for text in texts:
            if text.get("text"):
                header = block["type"] == "header"
                parts.append(f"*{text['text']}*" if header else text["text"])
    return "\n\n".join(parts)


def forget_prompt() -> list[Block]:
    """What ``/banana forget`` erases and what stays, and the button that does it."""
    button = _button(say("button.forget"), ids.ACTION_FORGET, "forget", "danger")
    button["confirm"] = _confirm(
        say("confirm.forget_title"), say("confirm.forget_text"), say("confirm.forget")
    )
    return [_section(say("forget.explain")), {"type": "actions", "elements": [button]}]


def _mrkdwn(text: str) -> Block:
    return {"type": "mrkdwn", "text": text}
