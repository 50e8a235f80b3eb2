"""The App Home tab: how to ask, today's use, and the user's recent images."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.slack.listeners.intake import Intake


class HomeListeners:
    def __init__(self, intake: Intake) -> None:
        self._intake = intake

    def register(self, app: AsyncApp) -> None:
        app.event("app_home_opened")(self.on_home_opened)

    async def on_home_opened(self, event: dict[str, Any]) -> None:
        user = event.get("user")
        if event.get("tab") != "home" or not user:
            return  # the Messages tab is the DM: nothing to draw
        await self._intake.show_home(user)
