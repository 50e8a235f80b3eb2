"""The /banana command: parse, journal, acknowledge within a second, enqueue."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.jobs import Job
from bot.markup import to_plain
from bot.slack import mrkdwn, views
from bot.slack.listeners.intake import Admitted, Intake
from bot.text import COMMAND, say


class CommandListeners:
    def __init__(self, intake: Intake) -> None:
        self._intake = intake

    def register(self, app: AsyncApp) -> None:
        app.command(COMMAND)(self.on_command)

    async def on_command(self, ack: AsyncAck, command: dict[str, Any]) -> None:
        user, channel = command.get("user_id"), command.get("channel_id")
        trigger = command.get("trigger_id")
        if not user or not channel or not trigger:
            await ack(text=say("malformed_request"), response_type="ephemeral")
            return
        text = to_plain(str(command.get("text", "")))
        card = await self._card(user, text.strip().lower())
        if card is not None:
            await ack(text=views.card_text(card), blocks=card, response_type="ephemeral")
            return
        answer = await self._intake.words(user, text, COMMAND) or self._intake.gate(channel)
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

        # Journaled before the ack, so a crash from here on is recovered on restart;
        # the job's own Slack calls run in the background, out of the ack's way.
        async def accepted(admitted: Admitted) -> None:
            note = admitted.quota_note
            await ack(text=mrkdwn.ack_text(parsed, note), response_type="ephemeral")

        admitted = await self._intake.request(job, [job.key], first=accepted)
        if admitted.accepted:
            return
        if admitted.refusal:
            await ack(text=admitted.refusal, response_type="ephemeral")
        else:
            await ack()

    async def _card(self, user: str, word: str) -> list[views.Block] | None:
        """The answers that carry blocks: the stats card, and forget's confirm button."""
        if word == "stats":
            return await self._intake.operators.stats_card(user)
        if word == "forget":
            return views.forget_prompt()
        return None

    async def on_unknown_command(self, ack: AsyncAck) -> None:
        await ack(text=say("unknown_command", command=COMMAND), response_type="ephemeral")
