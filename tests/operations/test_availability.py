"""Availability tools through a real MCP session: against exact upstream answers (the documented
examples and their variants) and against the embedded sandbox."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import httpx
import pytest

from tests.conftest import CANARY_PARTNER, CANARY_USER
from tests.harness import mock_session, sandbox_session, text_of
from tests.operations.upstream import FakeUpstream, envelope

pytestmark = pytest.mark.anyio

Upstream = partial(FakeUpstream, zone="America/New_York")


def query(request: httpx.Request) -> list[tuple[str, str]]:
    return list(request.url.params.multi_items())


# --- documented examples (official pages) --------------------------------------------------------

# GET /book_times page (doc 62120069627): every datetime is the same placeholder.
BOOK_TIMES_EXAMPLE = [
    {"time": t, "seance_length": 3600, "datetime": "2026-09-21T23:00:00.000-05:00"}
    for t in ("12:00", "13:00", "14:00", "15:00", "16:00")
]
# GET /book_dates page (doc 61973195396).
BOOK_DATES_EXAMPLE = {
    "booking_days": {"1": [10], "12": [6, 20, 24, 27]},
    "booking_dates": ["2026-12-06", "2026-12-20", "2026-12-24", "2026-12-27", "2026-01-10"],
    "working_days": {"1": [10], "12": [4, 6, 8, 13, 15, 20, 22, 24, 27, 29]},
    "working_dates": ["2026-12-04", "2026-12-06", "2026-12-08", "2026-12-13", "2026-12-15"],
}
# GET /book_staff page (doc 62042382509).
BOOK_STAFF_EXAMPLE = [
    {
        "id": 16,
        "name": "James",
        "bookable": True,
        "specialization": "Paramedic",
        "position": {"id": 1, "title": "Administrator"},
        "show_rating": 1,
        "rating": 3,
        "votes_count": 1,
        "avatar": "https://app.alteg.io/images/no-master.png",
        "comments_count": 0,
        "weight": 11,
        "information": "<span></span>",
        "seance_date": "2026-09-21",
        "seances": [],
    },
    {
        "id": 32,
        "name": "Peter",
        "bookable": False,
        "specialization": "Therapist",
        "position": {},
        "show_rating": 1,
        "rating": 4,
        "votes_count": 1,
        "avatar": "https://app.alteg.io/images/no-master.png",
        "comments_count": 0,
        "weight": 8,
        "information": "<span></span>",
    },
]
# GET /book_services page (doc 62211466005): the category key is `category` here.
BOOK_SERVICES_EXAMPLE = {
    "events": [],
    "services": [
        {
            "id": 1896208,
            "title": "hair wash",
            "category_id": 1895571,
            "price_min": 0,
            "price_max": 0,
            "discount": 0,
            "comment": "",
            "weight": 0,
            "active": 0,
            "gender": 0,
            "image": "",
            "prepaid": "forbidden",
            "seance_length": 3600,
        },
        {
            "id": 1896303,
            "title": "Coloring",
            "category_id": 1895574,
            "price_min": 0,
            "price_max": 0,
            "discount": 0,
            "comment": "",
            "weight": 0,
            "active": 0,
            "gender": 0,
            "image": "",
            "prepaid": "forbidden",
            "seance_length": 3600,
        },
    ],
    "category": [
        {"id": 1895571, "title": "Hair care", "gender": 0, "api_id": "0", "weight": 60},
        {"id": 1895574, "title": "Hair coloring", "gender": 0, "api_id": "0", "weight": 7},
    ],
}
# GET /company/{location_id}/staff/schedule page (doc 62192442886), field by field.
SCHEDULE_EXAMPLE = [
    {
        "staff_id": 12345,
        "date": "2026-01-31",
        "slots": [{"from": "10:00", "to": "19:00"}],
        "busy_intervals": [
            {"entity_type": "record", "entity_id": 456789, "from": "11:00:00", "to": "12:00:00"}
        ],
    }
]


# --- list_free_times -------------------------------------------------------------------------------


async def test_free_times_are_offset_datetimes_from_the_partner_only_endpoint() -> None:
    slots = [
        {"time": "09:00", "seance_length": 2700, "sum_length": 2700, "datetime": "2026-11-30T09:00:00-05:00"},
        {"time": "09:15", "seance_length": 2700, "sum_length": 2700, "datetime": "2026-11-30T09:15:00-0500"},
        {"time": "14:00", "session_length": 2700, "datetime": "2026-11-30T19:00:00.000Z"},
    ]
    up = Upstream({"GET /book_times/1/2101/2026-11-30": envelope(slots)})
    async with mock_session(up) as s:
        result = await s.call(
            "list_free_times", {"team_member_id": 2101, "date": "2026-11-30", "service_ids": [4101, 4102]}
        )
    assert not result.is_error, text_of(result)
    out = result.structured_content
    assert out is not None
    assert out["timezone"] == "America/New_York"
    assert [i["datetime"] for i in out["items"]] == [
        "2026-11-30T09:00:00-05:00",
        "2026-11-30T09:15:00-05:00",
        "2026-11-30T14:00:00-05:00",
    ]
    assert [i["time"] for i in out["items"]] == ["09:00", "09:15", "14:00"]
    assert {i["length_minutes"] for i in out["items"]} == {45}
    text = text_of(result)
    assert "\n" not in text
    assert "09:00, 09:15, 14:00" in text
    assert "UTC-05:00" in text
    assert "create_appointment datetime=2026-11-30T<time>:00-05:00" in text
    sent = up.api("/book_times/1/2101/2026-11-30")
    assert query(sent) == [("service_ids[]", "4101"), ("service_ids[]", "4102")]
    assert sent.headers["authorization"] == f"Bearer {CANARY_PARTNER}"
    assert CANARY_USER not in sent.headers["authorization"]


async def test_free_times_documented_example_parses() -> None:
    up = Upstream({"GET /book_times/1/16/2026-09-21": envelope(BOOK_TIMES_EXAMPLE)}, zone="America/Bogota")
    async with mock_session(up) as s:
        result = await s.call(
            "list_free_times", {"team_member_id": 16, "date": "2026-09-21", "service_ids": [1]}
        )
    assert not result.is_error, text_of(result)
    out = result.structured_content
    assert out is not None
    # The example repeats one placeholder datetime; a start is offered once.
    assert out["items"] == [{"datetime": "2026-09-21T23:00:00-05:00", "time": "23:00", "length_minutes": 60}]


async def test_free_time_without_datetime_is_placed_in_the_location_zone() -> None:
    up = Upstream(
        {"GET /book_times/1/2101/2026-07-01": envelope([{"time": "10:30", "session_length": 1800}])}
    )
    async with mock_session(up) as s:
        result = await s.call(
            "list_free_times", {"team_member_id": 2101, "date": "2026-07-01", "service_ids": [1]}
        )
    assert result.structured_content is not None
    assert result.structured_content["items"] == [
        {"datetime": "2026-07-01T10:30:00-04:00", "time": "10:30", "length_minutes": 30}
    ]


async def test_no_free_times_points_to_bookable_dates() -> None:
    up = Upstream({"GET /book_times/1/2101/2026-11-29": envelope([])})
    async with mock_session(up) as s:
        result = await s.call(
            "list_free_times", {"team_member_id": 2101, "date": "2026-11-29", "service_ids": [1]}
        )
    assert not result.is_error
    assert "No free times" in text_of(result)
    assert "list_bookable_dates" in text_of(result)  # the reason could not be read


@pytest.mark.parametrize(
    ("working", "offered", "reason"),
    [
        (["2026-11-30"], [1], "day off: "),
        (["2026-11-29", "2026-11-30"], [1], "fully booked: "),
        (["2026-11-29", "2026-11-30"], [7], "service not offered: "),
    ],
    ids=["day-off", "fully-booked", "not-offered"],
)
async def test_no_free_times_says_why_and_the_nearest_day(
    working: list[str], offered: list[int], reason: str
) -> None:
    up = Upstream(
        {
            "GET /book_times/1/2101/2026-11-29": envelope([]),
            "GET /services/1": envelope([{"id": s, "title": "Cut", "duration": 3600} for s in offered]),
            "GET /book_dates/1": envelope({"booking_dates": ["2026-11-30"], "working_dates": working}),
            "GET /staff/1": envelope([{"id": 2101, "name": "Olivia Bennett"}]),
        }
    )
    async with mock_session(up) as s:
        result = await s.call(
            "list_free_times", {"team_member_id": 2101, "date": "2026-11-29", "service_ids": [1]}
        )
    out = result.structured_content
    assert out is not None and out["items"] == [], text_of(result)
    assert out["reason"].startswith(reason) and "Olivia Bennett" in out["reason"]
    assert out["team_member"] == "Olivia Bennett"
    if reason == "service not offered: ":
        assert "nearest_date" not in out and "list_team_members" in out["reason"]
    else:
        assert out["nearest_date"] == "2026-11-30"
        assert "Nearest day with free times: Mon 2026-11-30." in text_of(result)
    assert out["now"].endswith(("-05:00", "-04:00"))


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"team_member_id": 2101, "date": "2026-11-30", "service_ids": []}, "service_ids"),
        ({"team_member_id": 2101, "date": "2026-11-30"}, "service_ids"),
        ({"team_member_id": 0, "date": "2026-11-30", "service_ids": [1]}, "team_member_id"),
        ({"team_member_id": 2101, "date": "30.11.2026", "service_ids": [1]}, "date"),
        ({"team_member_id": 2101, "date": "9999-12-31", "service_ids": [1]}, "date"),
    ],
)
async def test_free_times_invalid_arguments_send_nothing(arguments: dict[str, Any], field: str) -> None:
    up = Upstream({})
    async with mock_session(up) as s:
        result = await s.call("list_free_times", arguments)
    assert result.is_error
    assert f"`{field}`" in text_of(result)
    assert up.requests == []


async def test_free_times_unknown_team_member() -> None:
    up = Upstream({})
    async with mock_session(up) as s:
        result = await s.call(
            "list_free_times", {"team_member_id": 77, "date": "2026-11-30", "service_ids": [1]}
        )
    assert result.is_error
    assert "No team member 77 at location 1: call list_team_members" in text_of(result)


async def test_unknown_location_names_it() -> None:
    up = Upstream({})
    async with mock_session(up, location_id=None) as s:
        result = await s.call(
            "list_free_times",
            {"location_id": 9, "team_member_id": 1, "date": "2026-11-30", "service_ids": [1]},
        )
    assert result.is_error
    assert "No location 9: call list_locations" in text_of(result)


# --- list_bookable_dates ---------------------------------------------------------------------------


async def test_bookable_dates_documented_example() -> None:
    up = Upstream({"GET /book_dates/1": envelope(BOOK_DATES_EXAMPLE)})
    async with mock_session(up) as s:
        result = await s.call(
            "list_bookable_dates",
            {
                "service_ids": [4101],
                "team_member_id": 2101,
                "date_from": "2026-12-01",
                "date_to": "2026-12-31",
            },
        )
    assert not result.is_error, text_of(result)
    out = result.structured_content
    assert out is not None
    assert out["bookable_dates"] == BOOK_DATES_EXAMPLE["booking_dates"]
    assert out["working_dates"] == BOOK_DATES_EXAMPLE["working_dates"]
    assert "2026-12-06, 2026-12-20" in text_of(result)
    assert query(up.api("/book_dates/1")) == [
        ("service_ids[]", "4101"),
        ("staff_id", "2101"),
        ("date_from", "2026-12-01"),
        ("date_to", "2026-12-31"),
    ]


async def test_bookable_dates_tolerates_empty_and_datetime_shapes() -> None:
    data = {
        "booking_days": [],
        "booking_dates": [],
        "working_days": {"12": [4]},
        "working_dates": ["2026-12-04T00:00:00.000-05:00", "2026-12-04", "nonsense"],
    }
    up = Upstream({"GET /book_dates/1": envelope(data)})
    async with mock_session(up) as s:
        result = await s.call("list_bookable_dates", {"date": "2026-12-15"})
    out = result.structured_content
    assert out is not None
    assert out["bookable_dates"] == []
    assert out["working_dates"] == ["2026-12-04"]
    assert "No bookable dates" in text_of(result)
    assert query(up.api("/book_dates/1")) == [("date", "2026-12-15")]


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"date_from": "2026-12-01"}, "date_to"),
        ({"date_to": "2026-12-01"}, "date_from"),
        ({"date_from": "2026-12-10", "date_to": "2026-12-01"}, "date_to"),
        ({"service_ids": [0]}, "service_ids.0"),
        ({"date": "0001-01-01"}, "date"),
    ],
)
async def test_bookable_dates_invalid_arguments_send_nothing(arguments: dict[str, Any], field: str) -> None:
    up = Upstream({})
    async with mock_session(up) as s:
        result = await s.call("list_bookable_dates", arguments)
    assert result.is_error
    assert f"`{field}`" in text_of(result)
    assert up.requests == []


# --- list_bookable_team_members ------------------------------------------------------------------------


async def test_bookable_team_members_documented_example() -> None:
    up = Upstream({"GET /book_staff/1": envelope(BOOK_STAFF_EXAMPLE)})
    async with mock_session(up) as s:
        result = await s.call("list_bookable_team_members", {"service_ids": [1, 2]})
    assert not result.is_error, text_of(result)
    out = result.structured_content
    assert out is not None
    james, peter = out["items"]
    assert james == {
        "id": 16,
        "name": "James",
        "specialization": "Paramedic",
        "position": "Administrator",
        "bookable": True,
        "next_free_date": "2026-09-21",
        "rating": 3.0,
    }
    assert peter["bookable"] is False
    assert "position" not in peter
    assert "next_free_date" not in peter
    text = text_of(result)
    assert "#16 James · Paramedic · next free 2026-09-21" in text
    assert "#32 Peter · Therapist · not bookable online" in text
    assert query(up.api("/book_staff/1")) == [("service_ids[]", "1"), ("service_ids[]", "2")]


async def test_bookable_team_members_reads_session_date_and_detail() -> None:
    data = [{"id": 7, "name": "Ann", "bookable": True, "session_date": "2026-12-02", "position": []}]
    up = Upstream({"GET /book_staff/1": envelope(data)})
    async with mock_session(up) as s:
        result = await s.call("list_bookable_team_members", {"detail": True})
    out = result.structured_content
    assert out is not None
    assert out["items"][0]["next_free_date"] == "2026-12-02"
    assert out["items"][0]["details"]["session_date"] == "2026-12-02"


async def test_naive_datetime_is_read_in_the_location_zone_and_noted() -> None:
    up = Upstream({"GET /book_staff/1": envelope(BOOK_STAFF_EXAMPLE[:1])})
    async with mock_session(up) as s:
        result = await s.call(
            "list_bookable_team_members", {"service_ids": [1], "datetime": "2026-11-30T15:00"}
        )
    assert not result.is_error, text_of(result)
    out = result.structured_content
    assert out is not None
    assert out["datetime"] == "2026-11-30T15:00:00-05:00"
    assert any("no offset" in n and "America/New_York" in n for n in out["notes"])
    assert "America/New_York" in text_of(result)
    assert ("datetime", "2026-11-30T15:00") in query(up.api("/book_staff/1"))


async def test_offset_datetime_is_sent_as_location_wall_time() -> None:
    up = Upstream({"GET /book_staff/1": envelope([])})
    async with mock_session(up) as s:
        result = await s.call("list_bookable_team_members", {"datetime": "2026-11-30T20:00:00Z"})
    assert result.structured_content is not None
    # Another zone's offset is echoed back as the location's local time it was read as.
    assert result.structured_content["notes"] == [
        "2026-11-30T20:00+00:00 carries another offset than the location's: read as "
        "Mon 2026-11-30 15:00 America/New_York local time (-05:00)"
    ]
    assert ("datetime", "2026-11-30T15:00") in query(up.api("/book_staff/1"))
    assert "No team members free at 2026-11-30T15:00:00-05:00" in text_of(result)


@pytest.mark.parametrize("tool", ["list_bookable_team_members", "list_bookable_services"])
@pytest.mark.parametrize("value", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59"])
async def test_datetimes_outside_plausible_years_send_nothing(tool: str, value: str) -> None:
    up = Upstream({})
    async with mock_session(up) as s:
        result = await s.call(
            tool, {"team_member_id": 1, "datetime": value} if "services" in tool else {"datetime": value}
        )
    assert result.is_error
    assert "`datetime` value error, the year must be between 2000 and 2100" in text_of(result)
    assert up.requests == []


async def test_datetime_in_a_dst_gap_is_refused_before_booking_reads() -> None:
    up = Upstream({})
    async with mock_session(up) as s:
        result = await s.call("list_bookable_team_members", {"datetime": "2026-03-08T02:30"})
    assert result.is_error
    assert "`datetime`" in text_of(result)
    assert [r.url.path for r in up.requests] == ["/api/v1/company/1"]


# --- list_bookable_services --------------------------------------------------------------------------


async def test_bookable_services_documented_example_with_team_member() -> None:
    up = Upstream({"GET /book_services/1": envelope(BOOK_SERVICES_EXAMPLE)})
    async with mock_session(up) as s:
        result = await s.call("list_bookable_services", {"team_member_id": 16})
    assert not result.is_error, text_of(result)
    out = result.structured_content
    assert out is not None
    assert [(i["id"], i["category"], i["length_minutes"]) for i in out["items"]] == [
        (1896208, "Hair care", 60),
        (1896303, "Hair coloring", 60),
    ]
    assert "#1896208 hair wash · Hair care · 60 min" in text_of(result)
    assert query(up.api("/book_services/1")) == [("staff_id", "16")]


async def test_bookable_services_reads_categories_and_session_length() -> None:
    data = {
        "services": [
            {
                "id": 5,
                "title": "Cut",
                "category_id": 9,
                "price_min": 30,
                "price_max": 45,
                "session_length": 1800,
            }
        ],
        "categories": [{"id": 9, "title": "Hair"}],
    }
    up = Upstream({"GET /book_services/1": envelope(data)})
    async with mock_session(up) as s:
        with_member = await s.call(
            "list_bookable_services",
            {
                "team_member_id": 3,
                "datetime": "2026-11-30T10:00:00-05:00",
                "service_ids": [4],
                "detail": True,
            },
        )
        without = await s.call("list_bookable_services", {})
    item = (with_member.structured_content or {})["items"][0]
    assert (item["category"], item["length_minutes"], item["details"]["session_length"]) == ("Hair", 30, 1800)
    assert "30–45" in text_of(with_member)
    assert "length_minutes" not in (without.structured_content or {})["items"][0]
    first = next(r for r in up.requests if r.url.path.endswith("/book_services/1"))
    assert query(first) == [("staff_id", "3"), ("datetime", "2026-11-30T10:00"), ("service_ids[]", "4")]


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"datetime": "2026-11-30T10:00"}, "datetime"),
        ({"team_member_id": 3, "service_ids": [4]}, "service_ids"),
        ({"service_ids": [4], "datetime": "2026-11-30T10:00"}, "datetime"),
    ],
)
async def test_bookable_services_cross_field_rules_send_nothing(
    arguments: dict[str, Any], field: str
) -> None:
    up = Upstream({})
    async with mock_session(up) as s:
        result = await s.call("list_bookable_services", arguments)
    assert result.is_error
    assert f"Invalid `{field}`" in text_of(result)
    assert up.requests == []


async def test_bookable_services_unknown_team_member() -> None:
    up = Upstream({})
    async with mock_session(up) as s:
        result = await s.call("list_bookable_services", {"team_member_id": 404})
    assert "No team member 404 at location 1: call list_team_members" in text_of(result)


# --- get_team_schedule -----------------------------------------------------------------------------


async def test_team_schedule_documented_shape_gives_free_intervals() -> None:
    up = Upstream({"GET /company/1/staff/schedule": envelope(SCHEDULE_EXAMPLE, {"count": 1})})
    async with mock_session(up) as s:
        result = await s.call(
            "get_team_schedule",
            {"start_date": "2026-01-31", "end_date": "2026-02-01", "team_member_ids": [12345, 234]},
        )
    assert not result.is_error, text_of(result)
    out = result.structured_content
    assert out is not None
    assert out["utc_offset"] == "-05:00"
    assert out["items"] == [
        {
            "team_member_id": 12345,
            "date": "2026-01-31",
            "working": [{"start": "10:00", "end": "19:00"}],
            "busy": [{"start": "11:00", "end": "12:00", "kind": "appointment", "id": 456789}],
            "free": [{"start": "10:00", "end": "11:00"}, {"start": "12:00", "end": "19:00"}],
        }
    ]
    text = text_of(result)
    assert text.count("-05:00") == 1
    assert (
        "#12345 Sat 2026-01-31: works 10:00–19:00; busy 11:00–12:00 (appointment 456789); free 10:00–11:00, 12:00–19:00"
        in text
    )
    assert query(up.api("/company/1/staff/schedule")) == [
        ("start_date", "2026-01-31"),
        ("end_date", "2026-02-01"),
        ("staff_ids[]", "12345"),
        ("staff_ids[]", "234"),
        ("include[]", "busy_intervals"),
    ]


async def test_team_schedule_edges_overlaps_and_days_off() -> None:
    data = [
        {
            "staff_id": 1,
            "date": "2026-11-30",
            "slots": [{"from": "09:00", "to": "13:00"}, {"from": "14:00", "to": "24:00"}],
            "busy_intervals": [
                {"entity_type": "record", "entity_id": 5, "from": "08:30:00", "to": "09:30:00"},
                {"entity_type": "activity", "entity_id": 6, "from": "09:15:00", "to": "10:00:00"},
                {"entity_type": "record", "entity_id": 7, "from": "22:00:00", "to": "23:59:59"},
            ],
        },
        {"staff_id": 2, "date": "2026-11-30", "slots": [], "busy_intervals": []},
    ]
    up = Upstream({"GET /company/1/staff/schedule": envelope(data)})
    async with mock_session(up) as s:
        result = await s.call("get_team_schedule", {"start_date": "2026-11-30"})
    out = result.structured_content
    assert out is not None
    first, second = out["items"]
    assert first["free"] == [
        {"start": "10:00", "end": "13:00"},
        {"start": "14:00", "end": "22:00"},
    ]
    assert first["busy"][1] == {"start": "09:15", "end": "10:00", "kind": "event", "id": 6}
    assert first["busy"][2]["end"] == "24:00"
    assert second == {"team_member_id": 2, "date": "2026-11-30", "working": [], "busy": [], "free": []}
    assert "#2 Mon 2026-11-30: off" in text_of(result)
    assert ("end_date", "2026-11-30") in query(up.api("/company/1/staff/schedule"))


async def test_team_schedule_notes_a_dst_change() -> None:
    up = Upstream({"GET /company/1/staff/schedule": envelope([])})
    async with mock_session(up) as s:
        result = await s.call("get_team_schedule", {"start_date": "2026-10-31", "end_date": "2026-11-02"})
    out = result.structured_content
    assert out is not None
    assert out["utc_offset"] == "-04:00"
    assert out["notes"] == ["The UTC offset is -05:00 from 2026-11-01 (daylight saving); times stay local."]


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"start_date": "2026-11-30", "end_date": "2026-11-29"}, "end_date"),
        ({"start_date": "2026-11-01", "end_date": "2026-12-02"}, "end_date"),
        ({"end_date": "2026-11-29"}, "start_date"),
        ({"start_date": "2026-11-30", "team_member_ids": []}, "team_member_ids"),
        ({"start_date": "9999-12-31"}, "start_date"),
    ],
)
async def test_team_schedule_invalid_arguments_send_nothing(arguments: dict[str, Any], field: str) -> None:
    up = Upstream({})
    async with mock_session(up) as s:
        result = await s.call("get_team_schedule", arguments)
    assert result.is_error
    assert f"`{field}`" in text_of(result)
    assert up.requests == []


# --- declarations ------------------------------------------------------------------------------------

AVAILABILITY_TOOLS = {
    "list_free_times",
    "list_bookable_dates",
    "list_bookable_team_members",
    "list_bookable_services",
    "get_team_schedule",
}


async def test_availability_tools_are_read_only_and_the_core_ones_default() -> None:
    async with mock_session(Upstream({}), toolsets=["default"]) as s:
        default = {t.name for t in (await s.client.list_tools()).tools}
    assert {"list_free_times", "list_bookable_dates", "get_team_schedule"} <= default
    async with mock_session(Upstream({}), toolsets=["availability"]) as s:
        tools = {t.name: t for t in (await s.client.list_tools()).tools}
    assert set(tools) == AVAILABILITY_TOOLS
    for name in AVAILABILITY_TOOLS:
        annotations = tools[name].annotations
        assert annotations is not None
        assert annotations.read_only_hint is True
        assert annotations.destructive_hint is False
        description = tools[name].description or ""
        assert len(description) <= 200
        assert "staff" in description or "company" in description


# --- against the sandbox -------------------------------------------------------------------------------

NEW_YORK = 1001
OLIVIA = 2101
WOMENS_HAIRCUT = 4101
EMMA = 5001


async def free_datetimes(call: Callable[..., Any], day: str) -> list[str]:
    result = await call(
        "list_free_times", {"team_member_id": OLIVIA, "date": day, "service_ids": [WOMENS_HAIRCUT]}
    )
    assert not result.is_error, text_of(result)
    return [item["datetime"] for item in result.structured_content["items"]]


async def test_sandbox_free_time_books_as_is_and_then_disappears() -> None:
    async with sandbox_session() as s:
        before = await free_datetimes(s.call, "2026-11-30")
        assert before
        chosen = before[len(before) // 2]
        booked = await s.call(
            "create_appointment",
            {
                "location_id": NEW_YORK,
                "team_member_id": OLIVIA,
                "service_ids": [WOMENS_HAIRCUT],
                "datetime": chosen,
                "client_id": EMMA,
            },
        )
        assert not booked.is_error, text_of(booked)
        assert booked.structured_content is not None
        assert booked.structured_content["appointment"]["start"] == chosen
        after = await free_datetimes(s.call, "2026-11-30")
    assert chosen not in after
    assert set(after) < set(before)


async def test_sandbox_bookable_dates_lead_to_free_times() -> None:
    async with sandbox_session() as s:
        dates = await s.call(
            "list_bookable_dates", {"service_ids": [WOMENS_HAIRCUT], "team_member_id": OLIVIA}
        )
        assert dates.structured_content is not None
        first = dates.structured_content["bookable_dates"][0]
        assert await free_datetimes(s.call, first)


async def test_sandbox_naive_datetime_finds_who_is_free_then() -> None:
    async with sandbox_session() as s:
        start = (await free_datetimes(s.call, "2026-11-30"))[0]
        naive = start[:16]
        result = await s.call(
            "list_bookable_team_members", {"service_ids": [WOMENS_HAIRCUT], "datetime": naive}
        )
    assert not result.is_error, text_of(result)
    out = result.structured_content
    assert out is not None
    assert out["datetime"] == start
    assert any("America/New_York" in note for note in out["notes"])
    assert OLIVIA in [m["id"] for m in out["items"]]


async def test_sandbox_services_and_schedule_agree_with_free_times() -> None:
    async with sandbox_session() as s:
        services = await s.call("list_bookable_services", {"team_member_id": OLIVIA})
        schedule = await s.call(
            "get_team_schedule", {"start_date": "2026-11-30", "team_member_ids": [OLIVIA]}
        )
        times = await free_datetimes(s.call, "2026-11-30")
    haircut = next(i for i in (services.structured_content or {})["items"] if i["id"] == WOMENS_HAIRCUT)
    assert haircut["length_minutes"] == 60
    (day,) = (schedule.structured_content or {})["items"]
    free = [(f["start"], f["end"]) for f in day["free"]]
    for start in times:
        clock = start[11:16]
        assert any(a <= clock and clock < b for a, b in free), (clock, free)
