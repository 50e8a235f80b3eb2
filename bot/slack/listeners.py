"""Slack listeners: parse, admit into the journal, acknowledge, enqueue.

Nothing here generates or waits on the gateway.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import replace
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext

from bot import messages
from bot.jobs import Admission, Job, JobRunner, Journal, Limits, Source
from bot.markup import strip_user_mentions, to_plain
from bot.options import RATIOS, ImageOptions, UsageError, parse_request
from bot.slack.writer import DeliveryError, SlackWriter

logger = logging.getLogger(__name__)

MAX_INPUT_IMAGES = 4
_VERSION = re.compile(r"^v(\d+)\b[,:]?\s*(?:but\s+)?", re.IGNORECASE)


def _modal_text(view: dict[str, Any]) -> str:
    values = (view.get("state") or {}).get("values") or {}
    return str(((values.get("prompt") or {}).get("prompt") or {}).get("value") or "")


COMMAND = "/banana"
MENTION = "@banana"
HELP_WORDS = {"", "help", "-h", "--help", "?", "帮助"}
# Message subtypes that can be a request; edits, deletions, bots, broadcasts are not.
_REQUEST_SUBTYPES = {None, "file_share"}


class Listeners:
    def __init__(
        self,
        *,
        runner: JobRunner,
        writer: SlackWriter,
        journal: Journal,
        limits: Limits,
        max_images: int,
        max_prompt: int,
        workspace_url: str = "",
    ) -> None:
        self._runner = runner
        self._writer = writer
        self._journal = journal
        self._limits = limits
        self._max_images = max_images
        self._max_prompt = max_prompt
        self._workspace_url = workspace_url

    def register(self, app: AsyncApp) -> None:
        app.command(COMMAND)(self.on_command)
        app.event("app_mention")(self.on_mention)
        app.event("message")(self.on_message)
        app.action(messages.ACTION_REROLL)(self.on_reroll)
        app.action(messages.ACTION_RATIO)(self.on_ratio)
        app.action(messages.ACTION_EDIT)(self.on_edit)
        app.action(messages.ACTION_DELETE)(self.on_delete)
        app.view(messages.VIEW_EDIT)(self.on_edit_submitted)
        app.shortcut(messages.SHORTCUT_EDIT_MESSAGE)(self.on_edit_message)
        app.view(messages.VIEW_EDIT_MESSAGE)(self.on_edit_message_submitted)
        # Catch-alls after the real listeners: an unmatched request gets a 404
        # from Bolt, and Slack then delivers it again.
        app.command(re.compile(".*"))(self.on_unknown_command)
        app.event(re.compile(".*"))(self.ignore)
        app.action(re.compile(".*"))(self.ack_only)
        app.view(re.compile(".*"))(self.ack_only)
        app.shortcut(re.compile(".*"))(self.ack_only)

    async def _answer(self, user: str, channel: str, text: str, name: str) -> str | None:
        """Replies for the words that are not a prompt (help, usage, cancel, refusals)."""
        word = text.strip().lower()
        if word in HELP_WORDS:
            return messages.usage_text(name)
        if word == "usage":
            usage = await self._journal.usage(user)
            limits = self._limits
            return messages.usage_report_text(usage, limits.daily_quota, limits.is_admin(user))
        if word == "cancel":
            return messages.cancel_report_text(await self._runner.cancel_queued(user))
        if word == "history":
            return messages.history_text(
                [
                    messages.HistoryItem(
                        e.job.prompt,
                        e.job.options,
                        e.finished_at or e.job.created_at,
                        e.version,
                        messages.permalink(
                            self._workspace_url, e.status_channel, e.status_ts, e.result_thread
                        )
                        if self._workspace_url and e.status_channel and e.status_ts
                        else None,
                    )
                    for e in await self._journal.history(user)
                ]
            )
        if not self._limits.allows_channel(channel):
            return messages.channel_not_allowed_text()
        if not self._runner.accepting:
            return messages.SHUTTING_DOWN_TEXT
        return None

    def _parse(self, text: str, usage_name: str) -> tuple[Any, str | None]:
        try:
            return parse_request(
                text, max_images=self._max_images, max_prompt=self._max_prompt
            ), None
        except UsageError as exc:
            return None, messages.usage_error_text(exc, usage_name)

    async def _admit(self, job: Job, keys: list[str]) -> tuple[bool, str | None]:
        """Journal the job (before any acknowledgement); returns (accepted, refusal)."""
        decision = await self._journal.admit(job, keys, self._limits)
        if decision.admission is Admission.DUPLICATE:
            logger.info("duplicate delivery ignored key=%s", job.key)
            return False, None
        if decision.admission is Admission.TOO_MANY_QUEUED:
            return False, messages.too_many_queued_text(self._limits.max_queued_per_user)
        if decision.admission is Admission.OVER_QUOTA:
            return False, messages.over_quota_text(
                decision.used_today, self._limits.daily_quota, job.options.count
            )
        return True, None

    async def on_command(self, ack: AsyncAck, command: dict[str, Any]) -> None:
        user, channel = command.get("user_id"), command.get("channel_id")
        trigger = command.get("trigger_id")
        if not user or not channel or not trigger:
            await ack(text=messages.MALFORMED_TEXT, response_type="ephemeral")
            return
        text = to_plain(str(command.get("text", "")))
        answer = await self._answer(user, channel, text, COMMAND)
        parsed, error = (None, answer) if answer else self._parse(text, COMMAND)
        if parsed is None:
            await ack(text=error or "", response_type="ephemeral")
            return
        job = Job(
            key=f"trigger:{trigger}",
            user=user,
            channel=channel,
            prompt=parsed.prompt,
            options=parsed.options,
            source="command",
            response_url=command.get("response_url") or None,
        )
        accepted, refusal = await self._admit(job, [job.key])
        if accepted:
            # Journaled already, so a crash from here on is recovered on restart;
            # answering first keeps the job's own Slack calls out of the ack's way.
            await ack(text=messages.ack_text(parsed), response_type="ephemeral")
            self._runner.submit(job)
        elif refusal:
            await ack(text=refusal, response_type="ephemeral")
        else:
            await ack()

    async def on_mention(
        self, body: dict[str, Any], event: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        if event.get("bot_id") or event.get("edited") or event.get("subtype"):
            return
        await self._from_message(body, event, context, "mention")

    async def on_message(
        self, body: dict[str, Any], event: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        if event.get("channel_type") != "im" or event.get("subtype") not in _REQUEST_SUBTYPES:
            return
        if event.get("bot_id") or event.get("user") in (None, context.bot_user_id):
            return
        await self._from_message(body, event, context, "dm")

    async def _from_message(
        self, body: dict[str, Any], event: dict[str, Any], context: AsyncBoltContext, source: Source
    ) -> None:
        channel, ts, user = event.get("channel"), event.get("ts"), event.get("user")
        if not channel or not ts or not user:
            return
        event_id = str(body.get("event_id") or "")
        # The event id catches Slack's retries; channel+ts catches one message
        # arriving as two events. Remembered in the journal, across restarts.
        keys = [f"event:{event_id}" if event_id else "", f"message:{channel}:{ts}"]
        if not await self._journal.remember(keys):
            logger.info("duplicate delivery ignored event_id=%s", event_id)
            return
        raw = str(event.get("text") or "")
        if context.bot_user_id:
            raw = strip_user_mentions(raw, context.bot_user_id)
        text = to_plain(raw)
        thread = event.get("thread_ts") or ts
        answer = await self._answer(user, channel, text, MENTION)
        parsed, error = (None, answer) if answer else self._parse(text, MENTION)
        if parsed is None:
            await self._tell(source, channel, user, thread, error or "")
            return
        prompt, inputs, problem = await self._images_to_edit(event, channel, parsed.prompt)
        if problem:
            await self._tell(source, channel, user, thread, problem)
            return
        job = Job(
            key=keys[0] or keys[1],
            user=user,
            channel=channel,
            prompt=prompt,
            options=parsed.options,
            source=source,
            reply_thread=thread,
            request_ts=ts,
            inputs=inputs,
        )
        accepted, refusal = await self._admit(job, [])
        if accepted:
            self._runner.submit(job)
        elif refusal:
            await self._tell(source, channel, user, thread, refusal)

    async def _images_to_edit(
        self, event: dict[str, Any], channel: str, prompt: str
    ) -> tuple[str, tuple[str, ...], str | None]:
        """Attached images, else (inside a thread with results) the latest or named version.

        Returns the prompt (a version name taken out), the file ids, and a problem to
        tell the user, if any.
        """
        attached = tuple(
            str(f["id"])
            for f in event.get("files") or ()
            if isinstance(f, dict) and str(f.get("mimetype", "")).startswith("image/")
        )
        if attached:
            return prompt, attached[:MAX_INPUT_IMAGES], None
        thread = event.get("thread_ts")
        if not thread:
            return prompt, (), None
        versions = await self._journal.thread_versions(channel, thread)
        if not versions:
            return prompt, (), None
        named = _VERSION.match(prompt)
        chosen = versions[-1]
        if named:
            number = int(named.group(1))
            matching = [v for v in versions if v.version == number]
            if not matching:
                return prompt, (), messages.version_missing_text(number, versions[-1].version or 0)
            chosen = matching[0]
            prompt = prompt[named.end() :].strip() or prompt
        return prompt, chosen.file_ids[:1], None

    # ---- buttons, modals, the message shortcut ------------------------------------------------
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
        entry = await self._journal.get(str(action.get("value", "")))
        if entry is None:
            await self._notice(body, messages.GONE_TEXT)
            return
        await self._writer.open_modal(str(body.get("trigger_id")), messages.edit_modal(entry.job))

    async def on_delete(self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        user = str((body.get("user") or {}).get("id", ""))
        entry = await self._journal.get(str(action.get("value", "")))
        if entry is None or entry.deleted:
            await self._notice(body, messages.GONE_TEXT)
            return
        if user != entry.job.user and not self._limits.is_admin(user):
            await self._notice(body, messages.DELETE_DENIED_TEXT)
            return
        channel = entry.status_channel or entry.job.channel
        await self._writer.delete_result(channel, entry.status_ts, entry.file_ids)
        await self._journal.mark_deleted(entry.job.id)
        logger.info("job=%s deleted by=%s", entry.job.id, user)

    async def on_edit_submitted(
        self, ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]
    ) -> None:
        parsed, error = self._parse(_modal_text(view), COMMAND)
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
        files = [
            str(f["id"])
            for f in message.get("files") or ()
            if isinstance(f, dict) and str(f.get("mimetype", "")).startswith("image/")
        ][:MAX_INPUT_IMAGES]
        channel = str((shortcut.get("channel") or {}).get("id", ""))
        if not files:
            await self._notice(shortcut, messages.NO_IMAGES_TEXT)
            return
        metadata = json.dumps(
            {
                "channel": channel,
                "thread": message.get("thread_ts") or message.get("ts"),
                "files": files,
            }
        )
        await self._writer.open_modal(
            str(shortcut.get("trigger_id")), messages.edit_message_modal(metadata, len(files))
        )

    async def on_edit_message_submitted(
        self, ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]
    ) -> None:
        parsed, error = self._parse(_modal_text(view), MENTION)
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
        await self._submit_derived(job, body)

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
        entry = await self._journal.get(job_id)
        if entry is None:
            await self._notice(body, messages.GONE_TEXT)
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
        await self._submit_derived(job, body)

    async def _submit_derived(self, job: Job, body: dict[str, Any]) -> None:
        if not job.user or not job.channel:
            return
        if not self._limits.allows_channel(job.channel):
            await self._notice(body, messages.channel_not_allowed_text())
            return
        if not self._runner.accepting:
            await self._notice(body, messages.SHUTTING_DOWN_TEXT)
            return
        accepted, refusal = await self._admit(job, [job.key])
        if accepted:
            self._runner.submit(job)
        elif refusal:
            await self._notice(body, refusal, channel=job.channel, thread=job.reply_thread)

    async def _notice(
        self,
        body: dict[str, Any],
        text: str,
        *,
        channel: str | None = None,
        thread: str | None = None,
    ) -> None:
        """An ephemeral word to whoever clicked: through response_url when there is one."""
        response_url = body.get("response_url")
        if response_url:
            try:
                await self._writer.respond(str(response_url), text)
                return
            except DeliveryError:
                logger.warning("response_url failed; trying an ephemeral message")
        user = str((body.get("user") or {}).get("id", ""))
        where = channel or str((body.get("channel") or {}).get("id", ""))
        if user and where:
            await self._writer.whisper(where, user, thread, text)

    async def _tell(self, source: Source, channel: str, user: str, thread: str, text: str) -> None:
        if source == "dm":
            await self._writer.reply(channel, thread, text)
        else:
            await self._writer.whisper(channel, user, thread, text)

    async def on_unknown_command(self, ack: AsyncAck) -> None:
        await ack(text=messages.UNKNOWN_COMMAND_TEXT, response_type="ephemeral")

    async def ack_only(self, ack: AsyncAck) -> None:
        await ack()

    async def ignore(self) -> None:
        return None
