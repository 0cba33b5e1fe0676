"""Datetimes: every time the server returns carries an offset; a naive input is read in the location's zone.

Altegio writes times in several shapes (`2026-09-21T23:00:00.000-05:00`, `2026-01-16T20:35:11-0500`,
`2026-09-21 23:00:00` in the location's local time); `parse_api_datetime` reads them all. When a
caller gives a time without an offset, `localize` attaches the location's timezone and returns a
note that says so, which the tool result passes on.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_COMPACT_OFFSET = re.compile(r"([+-]\d{2})(\d{2})$")


class TimeError(ValueError):
    """A local time that cannot be placed on the clock (a DST gap), or an unknown zone."""


def zone(name: str | None) -> ZoneInfo:
    """The IANA zone named by a location, UTC when it has none."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise TimeError(f"unknown timezone {name!r}") from exc


def parse_api_datetime(value: object, tz: ZoneInfo | None = None) -> datetime | None:
    """Read any of Altegio's datetime spellings; naive values are placed in `tz` (when given)."""
    if not isinstance(value, str):
        return None
    try:  # the common spellings, in C
        parsed = datetime.fromisoformat(value)
    except ValueError:
        parsed = _parse_odd(value)
        if parsed is None:
            return None
    if parsed.tzinfo is None and tz is not None:
        parsed = parsed.replace(tzinfo=tz)
    return parsed


def _parse_odd(value: str) -> datetime | None:
    """The spellings `fromisoformat` refuses: surrounding spaces, and the like."""
    if not value.strip():
        return None
    text = value.strip().replace(" ", "T", 1)
    text = _COMPACT_OFFSET.sub(r"\1:\2", text)
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def localize(value: datetime, tz: ZoneInfo) -> tuple[datetime, str | None]:
    """Give a datetime an offset; return it in the location's zone plus a note if it was naive.

    A naive time that falls in a DST gap does not exist locally and is rejected; an ambiguous one
    (the repeated hour) takes the first occurrence, and the note says so.
    """
    if value.tzinfo is not None:
        local = value.astimezone(tz)
        if local.utcoffset() == value.utcoffset():
            return local, None
        # Another zone's offset: say how it was read, so a time meant as local is caught.
        return local, (
            f"{value.isoformat(timespec='minutes')} carries another offset than the location's: "
            f"read as {local:%a %Y-%m-%d %H:%M} {tz.key} local time ({offset_text(local)})"
        )
    first = value.replace(tzinfo=tz, fold=0)
    second = value.replace(tzinfo=tz, fold=1)
    round_trip = first.astimezone(ZoneInfo("UTC")).astimezone(tz).replace(tzinfo=None)
    if round_trip != value:
        raise TimeError(
            f"{value.isoformat(timespec='minutes')} does not exist in {tz.key} "
            "(the clocks skip that hour); pick another time"
        )
    note = f"{value.isoformat(timespec='minutes')} had no offset; read as {tz.key} local time, {iso(first)}"
    if first.utcoffset() != second.utcoffset():
        note += " (that hour occurs twice at the DST change; the first one was used)"
    return first, note


def iso(value: datetime) -> str:
    """ISO 8601 with seconds and a colon offset: `2026-11-28T15:00:00-05:00`."""
    return value.isoformat(timespec="seconds")


def local_date(value: datetime, tz: ZoneInfo) -> date:
    return value.astimezone(tz).date() if value.tzinfo else value.date()


def end_of(start: datetime, seconds: int | float | None) -> datetime | None:
    return start + timedelta(seconds=float(seconds)) if seconds else None


def offset_text(value: datetime) -> str:
    """`-05:00` for a datetime with an offset, empty for a naive one."""
    offset = value.utcoffset()
    if offset is None:
        return ""
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    hours, minutes = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}:{minutes:02d}"


_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _canonical(value: str) -> bool:
    """`2026-11-28T15:00:00-05:00`: the shape `iso` writes (seconds, an hours:minutes offset)."""
    return len(value) == 25 and value[10] == "T" and value[19] in "+-" and value[22] == ":"


def span(start: str | None, end: str | None) -> str:
    """`Fri 2026-11-28 15:00–16:00 (-05:00)` from two ISO strings; 'time unknown' without a start."""
    if not start:
        return "time unknown"
    if _canonical(start) and (not end or _canonical(end)):  # what `iso` writes: read by position
        weekday = _WEEKDAYS[date.fromisoformat(start[:10]).weekday()]
        text = f"{weekday} {start[:10]} {start[11:16]}" + (f"–{end[11:16]}" if end else "")
        return f"{text} ({start[19:]})"
    return _span_parsed(start, end)


def _span_parsed(start: str, end: str | None) -> str:
    begin = datetime.fromisoformat(start)
    text = f"{_WEEKDAYS[begin.weekday()]} {begin.date().isoformat()} {begin.hour:02d}:{begin.minute:02d}"
    if end:
        finish = datetime.fromisoformat(end)
        text += f"–{finish.hour:02d}:{finish.minute:02d}"
    offset = offset_text(begin)
    return f"{text} ({offset})" if offset else text


def utc_now() -> datetime:
    """The wall clock, aware (UTC)."""
    return datetime.now(UTC)


def now_text(value: datetime) -> str:
    """The line a result opens with to say what "now" is: `Now there: Fri 2026-11-27 07:00 (-05:00).`"""
    return f"Now there: {value:%a %Y-%m-%d %H:%M} ({offset_text(value)})."
