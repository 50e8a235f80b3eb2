"""A request's text cut into tokens, and the prompt's tokens joined back.

Text arrives as phones and Slack deliver it: exotic and zero-width spaces,
em dashes for ``--``, options glued to Chinese text, quoted chunks that must
stay whole. :mod:`bot.options` decides what each token means; this module
only finds where tokens begin and end, and keeps the prompt's line breaks.
"""

from __future__ import annotations

import re
import unicodedata

# A token as typed, and whether a line break (not just a space) came before it.
Token = tuple[str, bool]

# Spaces phones and IMEs insert; zero-width ones vanish, the others separate words.
_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))
_SPACES = re.compile(r"[^\S\n]|[\u00a0\u2000-\u200a\u202f\u205f\u3000]")
# A quoted chunk is prompt text, never options. A chunk never spans another opening
# quote: each failed try then stops at the next one, so unmatched quotes cost linear
# time (trying every “ up to the end of the line made 40K characters take 2 s).
_TOKEN = re.compile(r'"[^"\n]*"|“[^“”\n]*”|「[^「」\n]*」|\S+')
_QUOTES = '"“「'
# Dashes that stand for "--": em/en dashes (one or two, as Chinese IMEs make), mixed.
_DASHES = re.compile(r"^(?:--|[—–]{1,2}|[—–]-|-[—–])(?=[A-Za-z])|^-(?=n$)")
# An option glued to Chinese text before it: 一只猫--ar
_GLUED = re.compile(r"(?<=[^\x00-\x7f—–])(?=(?:--|[—–]{1,2})[A-Za-z])")


def normalize_spaces(text: str) -> str:
    """Drop zero-width characters and turn exotic spaces into plain ones."""
    return _SPACES.sub(" ", text.translate(_ZERO_WIDTH))


def fold(token: str) -> str:
    """Full-width digits, colons and letters to ASCII (NFKC), for option tokens only."""
    return unicodedata.normalize("NFKC", token)


def tokenize(text: str) -> list[Token]:
    """The tokens of ``text``, an option glued to the text before it split off."""
    text = normalize_spaces(text)
    tokens: list[Token] = []
    previous_end = 0
    for match in _TOKEN.finditer(text):
        newline = "\n" in text[previous_end : match.start()]
        previous_end = match.end()
        for index, part in enumerate(_split_glued(match.group(0))):
            tokens.append((part, newline and index == 0))
    return tokens


def _split_glued(token: str) -> list[str]:
    if token[0] in _QUOTES:
        return [token]
    return [part for part in _GLUED.split(token) if part]


def option_name(token: str) -> str | None:
    """``--ar`` / ``—ar`` / ``-n`` → ``ar``; None when the token is not option-shaped."""
    folded = fold(token)
    match = _DASHES.match(folded)
    if not match:
        return None
    return folded[match.end() :]


def join_prompt(kept: list[Token]) -> str:
    """The prompt from the tokens that were not options, its line breaks kept."""
    parts: list[str] = []
    for token, newline in kept:
        if parts:
            parts.append("\n" if newline else " ")
        parts.append(token)
    prompt = "".join(parts).strip()
    # A prompt that is one quoted chunk loses its quotes: they only protected it.
    if len(prompt) >= 2 and len(kept) == 1 and prompt[0] + prompt[-1] in ('""', "“”", "「」"):
        prompt = prompt[1:-1].strip()
    return prompt
