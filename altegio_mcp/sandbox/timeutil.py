"""Date and time formats of the API, and lenient parsing of what clients send."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# Calendar arithmetic near year 1 or 9999 overflows; moments outside this span are refused as invalid.
EARLIEST = date(1900, 1, 1)
LATEST = date(2200, 12, 31)


def supported(day: date) -> bool:
    return EARLIEST <= day <= LATEST


def iso(moment: datetime) -> str:
    """ISO 8601 with the location's offset, e.g. `2026-11-27T10:00:00-05:00`."""
    return moment.isoformat(timespec="seconds")


def compact_iso(moment: datetime) -> str:
    """The `create_date` style, e.g. `2026-01-16T20:35:11-0500`."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S%z")


def local_text(moment: datetime) -> str:
    """Local wall time, e.g. `2026-11-27 10:00:00`."""
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def hhmm(moment: datetime | time) -> str:
    return moment.strftime("%H:%M")


def hhmmss(moment: datetime | time) -> str:
    return moment.strftime("%H:%M:%S")


def at(day: date, clock: time, tz: ZoneInfo) -> datetime:
    """The aware local datetime of a wall-clock time on a day in a zone."""
    return datetime.combine(day, clock, tzinfo=tz)


def parse_date(text: str) -> date | None:
    """`YYYY-MM-DD` (a longer ISO datetime is cut to its date), `DD.MM.YYYY` or `YYYYMMDD`."""
    value = text.strip().strip("'\"")
    for pattern in ("%Y-%m-%d", "%d.%m.%Y", "%Y%m%d"):
        try:
            return datetime.strptime(value[:10] if pattern == "%Y-%m-%d" else value, pattern).date()
        except ValueError:
            continue
    return None


def parse_moment(text: str, tz: ZoneInfo) -> datetime | None:
    """An ISO datetime with any offset (converted to `tz`) or without one (read as local to `tz`)."""
    value = text.strip().replace(" ", "T", 1)
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if not supported(parsed.date()):
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=tz)
    return parsed.astimezone(tz)
