"""The /banana command: parse, journal, acknowledge within a second, enqueue."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot import messages
from bot.jobs import Job
from bot.markup import to_plain
from bot.slack.listeners.intake import COMMAND, Intake


class CommandListeners:
    def __init__(self, intake: Intake) -> None:
        self._intake = intake

    def register(self, app: AsyncApp) -> None:
        app.command(COMMAND)(self.on_command)

    async def on_command(self, ack: AsyncAck, command: dict[str, Any]) -> None:
        user, channel = command.get("user_id"), command.get("channel_id")
        trigger = command.get("trigger_id")
        if not user or not channel or not trigger:
            await ack(text=messages.MALFORMED_TEXT, response_type="ephemeral")
            return
        text = to_plain(str(command.get("text", "")))
        answer = await self._intake.answer(user, channel, text, COMMAND)
        parsed, error = (None, answer) if answer else self._intake.parse(text, COMMAND)
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
        admitted = await self._intake.admit(job, [job.key])
        if admitted.accepted:
            # Journaled already, so a crash from here on is recovered on restart;
            # answering first keeps the job's own Slack calls out of the ack's way.
            await ack(
                text=messages.ack_text(parsed, admitted.quota_note), response_type="ephemeral"
            )
            self._intake.runner.submit(job)
        elif admitted.refusal:
            await ack(text=admitted.refusal, response_type="ephemeral")
        else:
            await ack()

    async def on_unknown_command(self, ack: AsyncAck) -> None:
        await ack(text=messages.UNKNOWN_COMMAND_TEXT, response_type="ephemeral")
