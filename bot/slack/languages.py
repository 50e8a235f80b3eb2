"""Whose language: what each person reads, in this order —

1. the language they chose (``/banana language zh``), kept in the journal;
2. their Slack language (``users.info`` with ``include_locale``), when the bot
   speaks it (``zh-TW``/``zh-HK`` read Simplified Chinese better than English);
3. ``BANANA_LANGUAGE``.

Slack's answer is cached per person for ``ttl`` (an hour: people rarely switch),
in a bounded cache, and asked once however many requests arrive together. A
lookup that fails or is slow falls back to the default rather than keep anyone
waiting (a slash command has 3 s for its answer). Choices are cached briefly:
another replica's ``language`` command shows here within ``CHOICE_TTL``. They
are also read all at once (few people choose one), every half ``CHOICE_TTL``:
a crowd's first requests then need no journal read each beside their admission.

The cache is also filled with everyone's language at once (``users.list``, a
page at a time, every half ``ttl``): Slack answers ``users.info`` about 100
times a minute, so a lunch-time crowd of people the bot has not met would
otherwise wait for one lookup each, and each would cost the event loop a call
while acks are due.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
import time
from collections import OrderedDict
from typing import Generic, TypeVar

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from bot.jobs import Journal, StoreError
from bot.slack.errors import error_code
from bot.text import CHINESE, COMMAND, ENGLISH, language_for, say, speaking

logger = logging.getLogger(__name__)
V = TypeVar("V")

LOCALE_TTL = 3600.0  # seconds a person's Slack language is trusted
CHOICE_TTL = 60.0  # seconds a person's chosen language is trusted without asking the journal
MAX_PEOPLE = 10_000  # people remembered at most (the least recently asked go first)
LOOKUP_WAIT = 1.5  # seconds a request waits for Slack's answer before using the default
PAGE = 200  # people per users.list page (Slack advises at most 200)
PAGE_SPACING = 3.0  # seconds between pages: users.list is allowed about 20 calls a minute

LANGUAGE_WORDS = {"language", "lang", "语言"}
AUTO_WORDS = {"auto", "slack", "自动"}
LANGUAGE_NAMES = {"english": ENGLISH, "英文": ENGLISH, "chinese": CHINESE, "中文": CHINESE}
# What follows `language` in a request to switch (`zh`, `zh-CN`, `auto`, `中文`),
# rather than a prompt that starts with the word ("language of flowers").
_WANTED = re.compile(
    r"^(?:[a-z]{2,3}(?:[-_][a-z0-9]{2,4})?|auto|slack|english|chinese|中文|英文|自动)$"
)


def asks_for_a_language(words: str) -> bool:
    """``language zh``, ``language auto``, a bare ``language``: not a prompt."""
    first, _, rest = words.strip().lower().partition(" ")
    rest = rest.strip()
    return first in LANGUAGE_WORDS and (not rest or bool(_WANTED.match(rest)))


class ExpiringCache(Generic[V]):
    """Values that expire ``ttl`` seconds after they were put, at most ``size`` of them."""

    def __init__(self, ttl: float, size: int) -> None:
        self._ttl = ttl
        self._size = size
        self._items: OrderedDict[str, tuple[float, V]] = OrderedDict()

    def get(self, key: str) -> V | None:
        item = self._items.get(key)
        if item is None:
            return None
        if item[0] <= time.monotonic():
            del self._items[key]
            return None
        self._items.move_to_end(key)
        return item[1]

    def put(self, key: str, value: V) -> None:
        self._items[key] = (time.monotonic() + self._ttl, value)
        self._items.move_to_end(key)
        while len(self._items) > self._size:
            self._items.popitem(last=False)

    def forget(self, key: str) -> None:
        self._items.pop(key, None)

    def __len__(self) -> int:
        return len(self._items)


class Languages:
    def __init__(
        self,
        client: AsyncWebClient,
        journal: Journal,
        *,
        default: str,
        ttl: float = LOCALE_TTL,
        size: int = MAX_PEOPLE,
        page: int = PAGE,
        page_spacing: float = PAGE_SPACING,
    ) -> None:
        self._client = client
        self._journal = journal
        self.default = default
        self._size = size
        self._page = page
        self._page_spacing = page_spacing
        # user → Slack's answer (None: unknown or not spoken here)
        self._locales: ExpiringCache[tuple[str | None]] = ExpiringCache(ttl, size)
        self._asking: dict[str, asyncio.Task[str | None]] = {}  # one lookup per person at once
        self._choices: ExpiringCache[tuple[str | None]] = ExpiringCache(CHOICE_TTL, size)
        # Everyone's choices from one read (None: not read, or too many: one read each)
        self._everyones: dict[str, str] | None = None
        self._everyones_read_at = 0.0

    async def of(self, user: str) -> str:
        """The language to speak to ``user`` in."""
        return await self.chosen(user) or await self.slack_language(user) or self.default

    async def chosen(self, user: str) -> str | None:
        if self._everyones is not None and time.monotonic() < self._everyones_read_at + CHOICE_TTL:
            return self._everyones.get(user)
        cached = self._choices.get(user)
        if cached is not None:
            return cached[0]
        try:
            language = await self._journal.language(user)
        except StoreError:
            logger.warning("could not read user=%s's chosen language", user, exc_info=True)
            return None
        self._choices.put(user, (language,))
        return language

    async def choose(self, user: str, language: str | None) -> None:
        """Keep ``user``'s choice (None: follow their Slack again).

        Raises:
            StoreError: the journal could not keep it.
        """
        await self._journal.set_language(user, language)
        self._choices.put(user, (language,))
        if self._everyones is not None:
            self._everyones.pop(user, None)
            if language is not None:
                self._everyones[user] = language

    async def learn_choices(self) -> None:
        """Read everyone's chosen language at once (until the next read is due, a
        person missing from it chose none)."""
        try:
            self._everyones = await self._journal.languages(self._size)
        except StoreError:
            logger.warning("could not read the chosen languages; reading each when needed")
            self._everyones = None
        self._everyones_read_at = time.monotonic()

    async def switch(self, user: str, wanted: str) -> str:
        """``language zh`` / ``en`` / ``auto``, answered in the language now in force
        (a bare or unknown one lists the choices)."""
        wanted = wanted.lower()
        language = LANGUAGE_NAMES.get(wanted) or language_for(wanted)
        if wanted not in AUTO_WORDS and language is None:
            return say("language.choices", command=COMMAND)
        try:
            await self.choose(user, language)
        except StoreError:
            logger.exception("could not keep user=%s's language", user)
            return say("unexpected")
        if language is None:  # following Slack again: ask it now, not what it said an hour ago
            self._locales.forget(user)
        with speaking(await self.of(user)):
            return say("language.auto" if language is None else "language.set", command=COMMAND)

    async def slack_language(self, user: str) -> str | None:
        """``user``'s Slack language if the bot speaks it; None when unknown or slow."""
        known = self._locales.get(user)
        if known is not None:
            return known[0]
        lookup = self._asking.get(user)
        if lookup is None:
            lookup = asyncio.create_task(self._ask_slack(user))
            self._asking[user] = lookup
            lookup.add_done_callback(functools.partial(self._learned, user))
        try:
            # Shielded: a request that stops waiting leaves the answer to the next one.
            # asyncio.timeout, not wait_for: on 3.11 wait_for swallows a cancellation
            # that arrives as the answer does, and a job's status ticker would never stop.
            async with asyncio.timeout(LOOKUP_WAIT):
                return await asyncio.shield(lookup)
        except TimeoutError:
            logger.warning("users.info for user=%s is slow; using the default language", user)
            return None

    def _learned(self, user: str, lookup: asyncio.Task[str | None]) -> None:
        del self._asking[user]
        if not lookup.cancelled():
            self._locales.put(user, (lookup.result(),))

    async def learn_everyone(self) -> None:
        """Fill the cache with the workspace's people and their Slack languages
        (``users.list``), until it holds as many as it may."""
        cursor: str | None = None
        while len(self._locales) < self._size:
            try:
                page = await self._client.users_list(
                    limit=self._page, include_locale=True, cursor=cursor
                )
            except (SlackApiError, SlackClientError, aiohttp.ClientError, TimeoutError) as exc:
                logger.warning(
                    "users.list failed (%s); languages are asked for one person at a time",
                    error_code(exc),
                )
                return
            for person in page.get("members") or []:
                locale = person.get("locale")
                if locale and not person.get("deleted") and not person.get("is_bot"):
                    self._locales.put(str(person.get("id")), (language_for(str(locale)),))
            cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
            if cursor is None:
                return
            await asyncio.sleep(self._page_spacing)

    async def _ask_slack(self, user: str) -> str | None:
        try:
            answer = await self._client.users_info(user=user, include_locale=True)
        except (SlackApiError, SlackClientError, aiohttp.ClientError, TimeoutError) as exc:
            # missing_scope: the app was installed before it asked for users:read.
            logger.warning(
                "users.info failed for user=%s (%s); using the default language",
                user,
                error_code(exc),
            )
            return None
        except Exception:
            # Kept for the TTL like any answer: a language is never worth failing a
            # request or a job over.
            logger.exception("users.info for user=%s failed unexpectedly", user)
            return None
        person = answer.get("user") or {}
        return language_for(str(person.get("locale") or ""))
