"""The sandbox is only for the person at the keyboard (real process, real HTTP).

A web page that person visits must not drive the bot (a cross-origin
``text/plain`` POST needs no permission from the browser), a DNS-rebinding
page must not read its state, and the Docker image's ``HOST=0.0.0.0`` must
not put it on the network.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from tests.harness import free_port
from tests.sandbox_harness import RunningSandbox, running_sandbox

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def sandbox(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunningSandbox]:
    async with running_sandbox(tmp_path_factory.mktemp("sandbox-security")) as running:
        yield running


async def _request(
    sandbox: RunningSandbox, method: str, path: str, *, data: Any = None, **headers: str
) -> tuple[int, dict[str, str], str]:
    async with (
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session,
        session.request(method, sandbox.url + path.lstrip("/"), data=data, headers=headers) as r,
    ):
        return r.status, dict(r.headers), await r.text()


async def _page_token(sandbox: RunningSandbox) -> str:
    status, _, html = await _request(sandbox, "GET", "/")
    assert status == 200
    match = re.search(r'name="sandbox-token" content="([^"]+)"', html)
    assert match, "the page carries its token"
    return match.group(1)


async def _my_messages(sandbox: RunningSandbox) -> list[str]:
    import json

    status, _, body = await _request(sandbox, "GET", "/state")
    assert status == 200
    return [m["text"] for m in json.loads(body)["messages"] if m["user"] == "U0YOU"]


def _origin(sandbox: RunningSandbox) -> str:
    return f"http://127.0.0.1:{sandbox.port}"


async def test_a_cross_origin_text_plain_post_is_refused(sandbox: RunningSandbox) -> None:
    # What <form enctype="text/plain"> or fetch(…, {mode: "no-cors"}) on any site can send.
    body = '{"channel": "D0SANDBOX", "text": "drawn by evil.example"}'
    status, _, _ = await _request(
        sandbox,
        "POST",
        "/send",
        data=body,
        **{"Content-Type": "text/plain", "Origin": "http://evil.example"},
    )
    assert status in (403, 415)
    token = await _page_token(sandbox)
    status, _, _ = await _request(
        sandbox,
        "POST",
        "/send",
        data=body,
        **{
            "Content-Type": "application/json",
            "Origin": "http://evil.example",
            "X-Sandbox-Token": token,
        },
    )
    assert status == 403, "a foreign Origin is refused even with the token"
    assert "drawn by evil.example" not in await _my_messages(sandbox)


async def test_a_post_without_the_page_token_is_refused(sandbox: RunningSandbox) -> None:
    headers = {"Content-Type": "application/json", "Origin": _origin(sandbox)}
    body = '{"channel": "D0SANDBOX", "text": "no token"}'
    status, _, _ = await _request(sandbox, "POST", "/send", data=body, **headers)
    assert status == 403
    status, _, _ = await _request(
        sandbox, "POST", "/send", data=body, **headers, **{"X-Sandbox-Token": "guessed"}
    )
    assert status == 403
    assert "no token" not in await _my_messages(sandbox)

    token = await _page_token(sandbox)  # the page itself: same origin, JSON, token
    body = '{"channel": "D0SANDBOX", "text": "from the page"}'
    status, _, reply = await _request(
        sandbox, "POST", "/send", data=body, **headers, **{"X-Sandbox-Token": token}
    )
    assert status == 200, reply
    assert "from the page" in await _my_messages(sandbox)


@pytest.mark.parametrize("path", ["/", "/state", "/stream"])
async def test_a_rebinding_host_is_refused(sandbox: RunningSandbox, path: str) -> None:
    status, _, body = await _request(sandbox, "GET", path, Host=f"evil.example:{sandbox.port}")
    assert status == 421
    assert "messages" not in body
    token = await _page_token(sandbox)
    status, _, _ = await _request(
        sandbox,
        "POST",
        "/send",
        data='{"channel": "D0SANDBOX", "text": "rebound"}',
        **{
            "Host": f"evil.example:{sandbox.port}",
            "Origin": f"http://evil.example:{sandbox.port}",
            "Content-Type": "application/json",
            "X-Sandbox-Token": token,
        },
    )
    assert status == 421
    assert "rebound" not in await _my_messages(sandbox)


@pytest.mark.parametrize("name", ["localhost", "127.0.0.1", "[::1]"])
async def test_loopback_names_are_served(sandbox: RunningSandbox, name: str) -> None:
    status, _, _ = await _request(sandbox, "GET", "/state", Host=f"{name}:{sandbox.port}")
    assert status == 200


async def test_the_page_is_served_with_a_strict_policy(sandbox: RunningSandbox) -> None:
    status, headers, html = await _request(sandbox, "GET", "/")
    assert status == 200
    policy = headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in policy
    assert "default-src 'none'" in policy
    nonce = re.search(r"script-src 'nonce-([^']+)'", policy)
    assert nonce
    assert f'<script nonce="{nonce.group(1)}">' in html
    assert "unsafe-inline" not in policy
    assert headers["X-Content-Type-Options"] == "nosniff"
    _, headers, _ = await _request(sandbox, "GET", "/state")
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]


def _listening_addresses(port: int) -> set[str]:
    """The local addresses listening on ``port`` (from /proc: no traffic sent)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        path = Path(table)
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.rsplit(":", 1)
            if state == "0A" and int(hex_port, 16) == port:
                found.add(address)
    return found


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="needs Linux's /proc/net/tcp")
async def test_an_inherited_host_does_not_expose_the_sandbox(tmp_path: Path) -> None:
    # The Docker image sets HOST=0.0.0.0 for the Slack bot.
    async with running_sandbox(tmp_path, HOST="0.0.0.0") as running:
        assert _listening_addresses(running.port) == {"0100007F"}  # 127.0.0.1 only
        assert f"open http://127.0.0.1:{running.port}/" in running.banner
        assert "⚠" not in running.banner


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="needs Linux's /proc/net/tcp")
async def test_banana_sandbox_host_exposes_it_on_purpose(tmp_path: Path) -> None:
    port = free_port()
    async with running_sandbox(tmp_path, port, BANANA_SANDBOX_HOST="0.0.0.0") as running:
        assert "00000000" in _listening_addresses(port)
        assert "whoever reaches it can use the bot" in running.banner
        # Reached by another name (sent to loopback: no traffic leaves this machine).
        status, _, _ = await _request(running, "GET", "/state", Host=f"mybox.lan:{port}")
        assert status == 200
        status, _, _ = await _request(
            running,
            "POST",
            "/send",
            data='{"channel": "D0SANDBOX", "text": "x"}',
            **{"Host": f"mybox.lan:{port}", "Content-Type": "application/json"},
        )
        assert status == 403, "the token and same-origin checks still hold"
