"""Logging set-up with secret redaction on every handler.

The gateway key travels in the URL's query string (``?ak=…``) and httpx logs
request URLs, so every record is scrubbed before it is written: ``ak=``
values and the literal secrets, in messages and in tracebacks alike.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import sys
from collections.abc import Iterable

REDACTED = "[redacted]"
_QUERY_KEY = re.compile(r"(?i)(\bak=)[^&\s\"'#>]+")


def redact_query_keys(text: str) -> str:
    """Every ``ak=<key>`` (the gateway key in a URL) → ``ak=[redacted]``.

    Logs, and the words users read: a gateway error may echo its request URL.
    """
    return _QUERY_KEY.sub(r"\1" + REDACTED, text)


class SecretRedactor(logging.Filter):
    """Rewrites each record so that no secret reaches any handler's output."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        super().__init__()
        # Longest first, so a secret containing another is wholly replaced.
        self._secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)
        self._formatter = logging.Formatter()

    def redact(self, text: str) -> str:
        text = redact_query_keys(text)
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        record.msg, record.args = self.redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


_FIELD = re.compile(r"(?<![\w=])([a-z_]+)=(\S+)")


class JsonLines(logging.Formatter):
    """One JSON object per record, for log shippers: time, level, logger and message,
    plus every ``key=value`` field of the message as its own key (``job``, ``state``…)."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        line: dict[str, object] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": message,
        }
        for key, value in _FIELD.findall(message):
            line.setdefault(key, value)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exception"] = record.exc_text
        return json.dumps(line, ensure_ascii=False)


def setup_logging(
    level: str, secrets: Iterable[str | None] = (), *, json_lines: bool = False
) -> SecretRedactor:
    """One stderr handler on the root logger, guarded by a :class:`SecretRedactor`."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonLines()
        if json_lines
        else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S")
    )
    redactor = SecretRedactor(secrets)
    handler.addFilter(redactor)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    if level != "DEBUG":
        # One line per gateway call is ours to write; httpx's would repeat it.
        logging.getLogger("httpx").setLevel(logging.WARNING)
    return redactor
