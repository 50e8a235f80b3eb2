"""Reading Slack's payloads: the few fields listeners need, whatever shape
(command, event, action, view, shortcut) they come in. Payloads are
untrusted, so every reader tolerates a missing or mistyped field."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

MAX_INPUT_IMAGES = 4
# Slack puts at most 10 files on a message; a payload claiming more is not read further.
MAX_FILES_READ = 10
# Message subtypes a person types as a new message: plain, with files, and a thread
# reply also sent to the channel (or, in a DM, "also send as direct message").
TYPED_BY_A_PERSON = {None, "file_share", "thread_broadcast"}

FileInfo = Callable[[str], Awaitable[dict[str, Any] | None]]


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def clicking_user(body: dict[str, Any]) -> str:
    """The user who clicked, submitted or used a shortcut."""
    return str(_dict(body.get("user")).get("id") or "")


def channel_id(body: dict[str, Any]) -> str:
    """The conversation an interaction happened in, if any."""
    return str(_dict(body.get("channel")).get("id") or "")


def modal_text(view: dict[str, Any]) -> str:
    """What was typed in an edit modal's one input."""
    values = _dict(_dict(view.get("state")).get("values"))
    return str(_dict(_dict(values.get("prompt")).get("prompt")).get("value") or "")


def not_a_new_request(event: dict[str, Any], bot_user: str | None) -> str | None:
    """Why a message event is not a person's new request (None: it is one).

    Edits, deletions, joins and other system subtypes, and anything a bot
    posted, are not; a broadcast thread reply is.
    """
    subtype = event.get("subtype")
    if subtype not in TYPED_BY_A_PERSON:
        return f"subtype {subtype}"
    if event.get("bot_id") or event.get("bot_profile"):
        return "posted by a bot"
    if event.get("edited"):
        return "an edit"
    if not event.get("user"):
        return "no user"
    if event.get("user") == bot_user:
        return "the bot's own message"
    return None


def _is_image(file: dict[str, Any]) -> bool:
    return str(file.get("mimetype", "")).startswith("image/")


async def image_file_ids(files: object, file_info: FileInfo) -> tuple[str, ...]:
    """The ids of the images among a message's files, at most ``MAX_INPUT_IMAGES``.

    In channels shared with another organisation a file arrives as a stub
    (``"file_access": "check_file_info"``, no mimetype): ``file_info`` tells what
    it is. A stub Slack will not describe is kept, so the job says why it cannot
    read it instead of quietly drawing something new.
    """
    ids: list[str] = []
    for file in (files if isinstance(files, list) else [])[:MAX_FILES_READ]:
        if not isinstance(file, dict) or not file.get("id"):
            continue
        file_id = str(file["id"])
        if file.get("file_access") == "check_file_info":
            described = await file_info(file_id)
            image = described is None or _is_image(described)
        else:
            image = _is_image(file)
        if image:
            ids.append(file_id)
        if len(ids) == MAX_INPUT_IMAGES:
            break
    return tuple(ids)
