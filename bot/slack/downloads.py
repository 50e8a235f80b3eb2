"""Images people shared, fetched to edit: ``files.info``, then the bytes.

The bot token opens every file the bot can see, so it goes only to Slack: to
an ``https`` URL on Slack's file host, or to the host of the configured Web
API (``SLACK_API_URL``, which is how the stand-ins serve files). An external
file's URL may point anywhere (Slack's docs say never to send a token
there), so external files are not fetched at all; redirects are followed
here, a few at most, and one that leaves Slack's hosts loses the token.
Sizes are checked against ``files.info`` before the download and counted
while it streams.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import aiohttp
from slack_sdk.errors import SlackClientError
from slack_sdk.web.async_client import AsyncWebClient
from yarl import URL

from bot.slack.errors import DeliveryError, delivery_error

logger = logging.getLogger(__name__)

SLACK_FILE_HOST = ("https", "files.slack.com", 443)
MAX_REDIRECTS = 3
REDIRECTS = frozenset({301, 302, 303, 307, 308})
CHUNK = 256 * 1024
# A download holds a worker (the job has started): it may not take forever.
DOWNLOAD_SECONDS = 120
HOP_TIMEOUT = aiohttp.ClientTimeout(sock_connect=10, sock_read=30)

# Codes of the DeliveryErrors raised here that the requester is told in words.
NOT_ON_SLACK = "external_file"
TOO_LARGE = "too_large"

Origin = tuple[str, str, int | None]


def _origin(url: URL) -> Origin:
    return (url.scheme.lower(), (url.host or "").lower(), url.port)


def _redirected(base: URL, location: str) -> URL:
    try:
        url = base.join(URL(location))
    except ValueError as exc:
        raise DeliveryError("redirected to no URL", code="unreachable") from exc
    if url.scheme not in ("http", "https"):
        raise DeliveryError("redirected off the web", code="unreachable")
    return url


def is_external(file: dict[str, Any]) -> bool:
    """A file that lives elsewhere (Google Drive, a link): its URL is not Slack's."""
    return bool(file.get("is_external")) or file.get("mode") == "external"


class FileFetcher:
    def __init__(
        self,
        client: AsyncWebClient,
        session: aiohttp.ClientSession,
        *,
        api_url: str,
        max_bytes: int,
    ) -> None:
        self._client = client
        self._session = session
        self._token_hosts = {SLACK_FILE_HOST, _origin(URL(api_url))}
        self.max_bytes = max_bytes

    async def info(self, file_id: str) -> dict[str, Any]:
        """What ``files.info`` says of a file.

        Raises:
            DeliveryError: Slack would not say (no such file, no ``files:read``…).
        """
        try:
            answer = await self._client.files_info(file=file_id)
        except SlackClientError as exc:
            raise delivery_error("files.info failed", exc) from exc
        file = answer.get("file")
        if not isinstance(file, dict):
            raise DeliveryError("files.info answered without a file", code="file_not_found")
        return file

    async def describe(self, file_id: str) -> dict[str, Any] | None:
        """What ``files.info`` says of a file, or None (logged) when Slack would not say."""
        try:
            return await self.info(file_id)
        except DeliveryError as exc:
            logger.info("files.info %s failed: %s", file_id, exc.code)
            return None

    async def fetch(self, file_id: str) -> tuple[str, bytes]:
        """A Slack file's name and bytes, downloaded with the bot token from Slack's host.

        Raises:
            DeliveryError: Slack would not give the file, it is not stored on Slack
                (``external_file``), it is over ``max_bytes`` (``too_large``), or it
                is not an image.
        """
        file = await self.info(file_id)
        name = str(file.get("title") or file.get("name") or file_id)
        if is_external(file):
            raise DeliveryError(f"{file_id} is an external file", code=NOT_ON_SLACK)
        size = file.get("size")
        if isinstance(size, int) and size > self.max_bytes:
            raise DeliveryError(f"{file_id} is {size} bytes", code=TOO_LARGE)
        url = URL(str(file.get("url_private_download") or file.get("url_private") or ""))
        if not self.token_goes_to(url):
            # Slack's own files are on its file host; anything else is no upload to Slack.
            raise DeliveryError(f"{file_id} is not on Slack's file host", code=NOT_ON_SLACK)
        try:
            return name, await self._download(url)
        except TimeoutError as exc:
            raise DeliveryError("the download took too long", code="timeout") from exc
        except aiohttp.ClientError as exc:
            raise DeliveryError(f"download failed: {exc}", code="unreachable") from exc

    def token_goes_to(self, url: URL) -> bool:
        """Whether ``url`` is on Slack's file host (https) or the configured Web API's host."""
        return _origin(url) in self._token_hosts

    async def _download(self, url: URL) -> bytes:
        """The bytes at ``url``, following a few redirects; the token only on Slack's hosts."""
        async with asyncio.timeout(DOWNLOAD_SECONDS):
            for _ in range(MAX_REDIRECTS + 1):
                headers = {}
                if self.token_goes_to(url):
                    headers["Authorization"] = f"Bearer {self._client.token}"
                async with self._session.get(
                    url, headers=headers, allow_redirects=False, timeout=HOP_TIMEOUT
                ) as response:
                    location = response.headers.get("Location")
                    if response.status in REDIRECTS and location:
                        url = _redirected(response.url, location)
                        continue
                    return await self._body(response)
        raise DeliveryError("too many redirects", code="too_many_redirects")

    async def _body(self, response: aiohttp.ClientResponse) -> bytes:
        kind = response.headers.get("Content-Type", "")
        if response.status != 200 or not kind.startswith("image/"):
            # Without a valid token Slack answers 200 with a login page.
            raise DeliveryError(
                f"Slack answered {response.status} {kind or 'no type'}",
                code="not_an_image" if response.status == 200 else f"http_{response.status}",
            )
        length = response.content_length
        if length is not None and length > self.max_bytes:
            raise DeliveryError(f"the file is {length} bytes", code=TOO_LARGE)
        chunks, received = [], 0
        async for chunk in response.content.iter_chunked(CHUNK):
            received += len(chunk)
            if received > self.max_bytes:
                raise DeliveryError(f"the file is over {self.max_bytes} bytes", code=TOO_LARGE)
            chunks.append(chunk)
        return b"".join(chunks)
