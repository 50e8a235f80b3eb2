"""The manifest, the container and the docs say what the code does."""

from __future__ import annotations

import re
from typing import Any

import yaml

from bot.settings import Settings
from tests.conftest import ROOT


def manifest() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "manifest.yml").read_text())
    return data


def test_manifest_scopes_events_and_command() -> None:
    data = manifest()
    scopes = set(data["oauth_config"]["scopes"]["bot"])
    assert {
        "commands",
        "chat:write",
        "files:write",
        "app_mentions:read",
        "im:history",
        "im:write",
        "reactions:write",
        "channels:join",
        "files:read",
    } <= scopes
    (shortcut,) = data["features"]["shortcuts"]
    assert (shortcut["type"], shortcut["callback_id"]) == ("message", "banana_edit_message")
    assert data["settings"]["event_subscriptions"]["bot_events"] == [
        "app_home_opened",
        "app_mention",
        "message.im",
    ]
    assert data["settings"]["socket_mode_enabled"] is True
    assert data["settings"]["interactivity"]["is_enabled"] is True
    home = data["features"]["app_home"]
    assert home["home_tab_enabled"] is True
    assert home["messages_tab_enabled"] is True
    assert home["messages_tab_read_only_enabled"] is False
    (command,) = data["features"]["slash_commands"]
    assert command["command"] == "/banana"
    assert command["usage_hint"]


def test_dockerfile_is_slim_non_root_exec_form_with_healthcheck() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.\d+-slim", text, re.M)
    assert re.search(r"^USER (?!root)\w+", text, re.M)
    assert "HEALTHCHECK" in text
    assert "/healthz" in text
    assert re.search(r'^ENTRYPOINT \["banana-bot"\]', text, re.M)
    assert not re.search(r"(API_KEY|TOKEN|SECRET)=\S", text)
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".env", ".venv", ".git"} <= set(ignored)


def test_every_setting_is_documented() -> None:
    names = set(
        re.findall(
            r'"((?:BANANA|SLACK)_[A-Z_]+|HOST|PORT|LOG_LEVEL)"',
            (ROOT / "bot" / "settings.py").read_text(),
        )
    )
    assert len(names) > 15
    readme = (ROOT / "README.md").read_text()
    example = (ROOT / ".env.example").read_text()
    for name in names:
        assert f"`{name}`" in readme, name
        assert re.search(rf"^{name}=", example, re.M), name
    assert Settings.from_env({}).port == 3000
