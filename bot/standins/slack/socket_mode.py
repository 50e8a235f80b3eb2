"""The stand-in's Socket Mode: ``apps.connections.open`` hands out a WebSocket
URL; envelopes are pushed down the open connections and the app's acks come
back up. An app may hold several connections (one per replica); Slack hands
each envelope to one of them, here in turn."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import WSMsgType, web

from bot.standins.slack.workspace import ApiError, Handler, Workspace


class SocketMode:
    def __init__(self, workspace: Workspace) -> None:
        self._workspace = workspace
        self._sockets: list[web.WebSocketResponse] = []  # open, oldest first
        self._next_socket = 0
        self.connections_opened = 0
        self.envelope_connections: list[int] = []  # which connection (numbered from 1) got each
        self._socket_numbers: dict[int, int] = {}  # id(socket) → its number
        self._acks: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.connected = asyncio.Event()
        self.refuse = False  # apps.connections.open fails while set

    def methods(self) -> dict[str, Handler]:
        return {"apps.connections.open": self.open_connection}

    def open_connection(self, args: dict[str, Any]) -> dict[str, Any]:
        if self.refuse:
            raise ApiError("service_unavailable")
        return {"url": self._workspace.base.replace("http://", "ws://") + "/socket"}

    async def serve(self, request: web.Request) -> web.WebSocketResponse:
        """One connection: hello, then the app's acks until it closes."""
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        self._sockets.append(socket)
        self.connections_opened += 1
        self._socket_numbers[id(socket)] = self.connections_opened
        await socket.send_json(
            {
                "type": "hello",
                "num_connections": len(self._sockets),
                "connection_info": {"app_id": "A0BANANA"},
            }
        )
        self.connected.set()
        try:
            async for frame in socket:
                if frame.type != WSMsgType.TEXT:
                    continue
                ack = json.loads(frame.data)
                future = self._acks.pop(str(ack.get("envelope_id")), None)
                if future is not None and not future.done():
                    future.set_result(ack)
        finally:
            self._sockets.remove(socket)
            if not self._sockets:
                self.connected.clear()
        return socket

    @property
    def open_connections(self) -> int:
        return len(self._sockets)

    async def send_envelope(
        self, kind: str, payload: dict[str, Any], *, retry_attempt: int = 0, limit: float = 5
    ) -> dict[str, Any]:
        """Push one Socket Mode envelope and wait for the app's ack."""
        await asyncio.wait_for(self.connected.wait(), limit)
        envelope_id = f"env-{self._workspace.next_id()}"
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._acks[envelope_id] = future
        envelope = {
            "envelope_id": envelope_id,
            "type": kind,
            "payload": payload,
            "accepts_response_payload": kind != "events_api",
            "retry_attempt": retry_attempt,
            "retry_reason": "timeout" if retry_attempt else "",
        }
        socket = self._sockets[self._next_socket % len(self._sockets)]
        self._next_socket += 1
        self.envelope_connections.append(self._socket_numbers[id(socket)])
        await socket.send_json(envelope)
        return await asyncio.wait_for(future, limit)

    async def drop_all(self) -> None:
        for socket in list(self._sockets):
            await socket.close()
