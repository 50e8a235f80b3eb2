"""The options in the reader's language: the names help lists, and what is wrong
with a request (a :class:`~bot.options.UsageError`), worded for chat or terminal.

Every name is accepted whatever the reader's language; help and the error
messages list the reader's own (English names for English, Chinese for Chinese).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from bot.options import RATIO_NAMES, RATIOS, SIZE_NAMES, SIZES, UsageError
from bot.text import ENGLISH, current_language, say

Quote = Callable[[str], str]


def as_is(text: str) -> str:
    return text


def ratio_names() -> dict[str, str]:
    """The ratio names of the current language: name → ratio."""
    return RATIO_NAMES.get(current_language(), RATIO_NAMES[ENGLISH])


def listing(items: Iterable[str]) -> str:
    """``a, b, c``; ``a、b、c`` in Chinese."""
    return say("list.separator").join(items)


def ratio_names_text(code: Quote = as_is) -> str:
    """``square (1:1), portrait (2:3), …`` in the current language."""
    return listing(f"{code(name)} ({ratio})" for name, ratio in ratio_names().items())


def sizes_text(code: Quote = as_is) -> str:
    """``1K, 2K``; in Chinese with their names: ``1K (标清), 2K (高清)``."""
    names = {size: name for name, size in SIZE_NAMES.get(current_language(), {}).items()}
    return listing([f"{size} ({code(names[size])})" if size in names else size for size in SIZES])


def _choices() -> dict[str, str]:
    """What every option error may name: the valid ratios, names and sizes."""
    names = ratio_names_text()
    return {
        "choices": say("parse.ratio_choices", ratios=listing(RATIOS), names=names),
        "sizes": sizes_text(),
    }


def usage_words(error: UsageError, quote: Quote = as_is) -> str:
    """What is wrong with the request, and the nearest valid choice if there is one.

    ``quote`` escapes the user's own words (``value``, ``token``) for the chat.
    """
    params: dict[str, object] = {
        name: quote(value) if isinstance(value, str) else value
        for name, value in error.params.items()
    }
    if isinstance(params.get("length"), int):
        params["length"] = f"{params['length']:,}"
    if isinstance(params.get("limit"), int):
        params["limit"] = f"{params['limit']:,}"
    text = say(error.key, **_choices(), **params)
    if error.suggestion:
        text = say("parse.suggest", error=text, suggestion=quote(error.suggestion))
    return text
