"""Unit tests of the sandbox's small pure parts: header parsing, time parsing, rate limiting, the
PDF writer, random fault rolls and the command line."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from altegio_mcp.sandbox.__main__ import main
from altegio_mcp.sandbox.auth import Credentials, parse_authorization
from altegio_mcp.sandbox.faults import FaultConfig, Faults
from altegio_mcp.sandbox.pdf import build_pdf
from altegio_mcp.sandbox.ratelimit import RateLimiter
from altegio_mcp.sandbox.timeutil import compact_iso, parse_date, parse_moment

NEW_YORK = ZoneInfo("America/New_York")


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, Credentials("none")),
        ("", Credentials("none")),
        ("Bearer abc", Credentials("partner", "abc")),
        ("bearer abc,User xyz", Credentials("partner_user", "abc", "xyz")),
        ("Bearer abc, User xyz", Credentials("partner_user", "abc", "xyz")),
        ("Bearer abc, Partner xyz", Credentials("malformed", "abc")),
        ("Basic abc", Credentials("malformed")),
        ("Bearer a b", Credentials("malformed")),
    ],
)
def test_parse_authorization(header: str | None, expected: Credentials) -> None:
    assert parse_authorization(header) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-27T10:00:00-05:00", "2026-11-27T10:00:00-05:00"),
        ("2026-11-27T10:00:00.000-05:00", "2026-11-27T10:00:00-05:00"),
        ("2026-11-27T15:00:00Z", "2026-11-27T10:00:00-05:00"),
        ("2026-11-27T10:00", "2026-11-27T10:00:00-05:00"),
        ("2026-10-30T10:00:00", "2026-10-30T10:00:00-04:00"),
    ],
)
def test_parse_moment(text: str, expected: str) -> None:
    parsed = parse_moment(text, NEW_YORK)
    assert parsed is not None and parsed.isoformat() == expected


@pytest.mark.parametrize("text", ["tomorrow", "2026-13-01T10:00", ""])
def test_parse_moment_rejects_garbage(text: str) -> None:
    assert parse_moment(text, NEW_YORK) is None


@pytest.mark.parametrize(
    "text", ["2026-11-27", "27.11.2026", "'27.11.2026'", "20261127", "2026-11-27T10:00:00"]
)
def test_parse_date_formats(text: str) -> None:
    parsed = parse_date(text)
    assert parsed is not None and parsed.isoformat() == "2026-11-27"


def test_compact_iso() -> None:
    assert compact_iso(datetime(2026, 1, 16, 20, 35, 11, tzinfo=NEW_YORK)) == "2026-01-16T20:35:11-0500"


def test_rate_limiter_windows() -> None:
    now = [0.0]
    limiter = RateLimiter(0.5, None, lambda: now[0])
    assert limiter.check() is None
    assert limiter.check() == 2
    now[0] = 2.0
    assert limiter.check() is None
    unlimited = RateLimiter(None, None, lambda: now[0])
    assert all(unlimited.check() is None for _ in range(100))


def test_pdf_escapes_and_encodes() -> None:
    pdf = build_pdf(["Price (incl. tax) \\ 10 €", "李娜"], "T")
    assert b"(Price \\(incl. tax\\) \\\\ 10 \x80) Tj" in pdf
    assert b"(??) Tj" in pdf


def test_fault_roll_without_rates_consumes_nothing() -> None:
    faults = Faults(FaultConfig(seed=3))
    assert faults.roll() is None
    faults.config.error_rates = {503: 1.0}
    decision = faults.roll()
    assert decision is not None and (decision.kind, decision.status, decision.retry_after) == (
        "status",
        503,
        "1",
    )


def test_command_line_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    assert "--today" in capsys.readouterr().out
