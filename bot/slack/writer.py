"""The one module that writes to Slack: status lines, reactions, uploads,
ephemeral notes and ``response_url`` replies, with the fallbacks for places
the bot cannot post (join public channels, else the requester's DM)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError, SlackRequestError
from slack_sdk.web.async_client import AsyncWebClient

from bot import messages
from bot.generation.images import GeneratedImage, file_stem

if TYPE_CHECKING:
    from bot.jobs.job import Job

logger = logging.getLogger(__name__)
T = TypeVar("T")

REACTION_WORKING = "hourglass_flowing_sand"
REACTION_DONE = "white_check_mark"
REACTION_FAILED = "x"
_UNREACHABLE = ("not_in_channel", "channel_not_found", "is_archived")


class EditBudget:
    """Progress edits share Slack's ``chat.update`` allowance (Tier 3, ~50 a minute per
    workspace): a token bucket refilled at ``per_minute``; final edits do not ask."""

    def __init__(self, per_minute: float = 40.0, burst: int = 10) -> None:
        self._rate = per_minute / 60.0
        self._burst = float(burst)
        self._tokens = float(burst)
        self._stamp = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self._tokens = min(self._burst, self._tokens + (now - self._stamp) * self._rate)
        self._stamp = now
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True


class DeliveryError(Exception):
    """Slack refused or could not take something the bot had to post."""


@dataclass
class Place:
    """Where a job's status line lives and where its result goes."""

    channel: str
    thread_ts: str | None  # None: the result goes top level (slash commands)
    status_ts: str
    shown: str = ""
    last_edit: float = 0.0
    moved_to_dm: bool = False


def _error_code(exc: SlackClientError) -> str:
    if isinstance(exc, SlackApiError):
        return str(exc.response.get("error", ""))
    return ""


class SlackWriter:
    def __init__(
        self,
        client: AsyncWebClient,
        session: aiohttp.ClientSession,
        *,
        min_edit_gap: float = 3.0,
        workspace_url: str = "",
    ) -> None:
        self._client = client
        self._session = session
        self._min_edit_gap = min_edit_gap
        self._edit_budget = EditBudget()
        self._workspace_url = workspace_url  # from auth.test, for permalinks

    def permalink(
        self, channel: str | None, ts: str | None, thread_ts: str | None = None
    ) -> str | None:
        """A link to a message, or None when the workspace or message is unknown."""
        if not (self._workspace_url and channel and ts):
            return None
        return messages.permalink(self._workspace_url, channel, ts, thread_ts)

    # ---- a job's life ------------------------------------------------------------
    async def open(self, job: Job, status: str) -> Place:
        """Post the job's status line (and the working reaction).

        Raises:
            DeliveryError: nowhere to post, not even the requester's DM.
        """
        thread = job.reply_thread if job.source != "command" else None
        channel, moved = job.channel, False
        try:
            ts = await self._post_with_join(channel, status, thread)
        except SlackClientError as exc:
            if _error_code(exc) not in _UNREACHABLE:
                raise DeliveryError(f"could not post the status: {exc}") from exc
            channel, thread, moved = await self._move_to_dm(job), None, True
            ts = await self._post(channel, status, None)
        if job.request_ts:
            await self._react(job.channel, job.request_ts, add=REACTION_WORKING)
        return Place(
            channel, thread, ts, shown=status, last_edit=time.monotonic(), moved_to_dm=moved
        )

    async def show(
        self,
        place: Place,
        text: str,
        *,
        final: bool = False,
        blocks: list[dict[str, Any]] | None = None,
    ) -> None:
        """Edit the status line, at most once per ``min_edit_gap`` seconds.

        A non-final edit inside the gap, or beyond the workspace's edit budget, is
        skipped (the next tick carries the newer state); a final one waits for the gap.
        """
        if text == place.shown and blocks is None:
            return
        wait = place.last_edit + self._min_edit_gap - time.monotonic()
        if not final and (wait > 0 or not self._edit_budget.take()):
            return  # a later tick carries the newer state
        if wait > 0:
            await asyncio.sleep(wait)
        try:
            await self._client.chat_update(
                channel=place.channel, ts=place.status_ts, text=text, blocks=blocks or []
            )
        except SlackClientError as exc:
            if final:
                raise DeliveryError(f"could not update the status: {exc}") from exc
            logger.warning("status edit failed: %s", exc)
            return
        place.shown, place.last_edit = text, time.monotonic()

    async def deliver(
        self,
        job: Job,
        place: Place,
        images: Sequence[GeneratedImage],
        comment: str,
    ) -> list[str]:
        """Upload all images in one go, shared with ``comment``; returns the file ids.

        Raises:
            DeliveryError: the upload failed, even after the DM fallback.
        """
        try:
            files = await self._send_files(job.prompt, images)
            await self._share_files(place.channel, place.thread_ts, files, comment)
        except SlackClientError as exc:
            if _error_code(exc) not in _UNREACHABLE or place.moved_to_dm:
                raise DeliveryError(str(exc)) from exc
            dm = await self._move_to_dm(job)
            try:  # the files are uploaded already: only share them again
                await self._share_files(dm, None, files, comment)
            except SlackClientError as again:
                raise DeliveryError(str(again)) from again
        return [f["id"] for f in files]

    async def show_result(
        self, job: Job, place: Place, card: tuple[str, list[dict[str, Any]]]
    ) -> None:
        """Turn the status line into the result card (with its buttons); mark the request done."""
        text, blocks = card
        try:
            await self.show(place, text, final=True, blocks=blocks)
        except DeliveryError:
            logger.warning("the result card could not replace the status line", exc_info=True)
        if job.request_ts:
            await self._react(job.channel, job.request_ts, REACTION_DONE, REACTION_WORKING)

    async def fail(
        self, job: Job, place: Place, text: str, blocks: list[dict[str, Any]] | None = None
    ) -> None:
        """Show the failure on the status line (and the failed reaction).

        Raises:
            DeliveryError: the failure could not be shown anywhere.
        """
        try:
            await self.show(place, text, final=True, blocks=blocks)
        except DeliveryError:
            if not job.response_url:
                raise
            await self.respond(job.response_url, text)
        if job.request_ts:
            await self._react(job.channel, job.request_ts, REACTION_FAILED, REACTION_WORKING)

    async def notify(self, job: Job, place: Place | None, text: str) -> None:
        """Tell the requester something about a job whose status line may be gone.

        Raises:
            DeliveryError: it could not be said anywhere.
        """
        if place is not None:
            await self.fail(job, place, text)
            return
        try:
            thread = job.reply_thread if job.source != "command" else None
            await self._post(job.channel, text, thread)
        except SlackClientError as exc:
            if not job.response_url:
                raise DeliveryError(f"could not notify: {exc}") from exc
            await self.respond(job.response_url, text)

    async def tell_not_started(self, job: Job, text: str) -> None:
        """The status line could not be posted: say so by what is left, an ephemeral
        through ``response_url`` (commands) and the failed reaction (mentions, DMs)."""
        if job.response_url:
            try:
                await self.respond(job.response_url, text)
            except DeliveryError:
                logger.exception("job=%s could not tell its requester", job.id)
        if job.request_ts:  # no working reaction yet: it follows the status line
            await self._react(job.channel, job.request_ts, REACTION_FAILED)

    # ---- short answers from handlers -----------------------------------------------
    async def respond(self, response_url: str, text: str) -> None:
        """An ephemeral reply through a slash command's ``response_url``.

        Raises:
            DeliveryError: Slack did not take it.
        """
        body = {"response_type": "ephemeral", "text": text}
        try:
            async with self._session.post(response_url, json=body) as response:
                if response.status != 200:
                    raise DeliveryError(f"response_url answered {response.status}")
        except aiohttp.ClientError as exc:
            raise DeliveryError(f"response_url failed: {exc}") from exc

    async def reply(self, channel: str, thread_ts: str | None, text: str) -> None:
        """A short visible reply in a thread (usage, errors in DMs)."""
        try:
            await self._post(channel, text, thread_ts)
        except SlackClientError:
            logger.exception("could not reply in %s", channel)

    async def whisper(self, channel: str, user: str, thread_ts: str | None, text: str) -> None:
        """An ephemeral note to one user (usage errors after a mention)."""
        try:
            await self._client.chat_postEphemeral(
                channel=channel, user=user, text=text, thread_ts=thread_ts
            )
        except SlackClientError:
            logger.exception("could not send an ephemeral note in %s", channel)

    # ---- plumbing --------------------------------------------------------------------
    async def _post(self, channel: str, text: str, thread_ts: str | None) -> str:
        response = await self._client.chat_postMessage(
            channel=channel, text=text, thread_ts=thread_ts, unfurl_links=False
        )
        return str(response["ts"])

    async def _post_with_join(self, channel: str, text: str, thread_ts: str | None) -> str:
        return await self._joining(channel, lambda: self._post(channel, text, thread_ts))

    async def _joining(self, channel: str, call: Callable[[], Awaitable[T]]) -> T:
        """``call()``; if the bot is not in the (public) channel, join it and call again."""
        try:
            return await call()
        except SlackApiError as exc:
            if _error_code(exc) != "not_in_channel" or not await self._join(channel):
                raise
            return await call()

    async def _join(self, channel: str) -> bool:
        try:
            await self._client.conversations_join(channel=channel)
        except SlackClientError as exc:
            logger.info("could not join %s: %s", channel, exc)
            return False
        logger.info("joined %s to post there", channel)
        return True

    async def _move_to_dm(self, job: Job) -> str:
        """Open the requester's DM with the bot and tell them, ephemerally, why."""
        try:
            response = await self._client.conversations_open(users=job.user)
        except SlackClientError as exc:
            raise DeliveryError(f"could not open a DM with {job.user}: {exc}") from exc
        channel: dict[str, Any] = response["channel"]
        if job.response_url:
            try:
                await self.respond(job.response_url, messages.MOVED_TO_DM_TEXT)
            except DeliveryError:
                logger.warning("could not tell %s that the image goes to their DM", job.user)
        return str(channel["id"])

    # Uploads take the three steps of ``files_upload_v2`` (get an upload URL per
    # file, send the bytes there, complete into the conversation), but send each
    # image straight from the buffer it was decoded into, in slices: the SDK's
    # helper wants ``bytes`` and hands the whole body to the socket at once,
    # which doubles the memory of every upload in flight (see bench/).
    async def _send_files(
        self, prompt: str, images: Sequence[GeneratedImage]
    ) -> list[dict[str, str]]:
        files = []
        for name, image in _file_names(prompt, images):
            answer = await self._client.files_getUploadURLExternal(
                filename=name, length=len(image.data), alt_txt=prompt[:1000]
            )
            await self._put(str(answer["upload_url"]), image.data, name)
            files.append({"id": str(answer["file_id"]), "title": _title(prompt)})
        return files

    async def _put(self, url: str, data: bytes | bytearray, name: str) -> None:
        headers = {"Content-Type": "application/octet-stream", "Content-Length": str(len(data))}
        try:
            async with self._session.post(url, data=_slices(data), headers=headers) as response:
                if response.status != 200:
                    raise SlackRequestError(
                        f"the upload of {name} failed (HTTP {response.status}: "
                        f"{(await response.text())[:200]})"
                    )
        except aiohttp.ClientError as exc:
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
        """Remove a result: its files and its card. Missing pieces are skipped."""
        for file_id in file_ids:
            try:
                await self._client.files_delete(file=file_id)
            except SlackClientError as exc:
                logger.warning("could not delete file %s: %s", file_id, exc)
        if card_ts:
            try:
                await self._client.chat_delete(channel=channel, ts=card_ts)
            except SlackClientError as exc:
                logger.warning("could not delete the card: %s", exc)

    async def download(self, file_id: str) -> tuple[str, bytes]:
        """A Slack file's name and bytes, fetched from ``url_private`` with the bot token.

        Raises:
            DeliveryError: Slack would not give the file, or it is not an image.
        """
        try:
            info = await self._client.files_info(file=file_id)
        except SlackClientError as exc:
            raise DeliveryError(f"files.info failed: {_error_code(exc) or exc}") from exc
        file: dict[str, Any] = info["file"]
        name = str(file.get("title") or file.get("name") or file_id)
        url = str(file.get("url_private_download") or file.get("url_private"))
        headers = {"Authorization": f"Bearer {self._client.token}"}
        try:
            async with self._session.get(url, headers=headers) as response:
                kind = response.headers.get("Content-Type", "")
                if response.status != 200 or not kind.startswith("image/"):
                    # Without a valid token Slack answers 200 with a login page.
                    raise DeliveryError(f"Slack answered {response.status} {kind or 'no type'}")
                return name, await response.read()
        except aiohttp.ClientError as exc:
            raise DeliveryError(f"download failed: {exc}") from exc

    async def _react(self, channel: str, ts: str, add: str, remove: str | None = None) -> None:
        """Reactions are decoration: a failure is logged, never fatal."""
        try:
            if remove:
                await self._client.reactions_remove(channel=channel, timestamp=ts, name=remove)
            await self._client.reactions_add(channel=channel, timestamp=ts, name=add)
        except SlackClientError as exc:
            logger.warning("reaction %s on %s failed: %s", add, ts, exc)


UPLOAD_SLICE = 1024 * 1024


async def _slices(data: bytes | bytearray) -> AsyncIterator[memoryview]:
    """The bytes in 1 MiB views: aiohttp waits for the socket between them."""
    view = memoryview(data)
    for start in range(0, len(view), UPLOAD_SLICE):
        yield view[start : start + UPLOAD_SLICE]


def _title(prompt: str) -> str:
    return prompt if len(prompt) <= 80 else prompt[:79] + "…"


def _file_names(prompt: str, images: Sequence[GeneratedImage]) -> list[tuple[str, GeneratedImage]]:
    stem = file_stem(prompt)
    if len(images) == 1:
        return [(f"{stem}.{images[0].extension}", images[0])]
    return [(f"{stem}-{i}.{image.extension}", image) for i, image in enumerate(images, 1)]
