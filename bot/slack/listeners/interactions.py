"""Buttons on result cards, the edit modals and the Edit with banana shortcut."""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.jobs import Job
from bot.options import RATIOS, ImageOptions
from bot.slack import ids, views
from bot.slack.listeners.intake import MENTION, Intake
from bot.slack.payloads import channel_id, clicking_user, modal_text
from bot.text import COMMAND, say

logger = logging.getLogger(__name__)


class InteractionListeners:
    def __init__(self, intake: Intake) -> None:
        self._intake = intake

    def register(self, app: AsyncApp) -> None:
        app.action(ids.ACTION_REROLL)(self.on_reroll)
        app.action(ids.ACTION_RATIO)(self.on_ratio)
        app.action(ids.ACTION_EDIT)(self.on_edit)
        app.action(ids.ACTION_DELETE)(self.on_delete)
        app.action(ids.ACTION_FORGET)(self.on_forget)
        app.view(ids.VIEW_EDIT)(self.on_edit_submitted)
        app.shortcut(ids.SHORTCUT_EDIT_MESSAGE)(self.on_edit_message)
        app.view(ids.VIEW_EDIT_MESSAGE)(self.on_edit_message_submitted)

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
        entry = await self._intake.earlier(str(action.get("value", "")))
        if entry is None:
            await self._intake.notice(body, say("gone"))
            return
        await self._intake.open_modal(body, views.edit_modal(entry.job))

    async def on_delete(self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        entry = await self._intake.earlier(str(action.get("value", "")))
        if entry is None or entry.deleted:
            await self._intake.notice(body, say("gone"))
            return
        card = (body.get("container") or {}).get("message_ts")
        refusal = await self._intake.delete(entry, clicking_user(body), card and str(card))
        if refusal:
            await self._intake.notice(body, refusal)

    async def on_forget(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        """Erase whoever clicked's own history (never anyone named in the payload)."""
        await ack()
        user = clicking_user(body)
        if user:
            await self._intake.notice(body, await self._intake.operators.forget(user))

    async def on_edit_submitted(
        self, ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]
    ) -> None:
        parsed, error = self._intake.parse(modal_text(view), COMMAND, plain=True)
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
        files = list(await self._intake.images_in(message.get("files")))
        if not files:
            await self._intake.notice(shortcut, say("no_images"))
            return
        metadata = json.dumps(
            {
                "channel": channel_id(shortcut),
                "thread": message.get("thread_ts") or message.get("ts"),
                "files": files,
            }
        )
        await self._intake.open_modal(shortcut, views.edit_message_modal(metadata, len(files)))

    async def on_edit_message_submitted(
        self, ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]
    ) -> None:
        parsed, error = self._intake.parse(modal_text(view), MENTION, plain=True)
        if parsed is None:
            await ack(response_action="errors", errors={"prompt": error or ""})
            return
        await ack()
        meta = json.loads(str(view.get("private_metadata") or "{}"))
        job = Job(
            key=f"view:{view.get('id')}:{body.get('trigger_id')}",
            user=clicking_user(body),
            channel=str(meta.get("channel", "")),
            prompt=parsed.prompt,
            options=parsed.options,
            source="mention",
            reply_thread=meta.get("thread"),
            inputs=tuple(meta.get("files") or ()),
        )
        await self._submit(job, body)

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
        entry = await self._intake.earlier(job_id)
        if entry is None:
            await self._intake.notice(body, say("gone"))
            return
        base = entry.job
        chosen = options or base.options
        if ratio:
            chosen = replace(chosen, aspect_ratio=ratio)
        job = Job(
            key=f"action:{body.get('trigger_id') or body.get('view', {}).get('id')}",
            user=clicking_user(body),
            channel=entry.status_channel or base.channel,
            prompt=prompt or base.prompt,
            options=chosen,
            source=base.source,
            reply_thread=entry.result_thread,
            response_url=body.get("response_url") or None,
            inputs=base.inputs,
            parent=base.id,
        )
        await self._submit(job, body)

    async def _submit(self, job: Job, body: dict[str, Any]) -> None:
        """Request a job made from a click or a modal; a refusal goes to whoever clicked."""
        if not job.user or not job.channel:
            return
        admitted = await self._intake.request(job, [job.key])
        if admitted.refusal:
            await self._intake.notice(
                body, admitted.refusal, channel=job.channel, thread=job.reply_thread
            )
