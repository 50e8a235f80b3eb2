"""The stand-in's ``views.*``: App Home tabs published and modals opened, each
checked as Slack checks a view and recorded for tests and the sandbox."""

from __future__ import annotations

import json
from typing import Any

from bot.standins.slack.arguments import check_blocks
from bot.standins.slack.workspace import ApiError, Handler, Workspace


class ViewsApi:
    def __init__(self, workspace: Workspace) -> None:
        self._workspace = workspace

    def methods(self) -> dict[str, Handler]:
        return {"views.publish": self.publish, "views.open": self.open}

    def publish(self, args: dict[str, Any]) -> dict[str, Any]:
        user = str(args.get("user_id", ""))
        view = self._view(args, ok=bool(user), kind="home")
        self._workspace.home_views[user] = view
        self._workspace.notify("home", view)
        return {"view": view}

    def open(self, args: dict[str, Any]) -> dict[str, Any]:
        view = self._view(args, ok=bool(args.get("trigger_id")), kind="modal")
        self._workspace.views.append(view)
        self._workspace.notify("view", view)
        return {"view": view}

    def _view(self, args: dict[str, Any], *, ok: bool, kind: str) -> dict[str, Any]:
        """The view argument, checked as Slack checks it, with an id of its own."""
        view = args.get("view")
        view = json.loads(view) if isinstance(view, str) else view
        if not ok or not isinstance(view, dict) or view.get("type") != kind:
            raise ApiError("invalid_arguments")
        check_blocks(view.get("blocks", []), most=100)
        return {"id": f"V{self._workspace.next_id():08d}", **view}
