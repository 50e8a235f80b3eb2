"""Prompt and options parsed from free text, shared by the CLI and Slack.

``a shiba inu --ar 16:9 --size 2k --n 2`` → prompt ``a shiba inu`` with its
options. Text arrives as phones and Slack deliver it: em dashes for ``--``,
curly quotes, NBSP and zero-width spaces, full-width digits, Chinese text
glued to options (:mod:`bot.request_tokens` cuts it into tokens; this module
says what they mean). Only :class:`UsageError` ever leaves this module.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

from bot.request_tokens import Token, fold, join_prompt, option_name, tokenize

RATIOS = ("21:9", "16:9", "4:3", "3:2", "1:1", "9:16", "3:4", "2:3", "5:4", "4:5")
# Names for ratios and sizes, by the language whose help lists them; every name is
# accepted whatever the reader's language.
RATIO_NAMES = {
    "en": {
        "square": "1:1",
        "portrait": "2:3",
        "landscape": "3:2",
        "wide": "16:9",
        "banner": "21:9",
        "story": "9:16",
        "tall": "9:16",
    },
    "zh-CN": {
        "方形": "1:1",
        "横版": "3:2",
        "竖版": "2:3",
        "宽屏": "16:9",
        "横幅": "21:9",
        "竖屏": "9:16",
        "手机": "9:16",
    },
}
RATIO_ALIASES = {name: ratio for names in RATIO_NAMES.values() for name, ratio in names.items()}
SIZE_NAMES: dict[str, dict[str, str]] = {"en": {}, "zh-CN": {"标清": "1K", "高清": "2K"}}
SIZE_ALIASES = {name: size for names in SIZE_NAMES.values() for name, size in names.items()}
# "3张": Chinese counts images with the measure word 张.
_MEASURE_WORD = "张"
SIZES = ("1K", "2K")
DEFAULT_RATIO = "1:1"
DEFAULT_SIZE = "1K"

# Option names as typed (after the dashes) → canonical option.
_NAMES = {"ar": "ar", "aspect": "ar", "size": "size", "n": "n"}
# Words people reach for, pointed at the option that does it.
_HINTS = {
    "ratio": "ar",
    "aspect-ratio": "ar",
    "aspectratio": "ar",
    "aspect_ratio": "ar",
    "resolution": "size",
    "res": "size",
    "quality": "size",
    "count": "n",
    "num": "n",
    "number": "n",
    "images": "n",
}
_SPELLING = {"ar": "--ar", "size": "--size", "n": "--n"}
_NEEDS = {"ar": "parse.needs_ratio", "size": "parse.needs_size", "n": "parse.needs_count"}

# Longer raw text is refused before any parsing (the prompt limit applies after).
RAW_TEXT_FACTOR = 2
_RATIO_VALUE = re.compile(r"^(\d{1,2})\s*[:x×/]\s*(\d{1,2})")
_WORD_VALUE = re.compile(r"^[A-Za-z0-9]+")


class UsageError(ValueError):
    """The text cannot be understood. ``key`` names the message that says what is
    wrong and what to type (:mod:`bot.text.options` words it in the reader's
    language); ``params`` fill it in (``value`` and ``token`` are the user's own
    text); ``suggestion`` is the nearest valid choice, as typed, if any."""

    def __init__(
        self,
        key: str,
        *,
        empty_prompt: bool = False,
        suggestion: str | None = None,
        **params: str | int,
    ) -> None:
        super().__init__(key, params)
        self.key = key
        self.params = params
        self.empty_prompt = empty_prompt
        self.suggestion = suggestion


@dataclass(frozen=True)
class ImageOptions:
    aspect_ratio: str = DEFAULT_RATIO
    size: str = DEFAULT_SIZE
    count: int = 1
    # Options the text left out ("ar", "size", "n"), so at their default: an edit
    # takes its image's shape instead (bot/jobs/shape.py). Not part of equality.
    defaulted: frozenset[str] = field(default=frozenset(), compare=False)

    def describe(self) -> str:
        """``16:9 · 2K`` (and ``· 3 images`` for a batch), for logs: what people
        read is worded by ``bot.slack.mrkdwn.describe``."""
        text = f"{self.aspect_ratio} · {self.size}"
        return text + (f" · {self.count} images" if self.count > 1 else "")

    def flags(self) -> str:
        """The options as typed: ``--ar 16:9 --size 2K`` (and ``--n 3`` for a batch)."""
        text = f"--ar {self.aspect_ratio} --size {self.size}"
        return text + (f" --n {self.count}" if self.count > 1 else "")


@dataclass(frozen=True)
class ParsedRequest:
    prompt: str
    options: ImageOptions


def _after(value: str, folded_length: int) -> str:
    """What follows the first ``folded_length`` characters of ``fold(value)``, as
    typed: glued prompt text keeps its full-width punctuation."""
    for end in range(len(value) + 1):
        if len(fold(value[:end])) >= folded_length:
            return value[end:]
    return ""


def _named(value: str, names: dict[str, str]) -> tuple[str, str] | None:
    """A value given by name (``wide``, ``宽屏``), and any non-ASCII text glued after
    it (``宽屏的海报``: Chinese has no spaces to end a word)."""
    word = fold(value).lower()
    for name in sorted(names, key=len, reverse=True):
        if word.startswith(name):
            rest = _after(value, len(name))
            if not rest or not rest[0].isascii():
                return names[name], rest
    return None


def _nearest(word: str, option: str, choices: list[str]) -> str | None:
    """The closest valid value to a mistyped one, in either language, as typed."""
    folded = {choice.lower(): choice for choice in choices}
    close = difflib.get_close_matches(word.lower(), list(folded), n=1, cutoff=0.5)
    return f"{option} {folded[close[0]]}" if close else None


def _ratio(value: str) -> tuple[str, str]:
    """Parse a ratio value; returns the ratio and any non-ASCII text glued after it."""
    folded = fold(value)
    named = _named(value, RATIO_ALIASES)
    if named:
        return named
    match = _RATIO_VALUE.match(folded)
    rest = _after(value, match.end()) if match else folded
    if match and (not rest or not rest[0].isascii()):
        ratio = f"{int(match.group(1))}:{int(match.group(2))}"
        if ratio in RATIOS:
            return ratio, rest
        raise UsageError("parse.not_a_model_ratio", value=ratio)
    near = _nearest(folded, "--ar", list(RATIO_ALIASES))
    raise UsageError("parse.not_a_ratio", value=value, suggestion=near)


def _word(value: str) -> tuple[str, str]:
    folded = fold(value)
    match = _WORD_VALUE.match(folded)
    if match and (match.end() == len(folded) or not folded[match.end()].isascii()):
        return match.group(0), _after(value, match.end())
    return folded, ""


def _size(value: str) -> tuple[str, str]:
    named = _named(value, SIZE_ALIASES)
    if named:
        return named
    word, rest = _word(value)
    size = word.upper()
    if size not in SIZES:
        near = _nearest(word, "--size", [*SIZES, *SIZE_ALIASES])
        raise UsageError("parse.not_a_size", value=value, suggestion=near)
    return size, rest


def _count(value: str, max_images: int) -> tuple[int, str]:
    word, rest = _word(value)
    if not word.isdigit() or not 1 <= int(word) <= max_images:
        raise UsageError("parse.not_a_count", value=value, most=max_images)
    return int(word), rest.removeprefix(_MEASURE_WORD)


def _unknown_option(token: str, name: str) -> UsageError:
    key = name.lower()
    guess = _HINTS.get(key) or _NAMES.get(key)
    if guess is None:
        close = difflib.get_close_matches(key, [*_NAMES, *_HINTS], n=1, cutoff=0.6)
        guess = (_NAMES.get(close[0]) or _HINTS.get(close[0])) if close else None
    if guess:
        return UsageError("parse.unknown_option_guess", token=token, option=_SPELLING[guess])
    return UsageError("parse.unknown_option", token=token, options=", ".join(_SPELLING.values()))


def parse_request(text: str, *, max_images: int = 4, max_prompt: int = 4000) -> ParsedRequest:
    """Split ``text`` into a prompt and its options.

    Raises:
        UsageError: an option or value is invalid (the message names it and the
            valid choices), the prompt is empty (``empty_prompt`` is set), or the
            text is too long (over ``max_prompt``, or twice that before parsing).
    """
    if len(text) > RAW_TEXT_FACTOR * max_prompt:
        raise UsageError("parse.raw_too_long", length=len(text), limit=max_prompt)
    tokens = tokenize(text)
    found: dict[str, str | int] = {}
    kept: list[Token] = []
    position = 0
    while position < len(tokens):
        token, newline = tokens[position]
        position += 1
        name = option_name(token)
        if name is None:
            kept.append((token, newline))
            continue
        value: str | None = None
        if "=" in name:
            name, value = name.split("=", 1)
        elif not name.isascii():  # --ar宽屏: a Chinese value glued to its option
            glued = next(i for i, char in enumerate(name) if not char.isascii())
            name, value = name[:glued], name[glued:]
        canonical = _NAMES.get(name.lower())
        if canonical is None:
            raise _unknown_option(token, name)
        if canonical in found:
            raise UsageError("parse.given_twice", option=_SPELLING[canonical])
        if not value:
            if position >= len(tokens):
                raise UsageError(_NEEDS[canonical], option=_SPELLING[canonical])
            value = tokens[position][0]
            position += 1
        parsed: str | int
        if canonical == "ar":
            parsed, rest = _ratio(value)
        elif canonical == "size":
            parsed, rest = _size(value)
        else:
            parsed, rest = _count(value, max_images)
            if not rest and position < len(tokens) and tokens[position][0] == _MEASURE_WORD:
                position += 1  # "--n 3 张"
        found[canonical] = parsed
        if rest:  # text glued after the value (16:9的图片): read it again as a token
            tokens.insert(position, (rest, False))

    prompt = join_prompt(kept)
    if not prompt:
        raise UsageError("parse.empty_prompt", empty_prompt=True)
    if len(prompt) > max_prompt:
        raise UsageError("parse.prompt_too_long", length=len(prompt), limit=max_prompt)
    return ParsedRequest(
        prompt=prompt,
        options=ImageOptions(
            aspect_ratio=str(found.get("ar", DEFAULT_RATIO)),
            size=str(found.get("size", DEFAULT_SIZE)),
            count=int(found.get("n", 1)),
            defaulted=frozenset(_SPELLING) - found.keys(),
        ),
    )
