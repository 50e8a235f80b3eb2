"""The one frozen settings object, and the only reader of ``os.environ``.

Every setting is read once at start-up; an invalid value stops the program
with one line naming the variable and what it accepts.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from bot.setting_values import PostgresURL, SettingsError, VariableReader
from bot.text import ENGLISH, LANGUAGES, language_for

ENDPOINTS = {
    "production": "https://gpt-i18n.byteintl.net/gpt/openapi/online/multimodal/crawl",
    "office": "https://genai-sg-og.tiktok-row.org/gpt/openapi/online/multimodal/crawl",
}
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LOG_FORMATS = ("text", "json")

__all__ = ["ENDPOINTS", "PostgresURL", "Settings", "SettingsError"]


@dataclass(frozen=True)
class Settings:
    """Everything the bot can be configured with. Secrets are kept out of ``repr``."""

    slack_bot_token: str | None = field(default=None, repr=False)
    slack_signing_secret: str | None = field(default=None, repr=False)
    slack_app_token: str | None = field(default=None, repr=False)
    slack_api_url: str = "https://slack.com/api/"
    api_key: str | None = field(default=None, repr=False)
    network: str = "production"
    api_url: str | None = None
    model: str = "nano-banana2"
    concurrency: int = 4
    min_interval: float = 1.0
    max_images: int = 4
    connect_timeout: float = 10.0
    call_timeout: float = 300.0  # one whole gateway call, connecting to the last byte read
    max_attempts: int = 4
    retry_within: float = 600.0
    backoff: float = 2.0
    shutdown_grace: float = 8.0
    resume_within: float = 1800.0
    max_queued_per_user: int = 3
    daily_quota: int = 50
    admins: frozenset[str] = frozenset()
    allowed_channels: frozenset[str] = frozenset()
    max_prompt: int = 4000
    max_queue: int = 200  # requests waiting or running, all users together
    max_input_bytes: int = 50 * 1024**2  # the largest image to edit the bot downloads
    monthly_budget: float | None = None  # USD at list prices, all users; None: no budget
    admin_channel: str | None = None  # where budget notices go
    retention_days: int = 90  # prompts and result references kept this long
    # A SQLite file (one process) or a PostgreSQL server (shared): BANANA_DB.
    database: Path | PostgresURL = Path("data/banana.db")
    # How long a replica's hold on a job lasts unless renewed: a dead replica's work
    # moves elsewhere after about this long.
    lease_seconds: float = 30.0
    spool: Path | None = None  # None: beside a SQLite BANANA_DB, else ./data/spool
    spool_max_mb: int = 1024
    deliver_within: float = 1800.0  # seconds a made image may wait for Slack
    host: str | None = None  # None: 0.0.0.0; the sandbox ignores it (see sandbox_host)
    sandbox_host: str | None = None  # None: the sandbox listens on 127.0.0.1 only
    port: int = 3000
    log_level: str | None = None  # None: INFO when serving, ERROR for one-off generate
    log_format: str = "text"  # or "json": one object per line, for log shippers
    # The language for people whose Slack language the bot does not speak (or cannot
    # learn): BANANA_LANGUAGE, one of bot.text.LANGUAGES.
    language: str = ENGLISH
    # The terminal's language for `banana-bot generate`: LC_ALL, LC_MESSAGES or LANG,
    # as POSIX orders them; None when they name no language the bot speaks.
    terminal_language: str | None = None
    # Not read from the environment: the sandbox sets it when, without BANANA_API_KEY,
    # its images are offline previews that cost nothing (no prices are shown then).
    free_previews: bool = False

    @property
    def endpoint(self) -> str:
        """The gateway URL without the key: ``BANANA_API_URL`` or the network's."""
        return self.api_url or ENDPOINTS[self.network]

    @property
    def spool_path(self) -> Path:
        """Where made images wait for Slack: ``BANANA_SPOOL``, else beside the journal."""
        if self.spool is not None:
            return self.spool
        if isinstance(self.database, Path):
            return self.database.parent / "spool"
        return Path("data/spool")

    @property
    def slack_configured(self) -> bool:
        """True when Slack tokens are set, so a bare ``banana-bot`` should serve."""
        return bool(self.slack_bot_token)

    def require_api_key(self) -> str:
        if not self.api_key:
            raise SettingsError(
                "set BANANA_API_KEY (in the environment or .env) to reach the image gateway"
            )
        return self.api_key

    def require_slack(self) -> None:
        """Check the tokens that ``serve`` needs for its mode (Socket Mode or HTTP)."""
        missing = [] if self.slack_bot_token else ["SLACK_BOT_TOKEN"]
        if not self.slack_app_token and not self.slack_signing_secret:
            missing.append("SLACK_SIGNING_SECRET (HTTP mode) or SLACK_APP_TOKEN (Socket Mode)")
        if missing:
            raise SettingsError("set " + " and ".join(missing) + " to run the Slack bot")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Build the settings from ``environ`` (default: ``os.environ``).

        Raises:
            SettingsError: a value is invalid; the message names the variable.
        """
        env = VariableReader(os.environ if environ is None else environ)
        return cls(
            slack_bot_token=env.text("SLACK_BOT_TOKEN"),
            slack_signing_secret=env.text("SLACK_SIGNING_SECRET"),
            slack_app_token=env.text("SLACK_APP_TOKEN"),
            slack_api_url=env.url("SLACK_API_URL") or cls.slack_api_url,
            api_key=env.text("BANANA_API_KEY"),
            network=env.choice("BANANA_NETWORK", tuple(ENDPOINTS), cls.network),
            api_url=env.url("BANANA_API_URL"),
            model=env.text("BANANA_MODEL") or cls.model,
            concurrency=env.number("BANANA_CONCURRENCY", int, cls.concurrency, minimum=1),
            min_interval=env.number("BANANA_MIN_INTERVAL", float, cls.min_interval, minimum=0),
            max_images=env.number("BANANA_MAX_IMAGES", int, cls.max_images, minimum=1),
            connect_timeout=env.number(
                "BANANA_CONNECT_TIMEOUT", float, cls.connect_timeout, minimum=0.1
            ),
            call_timeout=env.number("BANANA_TIMEOUT", float, cls.call_timeout, minimum=1),
            max_attempts=env.number("BANANA_MAX_ATTEMPTS", int, cls.max_attempts, minimum=1),
            retry_within=env.number("BANANA_RETRY_WITHIN", float, cls.retry_within, minimum=0),
            backoff=env.number("BANANA_BACKOFF", float, cls.backoff, minimum=0),
            shutdown_grace=env.number(
                "BANANA_SHUTDOWN_GRACE", float, cls.shutdown_grace, minimum=0
            ),
            resume_within=env.number("BANANA_RESUME_WITHIN", float, cls.resume_within, minimum=0),
            max_queued_per_user=env.number(
                "BANANA_MAX_QUEUED_PER_USER", int, cls.max_queued_per_user, minimum=1
            ),
            daily_quota=env.number("BANANA_DAILY_QUOTA", int, cls.daily_quota, minimum=0),
            admins=env.ids("BANANA_ADMINS"),
            allowed_channels=env.ids("BANANA_ALLOWED_CHANNELS"),
            max_prompt=env.number("BANANA_MAX_PROMPT", int, cls.max_prompt, minimum=1),
            max_queue=env.number("BANANA_MAX_QUEUE", int, cls.max_queue, minimum=1),
            max_input_bytes=env.number(
                "BANANA_MAX_INPUT_BYTES", int, cls.max_input_bytes, minimum=1
            ),
            monthly_budget=env.optional_number("BANANA_MONTHLY_BUDGET", float, minimum=0.01),
            admin_channel=env.channel("BANANA_ADMIN_CHANNEL"),
            retention_days=env.number("BANANA_RETENTION_DAYS", int, cls.retention_days, minimum=1),
            database=env.database("BANANA_DB", cls.database),
            lease_seconds=env.number("BANANA_LEASE_SECONDS", float, cls.lease_seconds, minimum=1),
            spool=env.path("BANANA_SPOOL"),
            spool_max_mb=env.number("BANANA_SPOOL_MAX_MB", int, cls.spool_max_mb, minimum=1),
            deliver_within=env.number(
                "BANANA_DELIVERY_WITHIN", float, cls.deliver_within, minimum=1
            ),
            host=env.text("HOST"),
            sandbox_host=env.text("BANANA_SANDBOX_HOST"),
            port=env.number("PORT", int, cls.port, minimum=0, maximum=65535),
            log_level=env.optional_choice("LOG_LEVEL", LOG_LEVELS, fold=str.upper),
            log_format=env.choice("LOG_FORMAT", LOG_FORMATS, cls.log_format),
            language=_language("BANANA_LANGUAGE", env.text("BANANA_LANGUAGE"), cls.language),
            terminal_language=language_for(env.first("LC_ALL", "LC_MESSAGES", "LANG")),
        )


def _language(name: str, value: str | None, default: str) -> str:
    """A language tag the bot speaks (``en``, ``zh-CN``; ``zh``, ``zh-TW`` → ``zh-CN``)."""
    if value is None:
        return default
    language = language_for(value)
    if language is None:
        raise SettingsError(f"{name} must be one of {', '.join(LANGUAGES)} (got {value!r})")
    return language
