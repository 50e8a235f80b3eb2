"""Reading Slack's payloads: the few fields listeners need, whatever shape
(command, event, action, view, shortcut) they come in. Payloads are
untrusted, so every reader tolerates a missing or mistyped field."""

from __future__ import annotations

from typing import Any

MAX_INPUT_IMAGES = 4


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


def image_file_ids(files: object) -> tuple[str, ...]:
    """The ids of the images among a message's files, at most ``MAX_INPUT_IMAGES``."""
    ids = tuple(
        str(f["id"])
        for f in (files if isinstance(files, list) else ())
        if isinstance(f, dict) and str(f.get("mimetype", "")).startswith("image/")
    )
    return ids[:MAX_INPUT_IMAGES]
