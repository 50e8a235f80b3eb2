"""Who and where, as the stand-in answers it: the bot itself (``auth.test``),
people (``users.info``, ``users.list``, with their language) and conversations
(``conversations.*``: join, info, a thread's replies, opening a DM)."""

from __future__ import annotations

from typing import Any

from bot.standins.slack.workspace import BOT_ID, BOT_USER, TEAM, ApiError, Handler, Workspace


class DirectoryApi:
    def __init__(self, workspace: Workspace) -> None:
        self._workspace = workspace

    def methods(self) -> dict[str, Handler]:
        return {
            "auth.test": self.auth_test,
            "users.info": self.user_info,
            "users.list": self.users,
            "conversations.join": self.join,
            "conversations.info": self.conversation_info,
            "conversations.replies": self.replies,
            "conversations.open": self.open,
        }

    def auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "user_id": BOT_USER,
            "bot_id": BOT_ID,
            "team_id": TEAM,
            "user": "banana",
            "team": "Banana Sandbox",
            "url": f"{self._workspace.base}/",
        }

    def user_info(self, args: dict[str, Any]) -> dict[str, Any]:
        """A person, with their language when asked (``include_locale``), as Slack does."""
        user = str(args.get("user", ""))
        if user[:1] not in ("U", "W"):
            raise ApiError("user_not_found")
        person: dict[str, Any] = {"id": user, "team_id": TEAM, "name": user.lower()}
        if str(args.get("include_locale", "")).lower() in ("true", "1"):
            person["locale"] = self._workspace.locales.get(user, self._workspace.default_locale)
        return {"user": person}

    def users(self, args: dict[str, Any]) -> dict[str, Any]:
        """The workspace's people (those whose language is set in ``locales``), a page at
        a time (``limit``, ``cursor``), with their language when asked, as Slack does."""
        locales = self._workspace.locales
        people = sorted(locales)
        start = int(args.get("cursor") or 0)
        limit = int(args.get("limit") or 100)
        with_locale = str(args.get("include_locale", "")).lower() in ("true", "1")
        members = [
            {"id": user, "team_id": TEAM, "name": user.lower()}
            | ({"locale": locales[user]} if with_locale else {})
            for user in people[start : start + limit]
        ]
        more = start + limit < len(people)
        return {
            "members": members,
            "response_metadata": {"next_cursor": str(start + limit) if more else ""},
        }

    def join(self, args: dict[str, Any]) -> dict[str, Any]:
        conversation = self._workspace.conversations.get(str(args.get("channel", "")))
        if conversation is None or conversation.kind != "public":
            raise ApiError(
                "channel_not_found"
                if conversation is None
                else "method_not_supported_for_channel_type"
            )
        conversation.member = True
        return {"channel": {"id": conversation.id, "name": conversation.name}}

    def conversation_info(self, args: dict[str, Any]) -> dict[str, Any]:
        conversation = self._workspace.conversations.get(str(args.get("channel", "")))
        if conversation is None or (conversation.kind == "private" and not conversation.member):
            raise ApiError("channel_not_found")
        return {"channel": {"id": conversation.id, "name": conversation.name}}

    def replies(self, args: dict[str, Any]) -> dict[str, Any]:
        channel, ts = str(args.get("channel", "")), str(args.get("ts", ""))
        if self._workspace.find(channel, ts) is None:
            raise ApiError("thread_not_found")
        thread = [
            m.view()
            for m in self._workspace.visible(channel)
            if m.ts == ts or (m.thread_ts == ts and float(m.ts) >= float(args.get("oldest") or 0))
        ]
        limit = int(args.get("limit") or 1000)
        return {"messages": thread[:limit], "has_more": len(thread) > limit}

    def open(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"channel": {"id": self._workspace.open_im(str(args.get("users", "")))}}
