"""What the bot says, by key, in the language of whoever it says it to.

``say("status.queued", request=...)`` looks the key up in the current
language's gettext catalog (``bot/text/locales/<lang>/LC_MESSAGES/banana.mo``)
and fills its named parameters (``str.format`` style). ``count(key, n)`` picks
the plural form for ``n``. Code never spells out user text itself, so a new
language is a new catalog, not a hunt through f-strings.

Whose language: a context variable, set per request by the Slack listeners,
per job by the publisher and per run by the terminal (:func:`speaking`), so
``say`` keeps its call shape. A key missing from a catalog falls back to
English; a key no catalog has raises :class:`MissingMessage` (a bug, caught by
the catalogs' tests).
"""

from __future__ import annotations

import gettext
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from importlib import resources

COMMAND = "/banana"  # the slash command, as the manifest declares it
DOMAIN = "banana"
ENGLISH = "en"
CHINESE = "zh-CN"
LANGUAGES = (ENGLISH, CHINESE)  # BCP 47 tags, as Slack spells locales
# A locale's primary language subtag → the language spoken to it. Chinese written
# in Traditional characters (zh-TW, zh-HK) reads Simplified far better than English.
_SPOKEN = {"en": ENGLISH, "zh": CHINESE}

_language: ContextVar[str] = ContextVar("banana_language", default=ENGLISH)


class MissingMessage(KeyError):
    """A key that no catalog has: a bug, caught by the catalogs' tests."""


class _NoMessage(gettext.NullTranslations):
    """The end of every fallback chain: a key nobody has is an error, not its own text."""

    def gettext(self, message: str) -> str:
        raise MissingMessage(message)

    def ngettext(self, msgid1: str, msgid2: str, n: int) -> str:
        raise MissingMessage(msgid1)


def catalog_folder(language: str) -> str:
    """``zh-CN`` → ``zh_CN``: gettext's folder name for a language tag."""
    return language.replace("-", "_")


@cache
def translations(language: str) -> gettext.NullTranslations:
    """The compiled catalog of ``language`` (package data), English behind it."""
    english = _load(ENGLISH)
    english.add_fallback(_NoMessage())
    if language == ENGLISH:
        return english
    catalog = _load(language)
    catalog.add_fallback(english)
    return catalog


def _load(language: str) -> gettext.GNUTranslations:
    path = resources.files(__name__).joinpath(
        "locales", catalog_folder(language), "LC_MESSAGES", f"{DOMAIN}.mo"
    )
    with path.open("rb") as file:
        return gettext.GNUTranslations(file)


def language_for(tag: str | None) -> str | None:
    """The supported language closest to a locale tag, or None.

    Slack's ``en-US``/``en-GB`` → ``en``; ``zh-CN``, ``zh-Hans``, ``zh-TW``, ``zh-HK``
    → ``zh-CN``; POSIX forms such as ``zh_CN.UTF-8`` too. Anything else → None.
    """
    if not tag:
        return None
    primary = tag.split(".")[0].split("@")[0].replace("_", "-").split("-")[0].lower()
    return _SPOKEN.get(primary)


def current_language() -> str:
    return _language.get()


def speak_from_now_on(language: str) -> None:
    """The rest of the current task speaks ``language`` (each Slack request runs in a
    task of its own; tasks it starts inherit the language)."""
    _language.set(language if language in LANGUAGES else ENGLISH)


@contextmanager
def speaking(language: str) -> Iterator[None]:
    """Everything said inside the block is in ``language`` (a supported tag)."""
    token = _language.set(language if language in LANGUAGES else ENGLISH)
    try:
        yield
    finally:
        _language.reset(token)


def say(key: str, /, **params: object) -> str:
    """The text for ``key`` in the current language, with ``params`` filled in.

    An entry with plural forms is chosen by the ``count`` parameter.
    """
    catalog = translations(current_language())
    number = params.get("count")
    template: str | None = None
    if isinstance(number, int):
        try:
            template = catalog.ngettext(key, key, number)
        except MissingMessage:
            template = None  # not a plural entry: a message that merely shows a count
    if template is None:
        template = catalog.gettext(key)
    return template.format(**params) if params else template


def count(key: str, number: int, /, **params: object) -> str:
    """``count("count.image", 3)`` → ``3 images`` (``3 张图`` in Chinese)."""
    return say(key, count=number, **params)


__all__ = [
    "CHINESE",
    "COMMAND",
    "ENGLISH",
    "LANGUAGES",
    "MissingMessage",
    "count",
    "current_language",
    "language_for",
    "say",
    "speak_from_now_on",
    "speaking",
]
