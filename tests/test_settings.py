from pathlib import Path

import pytest

from bot.settings import ENDPOINTS, PostgresURL, Settings, SettingsError


def test_defaults_follow_the_contract() -> None:
    settings = Settings.from_env({})
    assert settings.endpoint == ENDPOINTS["production"]
    assert settings.model == "nano-banana2"
    assert (settings.concurrency, settings.min_interval, settings.port) == (4, 1.0, 3000)
    assert settings.slack_api_url == "https://slack.com/api/"
    assert settings.database == Path("data/banana.db")
    assert not settings.slack_configured
    assert (settings.max_queue, settings.max_input_bytes) == (200, 50 * 1024**2)
    assert (settings.monthly_budget, settings.admin_channel) == (None, None)
    assert settings.retention_days == 90


def test_the_budget_and_retention_settings_are_read() -> None:
    settings = Settings.from_env(
        {
            "BANANA_MONTHLY_BUDGET": "250.50",
            "BANANA_ADMIN_CHANNEL": "C0OPS",
            "BANANA_RETENTION_DAYS": "30",
        }
    )
    assert (settings.monthly_budget, settings.admin_channel) == (250.5, "C0OPS")
    assert settings.retention_days == 30


def test_network_and_url_override() -> None:
    assert Settings.from_env({"BANANA_NETWORK": "Office"}).endpoint == ENDPOINTS["office"]
    custom = Settings.from_env({"BANANA_NETWORK": "office", "BANANA_API_URL": "http://x/y"})
    assert custom.endpoint == "http://x/y"


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("BANANA_NETWORK", "foo", "BANANA_NETWORK must be one of production, office"),
        ("PORT", "abc", "PORT must be a whole number from 0 to 65535"),
        ("PORT", "70000", "PORT must be a whole number from 0 to 65535"),
        ("BANANA_CONCURRENCY", "0", "BANANA_CONCURRENCY must be a whole number ≥ 1"),
        ("BANANA_MIN_INTERVAL", "-1", "BANANA_MIN_INTERVAL must be a number ≥ 0"),
        ("BANANA_API_URL", "ftp://x", "BANANA_API_URL must be an http:// or https:// URL"),
        ("LOG_LEVEL", "loud", "LOG_LEVEL must be one of DEBUG"),
        ("BANANA_DB", "mysql://db/banana", "BANANA_DB must be a file path or a postgresql:// URL"),
        ("BANANA_MAX_QUEUE", "0", "BANANA_MAX_QUEUE must be a whole number ≥ 1"),
        ("BANANA_MAX_INPUT_BYTES", "50MB", "BANANA_MAX_INPUT_BYTES must be a whole number ≥ 1"),
        ("BANANA_MONTHLY_BUDGET", "$500", "BANANA_MONTHLY_BUDGET must be a number ≥ 0.01"),
        ("BANANA_MONTHLY_BUDGET", "0", "BANANA_MONTHLY_BUDGET must be a number ≥ 0.01"),
        ("BANANA_ADMIN_CHANNEL", "#ops", "BANANA_ADMIN_CHANNEL must be a channel id"),
        ("BANANA_ADMIN_CHANNEL", "U012AB3CD", "BANANA_ADMIN_CHANNEL must be a channel id"),
        ("BANANA_RETENTION_DAYS", "0", "BANANA_RETENTION_DAYS must be a whole number ≥ 1"),
        ("BANANA_RETENTION_DAYS", "90d", "BANANA_RETENTION_DAYS must be a whole number ≥ 1"),
    ],
)
def test_invalid_values_name_the_variable(name: str, value: str, expected: str) -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({name: value})
    assert str(caught.value).startswith(expected)
    assert "\n" not in str(caught.value)


def test_secrets_stay_out_of_repr() -> None:
    settings = Settings.from_env({"BANANA_API_KEY": "k-secret-1", "SLACK_BOT_TOKEN": "t-secret-2"})
    assert "k-secret-1" not in repr(settings)
    assert "t-secret-2" not in repr(settings)


def test_frozen() -> None:
    settings = Settings.from_env({})
    with pytest.raises(AttributeError):
        settings.port = 1  # type: ignore[misc]


def test_missing_secrets_are_named() -> None:
    settings = Settings.from_env({})
    with pytest.raises(SettingsError, match="BANANA_API_KEY"):
        settings.require_api_key()
    with pytest.raises(SettingsError, match="SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET"):
        settings.require_slack()
    socket = Settings.from_env({"SLACK_BOT_TOKEN": "a", "SLACK_APP_TOKEN": "b"})
    socket.require_slack()


def test_banana_db_is_a_sqlite_file_or_a_postgresql_url() -> None:
    assert Settings.from_env({"BANANA_DB": "/srv/banana.db"}).database == Path("/srv/banana.db")
    for url in ("postgresql://bot@db:5432/banana", "postgres://db/banana?sslmode=require"):
        assert Settings.from_env({"BANANA_DB": url}).database == PostgresURL(url)


def test_the_database_password_stays_out_of_repr_and_errors() -> None:
    settings = Settings.from_env({"BANANA_DB": "postgresql://bot:pw-secret-3@db/banana"})
    assert "pw-secret-3" not in repr(settings)
    assert "postgresql://bot:***@db/banana" in repr(settings)
    query = Settings.from_env({"BANANA_DB": "postgresql://db/b?password=pw-secret-4&x=1"})
    assert "pw-secret-4" not in repr(query)
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({"BANANA_DB": "mysql://bot:pw-secret-5@db/banana"})
    assert "pw-secret-5" not in str(caught.value)


def test_the_spool_sits_beside_the_journal_unless_banana_spool_says() -> None:
    assert Settings.from_env({}).spool_path == Path("data/spool")
    assert Settings.from_env({"BANANA_DB": "/srv/b/j.db"}).spool_path == Path("/srv/b/spool")
    shared = Settings.from_env({"BANANA_DB": "postgresql://db/banana"})
    assert shared.spool_path == Path("data/spool")
    assert Settings.from_env({"BANANA_SPOOL": "/var/spool/b"}).spool_path == Path("/var/spool/b")
    settings = Settings.from_env({"BANANA_DELIVERY_WITHIN": "90", "BANANA_SPOOL_MAX_MB": "64"})
    assert (settings.deliver_within, settings.spool_max_mb) == (90.0, 64)
    assert Settings.from_env({}).deliver_within == 1800.0
    for name in ("BANANA_DELIVERY_WITHIN", "BANANA_SPOOL_MAX_MB"):
        with pytest.raises(SettingsError, match=f"^{name} must be"):
            Settings.from_env({name: "0"})


@pytest.mark.parametrize(
    ("value", "language"),
    [
        ("", "en"),
        ("en", "en"),
        ("en-GB", "en"),
        ("zh", "zh-CN"),
        ("zh-CN", "zh-CN"),
        ("zh_TW", "zh-CN"),
        ("zh-HK", "zh-CN"),
    ],
)
def test_banana_language(value: str, language: str) -> None:
    assert Settings.from_env({"BANANA_LANGUAGE": value}).language == language


def test_an_unsupported_banana_language_stops_start_up_naming_it() -> None:
    with pytest.raises(SettingsError, match=r"^BANANA_LANGUAGE must be one of en, zh-CN"):
        Settings.from_env({"BANANA_LANGUAGE": "fr"})


@pytest.mark.parametrize(
    ("environ", "language"),
    [
        ({"LANG": "zh_CN.UTF-8"}, "zh-CN"),
        ({"LANG": "en_US.UTF-8", "LC_ALL": "zh_TW.UTF-8"}, "zh-CN"),
        ({"LANG": "zh_CN.UTF-8", "LC_MESSAGES": "en_US.UTF-8"}, "en"),
        ({"LANG": "C.UTF-8"}, None),
        ({"LANG": "fr_FR.UTF-8"}, None),
        ({}, None),
    ],
)
def test_the_terminal_language_follows_lc_all_then_lc_messages_then_lang(
    environ: dict[str, str], language: str | None
) -> None:
    assert Settings.from_env(environ).terminal_language == language
