"""Buttons on result cards, the edit modals and the Edit with banana shortcut."""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot import messages
from bot.jobs import Job
from bot.options import RATIOS, ImageOptions
from bot.slack.listeners.conversations import image_file_ids
from bot.slack.listeners.intake import COMMAND, MENTION, Intake

logger = logging.getLogger(__name__)


def _modal_text(view: dict[str, Any]) -> str:
    values = (view.get("state") or {}).get("values") or {}
    return str(((values.get("prompt") or {}).get("prompt") or {}).get("value") or "")


class InteractionListeners:
    def __init__(self, intake: Intake) -> None:
        self._intake = intake

    def register(self, app: AsyncApp) -> None:
        app.action(messages.ACTION_REROLL)(self.on_reroll)
        app.action(messages.ACTION_RATIO)(self.on_ratio)
        app.action(messages.ACTION_EDIT)(self.on_edit)
        app.action(messages.ACTION_DELETE)(self.on_delete)
        app.view(messages.VIEW_EDIT)(self.on_edit_submitted)
        app.shortcut(messages.SHORTCUT_EDIT_MESSAGE)(self.on_edit_message)
        app.view(messages.VIEW_EDIT_MESSAGE)(self.on_edit_message_submitted)

    async def on_reroll(self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        await self._derive(body, str(action.get("value", "")))

    async def on_ratio(self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        value = str((action.get("selected_option") or {}).get("value", ""))
        job_id, _, ratio = value.partition("|")
        if ratio not in RATIOS:
            return
        await self._derive(body, job_id, ratio=ratio)

    async def on_edit(self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        entry = await self._intake.journal.get(str(action.get("value", "")))
        if entry is None:
            await self._intake.notice(body, messages.GONE_TEXT)
            return
        if not await self._intake.writer.open_modal(
            str(body.get("trigger_id")), messages.edit_modal(entry.job)
        ):
            await self._intake.notice(body, messages.MODAL_FAILED_TEXT)

    async def on_delete(self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        user = str((body.get("user") or {}).get("id", ""))
        entry = await self._intake.journal.get(str(action.get("value", "")))
        if entry is None or entry.deleted:
            await self._intake.notice(body, messages.GONE_TEXT)
            return
        if user != entry.job.user and not self._intake.limits.is_admin(user):
            await self._intake.notice(body, messages.DELETE_DENIED_TEXT)
            return
        channel = entry.status_channel or entry.job.channel
        await self._intake.writer.delete_result(channel, entry.status_ts, entry.file_ids)
        await self._intake.journal.mark_deleted(entry.job.id)
        logger.info("job=%s deleted by=%s", entry.job.id, user)

    async def on_edit_submitted(
        self, ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]
    ) -> None:
        parsed, error = self._intake.parse(_modal_text(view), COMMAND)
        if parsed is None:
            await ack(response_action="errors", errors={"prompt": error or ""})
            return
        await ack()
        await self._derive(
            body,
            str(view.get("private_metadata", "")),
            prompt=parsed.prompt,
            options=parsed.options,
        )

    async def on_edit_message(self, ack: AsyncAck, shortcut: dict[str, Any]) -> None:
        await ack()
        message = shortcut.get("message") or {}
        files = list(image_file_ids(message.get("files")))
        channel = str((shortcut.get("channel") or {}).get("id", ""))
        if not files:
            await self._intake.notice(shortcut, messages.NO_IMAGES_TEXT)
            return
        metadata = json.dumps(
            {
                "channel": channel,
                "thread": message.get("thread_ts") or message.get("ts"),
                "files": files,
            }
        )
        if not await self._intake.writer.open_modal(
            str(shortcut.get("trigger_id")), messages.edit_message_modal(metadata, len(files))
        ):
            await self._intake.notice(shortcut, messages.MODAL_FAILED_TEXT)

    async def on_edit_message_submitted(
        self, ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]
    ) -> None:
        parsed, error = self._intake.parse(_modal_text(view), MENTION)
        if parsed is None:
            await ack(response_action="errors", errors={"prompt": error or ""})
            return
        await ack()
        meta = json.loads(str(view.get("private_metadata") or "{}"))
        user = str((body.get("user") or {}).get("id", ""))
        job = Job(
            key=f"view:{view.get('id')}:{body.get('trigger_id')}",
            user=user,
            channel=str(meta.get("channel", "")),
            prompt=parsed.prompt,
            options=parsed.options,
            source="mention",
            reply_thread=meta.get("thread"),
            inputs=tuple(meta.get("files") or ()),
        )
        await self._intake.submit_derived(job, body)

    async def _derive(
        self,
        body: dict[str, Any],
        job_id: str,
        *,
        ratio: str | None = None,
        prompt: str | None = None,
        options: ImageOptions | None = None,
    ) -> None:
        """A new job from an earlier one (re-roll, other ratio, edited prompt), asked by
        whoever clicked, answered where the earlier one was."""
        entry = await self._intake.journal.get(job_id)
        if entry is None:
            await self._intake.notice(body, messages.GONE_TEXT)
            return
        base = entry.job
        chosen = options or base.options
        if ratio:
            chosen = replace(chosen, aspect_ratio=ratio)
        job = Job(
            key=f"action:{body.get('trigger_id') or body.get('view', {}).get('id')}",
            user=str((body.get("user") or {}).get("id", "")),
            channel=entry.status_channel or base.channel,
            prompt=prompt or base.prompt,
            options=chosen,
            source=base.source,
            reply_thread=entry.result_thread,
            response_url=body.get("response_url") or None,
            inputs=base.inputs,
            parent=base.id,
        )
        await self._intake.submit_derived(job, body)
