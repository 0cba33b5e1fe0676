"""How times are written in text: the quick reading of `iso`'s own shape equals the full parse."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from altegio_mcp.timeutil import _span_parsed, iso, span  # pyright: ignore[reportPrivateUsage]

offsets = st.integers(min_value=-14 * 60, max_value=14 * 60).map(lambda m: timezone(timedelta(minutes=m)))
moments = st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1), timezones=offsets)


@given(moments, st.integers(min_value=0, max_value=3 * 24 * 3600) | st.none())
def test_span_of_iso_strings_equals_the_full_parse(start: datetime, seconds: int | None) -> None:
    begin = iso(start)
    end = iso(start + timedelta(seconds=seconds)) if seconds is not None else None
    assert span(begin, end) == _span_parsed(begin, end)


def test_span_reads_other_spellings_by_parsing() -> None:
    assert (
        span("2026-11-28T15:00:00.000-05:00", "2026-11-28T16:30:00-0500")
        == "Sat 2026-11-28 15:00–16:30 (-05:00)"
    )
    assert span("2026-11-28 15:00:00", None) == "Sat 2026-11-28 15:00"
    assert (
        span("2026-11-28T15:00:00+05:30", "2026-11-28T16:00:00+05:30")
        == "Sat 2026-11-28 15:00–16:00 (+05:30)"
    )
    assert span(None, None) == "time unknown"
