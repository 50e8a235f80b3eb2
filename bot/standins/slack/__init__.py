"""A stand-in for the Slack Web API, the file upload URL, ``response_url`` and
Socket Mode, speaking Slack's wire formats over real HTTP.

It keeps a small model of the workspace (conversations, messages, threads,
reactions, files, ephemerals) and records every call, so tests and the
sandbox can see exactly what reached "Slack". Arguments are accepted as
query string, form or JSON, like Slack. Faults are queued per method.

The parts: :mod:`.workspace` (the model), :mod:`.standin` (the server and
its dispatch), :mod:`.chat`, :mod:`.directory`, :mod:`.views`, :mod:`.files`,
:mod:`.assistant` (Web API methods by family), :mod:`.socket_mode`,
:mod:`.faults` and :mod:`.arguments`.
"""

from bot.standins.slack.assistant import AssistantPanel, AssistantThread
from bot.standins.slack.standin import SlackStandIn
from bot.standins.slack.workspace import (
    BOT_ID,
    BOT_USER,
    TEAM,
    ApiError,
    Call,
    Conversation,
    Listener,
    Message,
)

__all__ = [
    "BOT_ID",
    "BOT_USER",
    "TEAM",
    "ApiError",
    "AssistantPanel",
    "AssistantThread",
    "Call",
    "Conversation",
    "Listener",
    "Message",
    "SlackStandIn",
]
