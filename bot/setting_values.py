"""How one environment variable becomes a valid value, or a one-line error naming it.

:mod:`bot.settings` hands these readers ``os.environ``; nothing here reads it.
Kept apart from the settings themselves so the job core can name a
:class:`PostgresURL` without importing the settings (and the text catalogs they need).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar
from urllib.parse import SplitResult, urlsplit

T = TypeVar("T")
_PASSWORD_PARAMETER = re.compile(r"(?i)\b(password=)[^&]*")


class SettingsError(ValueError):
    """A setting is missing or invalid; the message names the variable."""


@dataclass(frozen=True)
class PostgresURL:
    """A ``postgresql://`` URL for the shared journal; its password stays out of
    ``repr`` and of every message, which show :attr:`redacted` instead."""

    url: str = field(repr=False)

    @property
    def redacted(self) -> str:
        return redact_password(urlsplit(self.url))

    def __repr__(self) -> str:
        return f"PostgresURL({self.redacted!r})"


class VariableReader:
    """Reads and validates single variables; blank counts as unset."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ

    def text(self, name: str) -> str | None:
        value = self._environ.get(name, "").strip()
        return value or None

    def first(self, *names: str) -> str | None:
        """The first of ``names`` that is set (POSIX's order for the locale variables)."""
        return next((value for name in names if (value := self.text(name))), None)

    def ids(self, name: str) -> frozenset[str]:
        """Comma- or space-separated Slack ids (users U…/W…, channels C…/G…/D…)."""
        values = frozenset((self.text(name) or "").replace(",", " ").split())
        for value in values:
            if not value.isalnum() or not value[0].isupper():
                raise SettingsError(
                    f"{name} must list Slack ids separated by commas, like U012AB3CD "
                    f"(got {value!r})"
                )
        return values

    def channel(self, name: str) -> str | None:
        """One channel id (public C…, private G…)."""
        value = self.text(name)
        if value is not None and not (value.isalnum() and value[0] in "CG"):
            raise SettingsError(
                f"{name} must be a channel id like C012AB3CD (got {value!r}); "
                "in Slack: the channel's name → About → Channel ID"
            )
        return value

    def path(self, name: str) -> Path | None:
        value = self.text(name)
        return None if value is None else Path(value)

    def url(self, name: str) -> str | None:
        value = self.text(name)
        if value is not None and not value.startswith(("http://", "https://")):
            raise SettingsError(f"{name} must be an http:// or https:// URL (got {value!r})")
        return value

    def database(self, name: str, default: Path | PostgresURL) -> Path | PostgresURL:
        """A file path (SQLite) or a ``postgresql://`` URL; other URLs are refused."""
        value = self.text(name)
        if value is None:
            return default
        if "://" not in value:
            return Path(value)
        parts = urlsplit(value)
        if parts.scheme not in ("postgresql", "postgres"):
            shown = redact_password(parts)
            raise SettingsError(
                f"{name} must be a file path or a postgresql:// URL (got {shown!r})"
            )
        # The rest (hosts, ports, parameters) is checked by libpq's own parser
        # when the journal opens, which fails start-up naming this variable too.
        return PostgresURL(value)

    def choice(
        self,
        name: str,
        choices: tuple[str, ...],
        default: str,
        fold: Callable[[str], str] = str.lower,
    ) -> str:
        value = self.text(name)
        if value is None:
            return default
        if fold(value) not in choices:
            raise SettingsError(f"{name} must be one of {', '.join(choices)} (got {value!r})")
        return fold(value)

    def optional_choice(
        self, name: str, choices: tuple[str, ...], fold: Callable[[str], str]
    ) -> str | None:
        return self.choice(name, choices, "", fold) or None

    def optional_number(self, name: str, kind: Callable[[str], T], *, minimum: float) -> T | None:
        if self.text(name) is None:
            return None
        return self.number(name, kind, kind("0"), minimum=minimum)

    def number(
        self,
        name: str,
        kind: Callable[[str], T],
        default: T,
        *,
        minimum: float,
        maximum: float | None = None,
    ) -> T:
        value = self.text(name)
        if value is None:
            return default
        noun = "a whole number" if kind is int else "a number"
        bounds = f" from {minimum:g} to {maximum:g}" if maximum is not None else f" ≥ {minimum:g}"
        try:
            parsed = kind(value)
        except ValueError:
            raise SettingsError(f"{name} must be {noun}{bounds} (got {value!r})") from None
        number = float(parsed)  # type: ignore[arg-type]
        if number < minimum or (maximum is not None and number > maximum):
            raise SettingsError(f"{name} must be {noun}{bounds} (got {value!r})")
        return parsed


def redact_password(parts: SplitResult) -> str:
    """The URL with any password (in the user part or as a parameter) shown as ***."""
    query = _PASSWORD_PARAMETER.sub(r"\1***", parts.query)
    credentials, _, host = parts.netloc.rpartition("@")
    user, colon, _password = credentials.partition(":")
    netloc = f"{user}:***@{host}" if colon else parts.netloc
    return parts._replace(netloc=netloc, query=query).geturl()
