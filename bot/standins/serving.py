"""Serve a stand-in's aiohttp application on a local port."""

from __future__ import annotations

import socket

from aiohttp import web


def free_port(host: str = "127.0.0.1") -> int:
    """A port free on ``host`` right now, for a process that must be told its port."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


async def serve_locally(app: web.Application, host: str, port: int) -> tuple[web.AppRunner, int]:
    """Start ``app`` on ``host:port`` (0 = any free port); returns the runner and the port."""
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, int(bound)
