"""Retry policy as small pure functions: which requests may be retried, and how long to wait.

Only reads are retried by default, and only for answers that say "try again": connection
failures, timeouts, a 2xx body cut short (not valid JSON), 408, 429, 502, 503, 504. Whether a write
may be re-sent is a property of the operation, not of its HTTP method (a PUT that appends a payment
is not idempotent): the caller says so per request. A request that never reached Altegio (the
connection could not be made) is always safe to send again.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
RETRYABLE_STATUSES = frozenset({408, 429, 502, 503, 504})

BASE_DELAY = 0.5


def is_idempotent(method: str) -> bool:
    return method.upper() in IDEMPOTENT_METHODS


def should_retry_status(method: str, status: int) -> bool:
    """Whether an HTTP answer with this status may be retried for this method."""
    return is_idempotent(method) and status in RETRYABLE_STATUSES


def should_retry_transport(method: str) -> bool:
    """Whether a connection failure or timeout may be retried for this method."""
    return is_idempotent(method)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` header: delta-seconds or an HTTP date; None if absent/bad."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(seconds, 0.0) if math.isfinite(seconds) else None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = now or datetime.now(UTC)
    return max((when - current).total_seconds(), 0.0)


def backoff_delay(attempt: int, cap: float, jitter: Callable[[], float]) -> float:
    """Exponential backoff with jitter: 0.5 s, 1 s, 2 s, … scaled by 0.75–1.0, never above `cap`.

    `attempt` counts from 0 (the wait before the first retry); `jitter()` returns a float in [0, 1).
    """
    raw = min(BASE_DELAY * (2.0**attempt), cap)
    return raw * (1.0 - 0.25 * jitter())


def retry_delay(
    attempt: int, retry_after: float | None, cap: float, jitter: Callable[[], float]
) -> float | None:
    """How long to wait before the next attempt, or None when the server asked for more than `cap`.

    A `Retry-After` within the cap is honoured exactly; one beyond it means "give up now and tell
    the caller how long to wait", rather than blocking a tool call for minutes.
    """
    if retry_after is not None:
        return retry_after if retry_after <= cap else None
    return backoff_delay(attempt, cap, jitter)
