"""Retry-After, read once for both HTTP clients (gateway and Slack)."""

from __future__ import annotations

import email.utils
import time

import pytest

from bot.http_headers import parse_retry_after


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("3", 3.0), ("1.5", 1.5), ("-4", 0.0), ("0", 0.0), (None, None), ("", None)],
)
def test_seconds(value: str | None, seconds: float | None) -> None:
    assert parse_retry_after(value) == seconds


@pytest.mark.parametrize("value", ["soon", "inf", "nan", "-inf"])
def test_unreadable_or_endless_values_are_none(value: str) -> None:
    assert parse_retry_after(value) is None


def test_http_dates_count_from_now() -> None:
    later = email.utils.formatdate(time.time() + 30, usegmt=True)
    waited = parse_retry_after(later)
    assert waited is not None
    assert 25 <= waited <= 31
    past = email.utils.formatdate(time.time() - 30, usegmt=True)
    assert parse_retry_after(past) == 0.0


def test_slack_retries_honour_an_http_date_too() -> None:
    from slack_sdk.http_retry.response import HttpResponse

    from bot.slack.client import _retry_after

    later = email.utils.formatdate(time.time() + 30, usegmt=True)
    response = HttpResponse(status_code=429, headers={"Retry-After": [later]}, body={})
    assert 25 <= _retry_after(response) <= 31
    assert _retry_after(HttpResponse(status_code=429, headers={}, body={})) == 1.0
