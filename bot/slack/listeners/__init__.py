"""Slack listeners, grouped by surface: they parse, journal, acknowledge and
enqueue. Nothing here generates or waits on the gateway."""

from __future__ import annotations

import re

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.slack.assistant_threads import AssistantThreads
from bot.slack.listeners.assistant import AssistantListeners
from bot.slack.listeners.commands import CommandListeners
from bot.slack.listeners.conversations import ConversationListeners
from bot.slack.listeners.home import HomeListeners
from bot.slack.listeners.intake import HELP_WORDS, MENTION, Intake
from bot.slack.listeners.interactions import InteractionListeners
from bot.slack.listeners.speaking import in_the_askers_language
from bot.slack.sharing import ResultSharer

__all__ = ["HELP_WORDS", "MENTION", "Intake", "register_listeners"]


def register_listeners(
    app: AsyncApp,
    intake: Intake,
    panel: tuple[AssistantThreads, ResultSharer] | None = None,
) -> None:
    """``panel``: what the AI-app panel's listeners write with (None: no panel)."""
    app.use(in_the_askers_language(intake))
    commands = CommandListeners(intake)
    conversations = ConversationListeners(intake)
    groups: list[CommandListeners | ConversationListeners | InteractionListeners] = [
        commands,
        conversations,
        InteractionListeners(intake),
    ]
    for group in groups:
        group.register(app)
    HomeListeners(intake).register(app)
    if panel is not None:
        AssistantListeners(intake, conversations, *panel).register(app)
    # Catch-alls after the real listeners: an unmatched request gets a 404
    # from Bolt, and Slack then delivers it again.
    app.command(re.compile(".*"))(commands.on_unknown_command)
    app.event(re.compile(".*"))(_ignore)
    app.action(re.compile(".*"))(_ack_only)
    app.view(re.compile(".*"))(_ack_only)
    app.shortcut(re.compile(".*"))(_ack_only)


async def _ack_only(ack: AsyncAck) -> None:
    await ack()


async def _ignore() -> None:
    return None
