"""Calendar tools (opt-in toolset) through a real MCP session: documented examples, the shapes the
docs disagree on, validation, 404s, and the sandbox."""

from __future__ import annotations

from functools import partial
from typing import Any

import pytest

from tests.harness import mock_session, sandbox_session, text_of
from tests.operations.upstream import FakeUpstream, Json, envelope

pytestmark = pytest.mark.anyio

Upstream = partial(FakeUpstream, zone="America/New_York")


# GET /timetable/dates YAML example (bundle ~1,024k): datetimes, although the page promises dates.
DATES_EXAMPLE = ["2026-09-21T23:00:00.000-05:00"] * 7
# GET /timetable/seances YAML example (bundle ~1,025k).
GRID_EXAMPLE = [
    {"time": "10:00", "is_free": True},
    {"time": "10:15", "is_free": True},
    {"time": "10:30", "is_free": True},
    {"time": "10:45", "is_free": True},
    {"time": "11:00", "is_free": False},
    {"time": "11:15", "is_free": False},
    {"time": "11:30", "is_free": False},
    {"time": "11:45", "is_free": False},
    {"time": "12:00", "is_free": False},
    {"time": "12:15", "is_free": False},
    {"time": "12:30", "is_free": False},
    {"time": "12:45", "is_free": False},
    {"time": "13:00", "is_free": True},
    {"time": "13:15", "is_free": True},
    {"time": "13:30", "is_free": True},
    {"time": "13:45", "is_free": True},
    {"time": "14:00", "is_free": True},
    {"time": "14:15", "is_free": True},
    {"time": "14:30", "is_free": True},
    {"time": "14:45", "is_free": True},
    {"time": "15:00", "is_free": True},
    {"time": "15:15", "is_free": True},
    {"time": "15:30", "is_free": True},
    {"time": "15:45", "is_free": True},
    {"time": "16:00", "is_free": True},
    {"time": "16:15", "is_free": True},
    {"time": "16:30", "is_free": False},
    {"time": "16:45", "is_free": False},
    {"time": "17:00", "is_free": False},
]


# --- list_working_dates -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (DATES_EXAMPLE, ["2026-09-21"]),
        (["2026-10-30", "2026-10-26"], ["2026-10-26", "2026-10-30"]),
        ({"unexpected": "object"}, []),
    ],
    ids=["yaml-example-datetimes", "page-description-dates", "unexpected-shape"],
)
async def test_working_dates_accepts_dates_and_datetimes(data: Json, expected: list[str]) -> None:
    up = Upstream({"GET /timetable/dates/1/2026-09-30": envelope(data)})
    async with mock_session(up) as s:
        result = await s.call("list_working_dates", {"date": "2026-09-30", "team_member_id": 8})
    assert not result.is_error, text_of(result)
    assert result.structured_content is not None
    assert result.structured_content["dates"] == expected
    assert list(up.api("/timetable/dates/1/2026-09-30").url.params.multi_items()) == [("staff_id", "8")]
    text = text_of(result)
    assert ", ".join(expected) in text if expected else "No working dates" in text


async def test_working_dates_for_the_location_sends_no_team_member() -> None:
    up = Upstream({"GET /timetable/dates/1/2026-10-01": envelope(["2026-10-01"])})
    async with mock_session(up) as s:
        result = await s.call("list_working_dates", {"date": "2026-10-01"})
    assert "Working dates of location 1 around 2026-10-01 (1): 2026-10-01." in text_of(result)
    assert "list_free_times" in text_of(result)
    assert not up.api("/timetable/dates/1/2026-10-01").url.params


async def test_working_dates_unknown_team_member() -> None:
    up = Upstream({})
    async with mock_session(up) as s:
        result = await s.call("list_working_dates", {"date": "2026-10-01", "team_member_id": 99})
    assert result.is_error
    assert "No team member 99 at location 1: call list_team_members" in text_of(result)


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"date": "2026-13-01"}, "date"),
        ({}, "date"),
        ({"date": "0001-01-01"}, "date"),
        ({"date": "2026-10-01", "team_member_id": -1}, "team_member_id"),
    ],
)
async def test_working_dates_invalid_arguments_send_nothing(arguments: dict[str, Any], field: str) -> None:
    up = Upstream({})
    async with mock_session(up) as s:
        result = await s.call("list_working_dates", arguments)
    assert result.is_error
    assert f"`{field}`" in text_of(result)
    assert up.requests == []


# --- list_time_grid -----------------------------------------------------------------------------------


async def test_time_grid_documented_example() -> None:
    up = Upstream({"GET /timetable/seances/1/8/2026-09-30": envelope(GRID_EXAMPLE)})
    async with mock_session(up) as s:
        result = await s.call("list_time_grid", {"team_member_id": 8, "date": "2026-09-30"})
    assert not result.is_error, text_of(result)
    out = result.structured_content
    assert out is not None
    assert (out["timezone"], out["utc_offset"], out["step_minutes"]) == ("America/New_York", "-04:00", 15)
    assert out["items"][0] == {"time": "10:00", "free": True}
    assert out["items"][4] == {"time": "11:00", "free": False}
    assert len(out["items"]) == 29
    text = text_of(result)
    assert "free 10:00–11:00, 13:00–16:30; busy 11:00–13:00, 16:30–17:15" in text
    assert "UTC-04:00" in text
    assert "list_free_times" in text


async def test_time_grid_reads_the_free_spelling_and_one_object() -> None:
    cells = [
        {"time": "09:00", "free": True},
        {"time": "09:30", "free": False},
        {"time": "10:00", "free": False},
    ]
    up = Upstream(
        {
            "GET /timetable/seances/1/8/2026-12-01": envelope(cells),
            "GET /timetable/seances/1/8/2026-12-02": envelope({"time": "23:30", "is_free": True}),
        }
    )
    async with mock_session(up) as s:
        thirty = await s.call("list_time_grid", {"team_member_id": 8, "date": "2026-12-01"})
        single = await s.call("list_time_grid", {"team_member_id": 8, "date": "2026-12-02"})
    assert thirty.structured_content is not None
    assert thirty.structured_content["step_minutes"] == 30
    assert "free 09:00–09:30; busy 09:30–10:30" in text_of(thirty)
    assert "free 23:30–23:45; busy none" in text_of(single)


async def test_time_grid_of_a_day_off() -> None:
    up = Upstream({"GET /timetable/seances/1/8/2026-12-06": envelope([])})
    async with mock_session(up) as s:
        result = await s.call("list_time_grid", {"team_member_id": 8, "date": "2026-12-06"})
    assert "not working" in text_of(result)


async def test_time_grid_unknown_team_member() -> None:
    async with mock_session(Upstream({})) as s:
        result = await s.call("list_time_grid", {"team_member_id": 5, "date": "2026-12-06"})
    assert result.is_error
    assert "No team member 5 at location 1: call list_team_members" in text_of(result)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"date": "2026-12-06"}, "`team_member_id` is required"),
        (
            {"team_member_id": 8, "date": "9999-12-31"},
            "`date` value error, the year must be between 2000 and 2100",
        ),
    ],
)
async def test_time_grid_invalid_arguments_send_nothing(arguments: dict[str, Any], message: str) -> None:
    up = Upstream({})
    async with mock_session(up) as s:
        result = await s.call("list_time_grid", arguments)
    assert result.is_error
    assert message in text_of(result)
    assert up.requests == []


# --- declarations -----------------------------------------------------------------------------------


async def test_calendar_is_opt_in_and_points_to_free_times() -> None:
    async with mock_session(Upstream({}), toolsets=["default"]) as s:
        default = {t.name for t in (await s.client.list_tools()).tools}
    async with mock_session(Upstream({}), toolsets=["calendar"]) as s:
        tools = {t.name: t for t in (await s.client.list_tools()).tools}
    assert {"list_working_dates", "list_time_grid"}.isdisjoint(default)
    assert set(tools) == {"list_working_dates", "list_time_grid"}
    grid = tools["list_time_grid"].description or ""
    assert "grid" in grid
    assert "service lengths" in grid
    assert "list_free_times" in grid
    for tool in tools.values():
        assert tool.annotations is not None
        assert tool.annotations.read_only_hint is True
        assert len(tool.description or "") <= 200


# --- against the sandbox ----------------------------------------------------------------------------

OLIVIA = 2101
HANNAH = 2104


async def test_sandbox_grid_matches_the_team_schedule() -> None:
    async with sandbox_session() as s:
        grid = await s.call("list_time_grid", {"team_member_id": OLIVIA, "date": "2026-11-27"})
        schedule = await s.call(
            "get_team_schedule", {"start_date": "2026-11-27", "team_member_ids": [OLIVIA]}
        )
    assert not grid.is_error, text_of(grid)
    (day,) = (schedule.structured_content or {})["items"]
    free_text = ", ".join(f"{f['start']}–{f['end']}" for f in day["free"])
    assert f"free {free_text};" in text_of(grid)


async def test_sandbox_working_dates_skip_days_off() -> None:
    async with sandbox_session() as s:
        result = await s.call("list_working_dates", {"date": "2026-11-27", "team_member_id": HANNAH})
        schedule = await s.call(
            "get_team_schedule",
            {"start_date": "2026-11-27", "end_date": "2026-11-30", "team_member_ids": [HANNAH]},
        )
    assert not result.is_error, text_of(result)
    dates = set((result.structured_content or {})["dates"])
    days = (schedule.structured_content or {})["items"]
    assert [d["date"] for d in days if not d["working"]] == ["2026-11-29", "2026-11-30"]
    for day in days:
        assert (day["date"] in dates) == bool(day["working"]), day
