"""Images people shared, fetched to edit: ``files.info``, then the bytes from
``url_private`` with the bot token."""

from __future__ import annotations

from typing import Any

import aiohttp
from slack_sdk.errors import SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.writer import DeliveryError, delivery_error


class FileFetcher:
    def __init__(self, client: AsyncWebClient, session: aiohttp.ClientSession) -> None:
        self._client = client
        self._session = session

    async def fetch(self, file_id: str) -> tuple[str, bytes]:
        """A Slack file's name and bytes, fetched from ``url_private`` with the bot token.

        Raises:
            DeliveryError: Slack would not give the file, or it is not an image.
        """
        try:
            info = await self._client.files_info(file=file_id)
        except SlackClientError as exc:
            raise delivery_error("files.info failed", exc) from exc
        file: dict[str, Any] = info["file"]
        name = str(file.get("title") or file.get("name") or file_id)
        url = str(file.get("url_private_download") or file.get("url_private"))
        headers = {"Authorization": f"Bearer {self._client.token}"}
        try:
            async with self._session.get(url, headers=headers) as response:
                kind = response.headers.get("Content-Type", "")
                if response.status != 200 or not kind.startswith("image/"):
                    # Without a valid token Slack answers 200 with a login page.
                    raise DeliveryError(
                        f"Slack answered {response.status} {kind or 'no type'}",
                        code="not_an_image"
                        if response.status == 200
                        else f"http_{response.status}",
                    )
                return name, await response.read()
        except aiohttp.ClientError as exc:
            raise DeliveryError(f"download failed: {exc}", code="unreachable") from exc
