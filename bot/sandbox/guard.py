"""Keep the sandbox for the person at the keyboard.

The sandbox drives the real bot, which may spend a real ``BANANA_API_KEY``.
Any web page that person visits could otherwise post to it (a "simple"
cross-origin ``text/plain`` POST needs no permission), and a DNS-rebinding
page could read its state. So:

- every request must name a loopback host (``127.0.0.1``, ``localhost``,
  ``[::1]``) in ``Host``, unless the sandbox was told to listen elsewhere;
- every POST must be ``application/json`` (not a "simple" request, so a
  foreign page's browser asks first, and we never say yes), carry an
  ``Origin`` equal to the page's own, and the per-run token that only the
  served page knows;
- every answer forbids framing and sniffing, and the page runs under a
  strict Content-Security-Policy (scripts and styles by nonce only).
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable

from aiohttp import web

TOKEN_HEADER = "X-Sandbox-Token"
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def content_security_policy(nonce: str) -> str:
    return "; ".join(
        (
            "default-src 'none'",
            f"script-src 'nonce-{nonce}'",
            f"style-src 'nonce-{nonce}'",
            "img-src 'self'",
            "connect-src 'self'",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        )
    )


class SandboxGuard:
    """An aiohttp middleware that refuses requests not from the sandbox's own page."""

    def __init__(self, port: int, *, any_host: bool = False) -> None:
        self.token = secrets.token_urlsafe(24)  # per run: the served page carries it
        self._hosts = {f"{name}:{port}" for name in LOOPBACK_NAMES}
        if port == 80:
            self._hosts.update(LOOPBACK_NAMES)
        self._any_host = any_host

    def host_allowed(self, host: str | None) -> bool:
        return bool(host) and (self._any_host or str(host).lower() in self._hosts)

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        host = request.headers.get("Host")
        if not self.host_allowed(host):
            # DNS rebinding: a foreign name pointed at this computer.
            return _refuse(421, "this sandbox answers only to 127.0.0.1 or localhost")
        if request.method not in ("GET", "HEAD"):
            if request.content_type != "application/json":
                return _refuse(415, "send application/json")
            if request.headers.get("Origin") != f"http://{host}":
                return _refuse(403, "cross-origin requests are refused")
            token = request.headers.get(TOKEN_HEADER, "")
            if not secrets.compare_digest(token.encode(), self.token.encode()):
                return _refuse(403, "missing or wrong sandbox token: reload the page")
        return await handler(request)

    def install(self, app: web.Application) -> None:
        app.middlewares.append(self.middleware)
        app.on_response_prepare.append(_harden)


def _refuse(status: int, reason: str) -> web.Response:
    return web.json_response({"ok": False, "error": reason}, status=status)


async def _harden(_: web.Request, response: web.StreamResponse) -> None:
    """Every answer, the page's own included (it sets a stricter policy with its nonce)."""
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers.setdefault(
        "Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'"
    )
