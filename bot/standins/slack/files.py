"""Files in the stand-in, the way Slack moves them: the bot uploads in three
steps (``files.getUploadURLExternal``, the bytes to the upload URL,
``files.completeUploadExternal`` to share them); people's files are downloaded
with the bot token; ``files.info`` and ``files.delete`` as Slack answers them."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import web

from bot.standins.slack.arguments import thread_of
from bot.standins.slack.faults import Faults
from bot.standins.slack.workspace import (
    BOT_USER,
    ApiError,
    Call,
    Handler,
    Message,
    Workspace,
    mime_type,
)


class FilesApi:
    def __init__(self, workspace: Workspace, faults: Faults, bot_token: str) -> None:
        self._workspace = workspace
        self._faults = faults
        self._bot_token = bot_token
        self.upload_delay = 0.0  # seconds the upload URL takes to answer
        self.share_delay = 0.0  # seconds files.completeUploadExternal takes to answer

    def methods(self) -> dict[str, Handler]:
        return {
            "files.getUploadURLExternal": self.get_upload_url,
            "files.completeUploadExternal": self.complete_upload,
            "files.info": self.info,
            "files.delete": self.delete,
        }

    def get_upload_url(self, args: dict[str, Any]) -> dict[str, Any]:
        filename, length = args.get("filename"), args.get("length")
        if not filename or not str(length or "").isdigit():
            raise ApiError("invalid_arguments")
        file_id = f"F{self._workspace.next_id():08d}"
        self._workspace.uploads[file_id] = {
            "filename": filename,
            "length": int(str(length)),
            "data": None,
        }
        return {"upload_url": f"{self._workspace.base}/upload/{file_id}", "file_id": file_id}

    async def receive_upload(self, request: web.Request) -> web.Response:
        """The upload URL: the bytes, exactly as many as announced, and no auth header."""
        file_id = request.match_info["file_id"]
        data = await request.read()
        self._workspace.calls.append(
            Call(
                "upload",
                {
                    "file_id": file_id,
                    "length": len(data),
                    "content_length": request.headers.get("Content-Length"),
                },
            )
        )
        await asyncio.sleep(self.upload_delay)
        if self._faults.down("upload"):
            return web.Response(status=503, text="service unavailable")
        if self._faults.next_error("upload") is not None:
            return web.Response(status=500, text="upload failed")
        upload = self._workspace.uploads.get(file_id)
        if upload is None:
            return web.Response(status=404, text="unknown upload")
        if "Authorization" in request.headers:
            return web.Response(status=400, text="the upload URL takes no auth header")
        if len(data) != upload["length"]:
            return web.Response(
                status=400, text=f"expected {upload['length']} bytes, got {len(data)}"
            )
        upload["data"] = data
        return web.Response(text=f"OK - {len(data)}")

    def complete_upload(self, args: dict[str, Any]) -> dict[str, Any]:
        files = args.get("files")
        entries = json.loads(files) if isinstance(files, str) else files
        if not isinstance(entries, list) or not entries:
            raise ApiError("invalid_arguments")
        channel = args.get("channel_id") or args.get("channels")
        if channel:
            self._workspace.writable(str(channel))
        shared: list[dict[str, Any]] = []
        for entry in entries:
            upload = self._workspace.uploads.get(str(entry.get("id")))
            if upload is None or upload["data"] is None:
                raise ApiError("file_not_found")
            upload["title"] = entry.get("title")
            shared.append(self._workspace.file_object(str(entry["id"])))
        if channel:
            self._workspace.add(
                Message(
                    str(channel),
                    self._workspace.next_ts(),
                    BOT_USER,
                    str(args.get("initial_comment") or ""),
                    thread_of(args),
                    files=shared,
                )
            )
        return {"files": shared}

    async def download(self, request: web.Request) -> web.Response:
        self._workspace.calls.append(Call("download", {"file_id": request.match_info["file_id"]}))
        if request.headers.get("Authorization") != f"Bearer {self._bot_token}":
            # What Slack does: a 200 with its sign-in page, not the file.
            return web.Response(text="<html>Sign in to Slack</html>", content_type="text/html")
        upload = self._workspace.uploads.get(request.match_info["file_id"])
        if upload is None or upload["data"] is None or upload.get("deleted"):
            return web.Response(status=404)
        if upload.get("redirect"):
            raise web.HTTPFound(str(upload["redirect"]))
        return web.Response(body=upload["data"], content_type=mime_type(upload["filename"]))

    def info(self, args: dict[str, Any]) -> dict[str, Any]:
        file_id = str(args.get("file", ""))
        upload = self._workspace.uploads.get(file_id)
        if upload is None or upload["data"] is None or upload.get("deleted"):
            raise ApiError("file_not_found")
        return {"file": {**self._workspace.file_object(file_id), "shares": self._shares(file_id)}}

    def _shares(self, file_id: str) -> dict[str, dict[str, list[dict[str, Any]]]]:
        """Slack's ``shares``: per public or private conversation, the messages
        that carry the file (their ts is what deletes them)."""
        shares: dict[str, dict[str, list[dict[str, Any]]]] = {}
        for message in self._workspace.visible():
            if any(f["id"] == file_id for f in message.files):
                conversation = self._workspace.conversations.get(message.channel)
                kind = "public" if conversation and conversation.kind == "public" else "private"
                share = {
                    "ts": message.ts,
                    "channel_name": conversation.name if conversation else "",
                }
                if message.thread_ts:
                    share["thread_ts"] = message.thread_ts
                shares.setdefault(kind, {}).setdefault(message.channel, []).append(share)
        return shares

    def delete(self, args: dict[str, Any]) -> dict[str, Any]:
        file_id = str(args.get("file", ""))
        upload = self._workspace.uploads.get(file_id)
        if upload is None or upload.get("deleted"):
            raise ApiError("file_not_found")
        upload["deleted"] = True
        for message in self._workspace.messages:
            if any(f["id"] == file_id for f in message.files):
                message.files = [f for f in message.files if f["id"] != file_id]
                if not message.files and not message.text:
                    message.deleted = True
                self._workspace.notify("update", message.view())
        return {}
