"""The retry policy's pure functions, as tables."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from altegio_mcp.retry import backoff_delay, parse_retry_after, retry_delay, should_retry_status

NOW = datetime(2026, 11, 27, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        ("5", 5.0),
        ("0", 0.0),
        ("2.5", 2.5),
        ("-3", 0.0),
        ("nan", None),
        ("soon", None),
        ("Fri, 27 Nov 2026 12:00:30 GMT", 30.0),
        ("Fri, 27 Nov 2026 11:59:00 GMT", 0.0),
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, NOW) == expected


@pytest.mark.parametrize(
    ("method", "status", "expected"),
    [
        ("GET", 429, True),
        ("get", 503, True),
        ("PUT", 502, False),  # a PUT is re-sent only when its operation says it is safe
        ("DELETE", 504, False),
        ("GET", 408, True),
        ("GET", 500, False),
        ("POST", 503, False),
        ("PATCH", 429, False),
        ("GET", 401, False),
    ],
)
def test_should_retry_status(method: str, status: int, expected: bool) -> None:
    assert should_retry_status(method, status) is expected


@pytest.mark.parametrize(
    ("attempt", "jitter", "cap", "expected"),
    [
        (0, 0.0, 30, 0.5),
        (1, 0.0, 30, 1.0),
        (3, 0.0, 30, 4.0),
        (10, 0.0, 30, 30.0),
        (2, 1.0, 30, 1.5),
        (10, 0.5, 8, 7.0),
    ],
)
def test_backoff_delay(attempt: int, jitter: float, cap: float, expected: float) -> None:
    assert backoff_delay(attempt, cap, lambda: jitter) == pytest.approx(expected)


def test_retry_delay_prefers_retry_after_within_cap() -> None:
    assert retry_delay(0, 12.0, 30, lambda: 0.0) == 12.0
    assert retry_delay(0, 45.0, 30, lambda: 0.0) is None
    assert retry_delay(1, None, 30, lambda: 0.0) == 1.0
