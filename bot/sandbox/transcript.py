"""The sandbox's memory across restarts: what its stand-in Slack holds, on disk.

The bot's job journal survives a restart; without this, its history links and
buttons would point at messages a fresh stand-in never saw. Messages are kept
in one JSON file, each uploaded image once in ``files/``. Ephemeral ("only
visible to you") messages are not kept: Slack forgets them too.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.standins.slack import Message, SlackStandIn

MAX_MESSAGES = 300  # the newest; older ones (and their images) are let go
MAX_TRANSCRIPT_BYTES = 16 * 1024**2


class TranscriptError(Exception):
    """The saved transcript could not be read or written."""


@dataclass(frozen=True)
class Captured:
    """A copy of the workspace taken on the event loop, to be written by a thread."""

    record: dict[str, Any]
    new_files: dict[str, bytes]


class Transcript:
    def __init__(self, folder: Path) -> None:
        self._path = folder / "transcript.json"
        self._files = folder / "files"
        self._written: set[str] = set()
        # A save cut off by shutdown goes on in its thread; the last save waits for it.
        self._writing = threading.Lock()

    def load(self) -> tuple[list[Message], dict[str, dict[str, Any]]]:
        """The saved messages and uploads (none when nothing was saved).

        Raises:
            TranscriptError: the file is there but unreadable, damaged or too big.
        """
        if not self._path.exists():
            return [], {}
        try:
            if self._path.stat().st_size > MAX_TRANSCRIPT_BYTES:
                raise TranscriptError(f"{self._path} is over {MAX_TRANSCRIPT_BYTES} bytes")
            record = json.loads(self._path.read_text("utf-8"))
            messages = [_message(entry) for entry in record["messages"]]
            uploads = {
                str(file_id): self._upload(str(file_id), meta)
                for file_id, meta in record["uploads"].items()
            }
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise TranscriptError(f"cannot read {self._path}: {exc}") from exc
        self._written.update(i for i, upload in uploads.items() if upload["data"] is not None)
        return messages, uploads

    def _upload(self, file_id: str, meta: dict[str, Any]) -> dict[str, Any]:
        if not file_id.isalnum():
            raise ValueError(f"bad file id {file_id!r}")
        blob = self._files / file_id
        data = blob.read_bytes() if blob.is_file() else None
        return {
            "filename": str(meta["filename"]),
            "title": meta.get("title"),
            "length": len(data) if data is not None else 0,
            "data": data,
        }

    def capture(self, slack: SlackStandIn) -> Captured:
        """Copy what is to be kept (cheap: no image bytes are copied)."""
        kept = [m for m in slack.messages if m.ephemeral_to is None and not m.deleted]
        kept = kept[-MAX_MESSAGES:]
        file_ids = {str(f["id"]) for m in kept for f in m.files}
        uploads = {
            file_id: slack.uploads[file_id]
            for file_id in sorted(file_ids)
            if file_id in slack.uploads and slack.uploads[file_id].get("data") is not None
        }
        record = {
            "messages": [_record(m) for m in kept],
            "uploads": {
                file_id: {"filename": upload["filename"], "title": upload.get("title")}
                for file_id, upload in uploads.items()
            },
        }
        new_files = {
            file_id: bytes(upload["data"])
            for file_id, upload in uploads.items()
            if file_id not in self._written
        }
        return Captured(record, new_files)

    def save(self, captured: Captured) -> None:
        """Write a capture (blocking: call it from a thread).

        Raises:
            TranscriptError: the folder is not writable.
        """
        with self._writing:
            self._write(captured)

    def _write(self, captured: Captured) -> None:
        try:
            self._files.mkdir(parents=True, exist_ok=True)
            for file_id, data in captured.new_files.items():
                (self._files / file_id).write_bytes(data)
                self._written.add(file_id)
            partial = self._path.with_suffix(".partial")
            partial.write_text(json.dumps(captured.record, ensure_ascii=False), "utf-8")
            os.replace(partial, self._path)
        except OSError as exc:
            raise TranscriptError(f"cannot write {self._path}: {exc}") from exc


def _record(message: Message) -> dict[str, Any]:
    return {
        "channel": message.channel,
        "ts": message.ts,
        "user": message.user,
        "text": message.text,
        "thread_ts": message.thread_ts,
        "blocks": message.blocks,
        "files": [str(f["id"]) for f in message.files],
        "reactions": {name: sorted(users) for name, users in message.reactions.items()},
        "edits": message.edits,
        **({"subtype": message.subtype} if message.subtype else {}),
        **({"metadata": message.metadata} if message.metadata else {}),
    }


def _message(entry: dict[str, Any]) -> Message:
    return Message(
        channel=str(entry["channel"]),
        ts=str(entry["ts"]),
        user=str(entry["user"]),
        text=str(entry["text"]),
        thread_ts=str(entry["thread_ts"]) if entry.get("thread_ts") else None,
        blocks=list(entry.get("blocks") or []),
        files=[{"id": str(file_id)} for file_id in entry.get("files") or []],
        reactions={str(k): set(v) for k, v in (entry.get("reactions") or {}).items()},
        edits=int(entry.get("edits") or 0),
        subtype=str(entry["subtype"]) if entry.get("subtype") else None,
        metadata=entry["metadata"] if isinstance(entry.get("metadata"), dict) else None,
    )
