"""The one module that calls Slack's Web API to write: posts and edits,
reactions, uploads, ephemeral notes, ``response_url`` replies and modals.
It knows Slack, not jobs: :mod:`bot.slack.publisher`
decides what to say and where."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError, SlackRequestError
from slack_sdk.web.async_client import AsyncWebClient

from bot.generation.images import GeneratedImage
from bot.slack.errors import DeliveryError, delivery_error, error_code
from bot.slack.mrkdwn import permalink
from bot.slack.uploads import file_names, file_title, slices

logger = logging.getLogger(__name__)
T = TypeVar("T")


class SlackWriter:
    def __init__(
        self,
        client: AsyncWebClient,
        session: aiohttp.ClientSession,
        *,
        workspace_url: str = "",
    ) -> None:
        self._client = client
        self._session = session
        self._workspace_url = workspace_url  # from auth.test, for permalinks

    def permalink(
        self, channel: str | None, ts: str | None, thread_ts: str | None = None
    ) -> str | None:
        """A link to a message, or None when the workspace or message is unknown."""
        if not (self._workspace_url and channel and ts):
            return None
        return permalink(self._workspace_url, channel, ts, thread_ts)

    # ---- posting ---------------------------------------------------------------------
    async def post(
        self,
        channel: str,
        text: str,
        thread_ts: str | None,
        *,
        blocks: list[dict[str, Any]] | None = None,
    ) -> str:
        """Post a message (joining a public channel the bot is not in); returns its ts.

        Raises:
            DeliveryError: Slack would not take it.
        """
        try:
            return await self._joining(
                channel, lambda: self._post(channel, text, thread_ts, blocks)
            )
        except SlackClientError as exc:
            raise delivery_error("could not post", exc) from exc

    async def update(
        self, channel: str, ts: str, text: str, blocks: list[dict[str, Any]] | None = None
    ) -> None:
        """Edit a message.

        Raises:
            DeliveryError: Slack would not take it.
        """
        try:
            await self._client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks or [])
        except SlackClientError as exc:
            raise delivery_error("could not update", exc) from exc

    async def channel_name(self, channel: str) -> str | None:
        """A channel's name, or None when the bot cannot see it (logged)."""
        try:
            response = await self._client.conversations_info(channel=channel)
        except SlackClientError as exc:
            logger.info("cannot see channel %s: %s", channel, error_code(exc))
            return None
        return str((response.get("channel") or {}).get("name") or "") or None

    async def open_dm(self, user: str) -> str:
        """The id of the DM between the bot and ``user``.

        Raises:
            DeliveryError: Slack would not open it.
        """
        try:
            response = await self._client.conversations_open(users=user)
        except SlackClientError as exc:
            raise delivery_error(f"could not open a DM with {user}", exc) from exc
        channel: dict[str, Any] = response["channel"]
        return str(channel["id"])

    async def respond(self, response_url: str, text: str) -> None:
        """An ephemeral reply through a slash command's ``response_url``.

        Raises:
            DeliveryError: Slack did not take it.
        """
        body = {"response_type": "ephemeral", "text": text}
        try:
            async with self._session.post(response_url, json=body) as response:
                if response.status != 200:
                    code = f"http_{response.status}"
                    raise DeliveryError(f"response_url answered {response.status}", code=code)
        except aiohttp.ClientError as exc:
            raise DeliveryError(f"response_url failed: {exc}", code="unreachable") from exc

    async def reply(self, channel: str, thread_ts: str | None, text: str) -> None:
        """A short visible reply in a thread (usage, errors in DMs); a failure is logged."""
        try:
            await self._post(channel, text, thread_ts)
        except SlackClientError:
            logger.exception("could not reply in %s", channel)

    async def whisper(self, channel: str, user: str, thread_ts: str | None, text: str) -> None:
        """An ephemeral note to one user (usage errors after a mention); a failure is logged."""
        try:
            await self._client.chat_postEphemeral(
                channel=channel, user=user, text=text, thread_ts=thread_ts
            )
        except SlackClientError:
            logger.exception("could not send an ephemeral note in %s", channel)

    async def react(self, channel: str, ts: str, add: str, remove: str | None = None) -> None:
        """Reactions are decoration: a failure is logged, never fatal."""
        try:
            if remove:
                await self._client.reactions_remove(channel=channel, timestamp=ts, name=remove)
            await self._client.reactions_add(channel=channel, timestamp=ts, name=add)
        except SlackClientError as exc:
            logger.warning("reaction %s on %s failed: %s", add, ts, error_code(exc))

    async def upload(self, prompt: str, images: Sequence[GeneratedImage]) -> list[dict[str, str]]:
        """Send the images' bytes to Slack (not yet shared anywhere); returns the files.

        Raises:
            DeliveryError: Slack would not take them.
        """
        try:
            return await self._send_files(prompt, images)
        except SlackClientError as exc:
            raise delivery_error("could not upload", exc) from exc

    async def share(
        self, channel: str, thread_ts: str | None, files: list[dict[str, str]], comment: str
    ) -> None:
        """Share uploaded files into a conversation with ``comment``.

        Raises:
            DeliveryError: Slack would not share them there.
        """
        try:
            await self._share_files(channel, thread_ts, files, comment)
        except SlackClientError as exc:
            raise delivery_error("could not share", exc) from exc

    # ---- plumbing --------------------------------------------------------------------
    async def _post(
        self,
        channel: str,
        text: str,
        thread_ts: str | None,
        blocks: list[dict[str, Any]] | None = None,
    ) -> str:
        response = await self._client.chat_postMessage(
            channel=channel, text=text, thread_ts=thread_ts, blocks=blocks, unfurl_links=False
        )
        return str(response["ts"])

    async def _joining(self, channel: str, call: Callable[[], Awaitable[T]]) -> T:
        """``call()``; if the bot is not in the (public) channel, join it and call again."""
        try:
            return await call()
        except SlackApiError as exc:
            if error_code(exc) != "not_in_channel" or not await self._join(channel):
                raise
            return await call()

    async def _join(self, channel: str) -> bool:
        try:
            await self._client.conversations_join(channel=channel)
        except SlackClientError as exc:
            logger.info("could not join %s: %s", channel, error_code(exc))
            return False
        logger.info("joined %s to post there", channel)
        return True

    # Uploads take the three steps of ``files_upload_v2`` (get an upload URL per
    # file, send the bytes there, complete into the conversation), but send each
    # image in slices from its file (or the buffer it was decoded into): the SDK's
    # helper wants ``bytes`` and hands the whole body to the socket at once, which
    # would hold every upload in flight whole in memory (see bench/).
    async def _send_files(
        self, prompt: str, images: Sequence[GeneratedImage]
    ) -> list[dict[str, str]]:
        files = []
        for name, image in file_names(prompt, images):
            answer = await self._client.files_getUploadURLExternal(
                filename=name, length=image.size, alt_txt=prompt[:1000]
            )
            await self._put(str(answer["upload_url"]), image, name)
            files.append({"id": str(answer["file_id"]), "title": file_title(prompt)})
        return files

    async def _put(self, url: str, image: GeneratedImage, name: str) -> None:
        headers = {"Content-Type": "application/octet-stream", "Content-Length": str(image.size)}
        try:
            async with self._session.post(url, data=slices(image), headers=headers) as response:
                if response.status != 200:
                    # Its HTTP code tells a server error (retried) from a refusal.
                    raise DeliveryError(
                        f"the upload of {name} failed (HTTP {response.status})",
                        code=f"http_{response.status}",
                    )
        except (aiohttp.ClientError, OSError) as exc:  # OSError: its file, read in slices
            raise SlackRequestError(f"the upload of {name} failed ({exc})") from exc

    async def _share_files(
        self, channel: str, thread_ts: str | None, files: list[dict[str, str]], comment: str
    ) -> None:
        arguments: dict[str, Any] = {
            "files": files,
            "channel_id": channel,
            "thread_ts": thread_ts,
            "initial_comment": comment,
        }
        await self._joining(channel, lambda: self._client.files_completeUploadExternal(**arguments))

    # ---- buttons, modals, files -------------------------------------------------------------
    async def publish_home(self, user: str, view: dict[str, Any]) -> None:
        """Draw a user's App Home tab (decoration: a failure is logged)."""
        try:
            await self._client.views_publish(user_id=user, view=view)
        except SlackClientError:
            logger.exception("could not draw the Home tab of %s", user)

    async def open_modal(self, trigger_id: str, view: dict[str, Any]) -> bool:
        """Open a modal; False (logged) if Slack would not, e.g. an expired trigger."""
        try:
            await self._client.views_open(trigger_id=trigger_id, view=view)
        except SlackClientError:
            logger.exception("could not open a modal")
            return False
        return True

    async def delete_result(
        self, channel: str, card_ts: str | None, file_ids: Sequence[str]
    ) -> None:
        """Remove a result: the messages its files were shared in (the upload's
        comment, "asked for…" with the logid), the files, and its card. Missing
        pieces are skipped."""
        shared_in = [share for file_id in file_ids for share in await self._shares(file_id)]
        for where, ts in dict.fromkeys(shared_in):
            await self._delete_message(where, ts, "the upload's message")
        for file_id in file_ids:
            try:
                await self._client.files_delete(file=file_id)
            except SlackClientError as exc:
                logger.warning("could not delete file %s: %s", file_id, error_code(exc))
        if card_ts:
            await self._delete_message(channel, card_ts, "the card")

    async def _shares(self, file_id: str) -> list[tuple[str, str]]:
        """Where a file was shared, as (channel, ts) of each message that carries it:
        sharing an upload posts a message whose ts only ``files.info`` tells."""
        try:
            response = await self._client.files_info(file=file_id)
        except SlackClientError as exc:
            logger.warning("could not look up file %s: %s", file_id, error_code(exc))
            return []
        shares = (response.get("file") or {}).get("shares") or {}
        return [
            (str(channel), str(share["ts"]))
            for kind in ("public", "private")
            for channel, listed in (shares.get(kind) or {}).items()
            for share in listed
            if share.get("ts")
        ]

    async def _delete_message(self, channel: str, ts: str, what: str) -> None:
        try:
            await self._client.chat_delete(channel=channel, ts=ts)
        except SlackClientError as exc:
            logger.warning("could not delete %s: %s", what, error_code(exc))
