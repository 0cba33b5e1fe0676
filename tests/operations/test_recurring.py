"""Recurring appointments through a real MCP session: schedules, occurrences, and client series whose
changes and deletion are previewed from the server's ledger (Altegio cannot read a series back)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from altegio_mcp.operations import recurring
from tests.harness import awaits_confirmation, mock_session, sandbox_session, text_of
from tests.operations.upstream import (
    NOT_FOUND_BARE,
    FakeUpstream,
    envelope,
    path_of,
    structured,
    token_in,
)

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("own_state_dir")]

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
LOCATION = {"id": 1, "title": "Bloom Hair Studio", "timezone_name": "America/New_York"}
MASTER = {
    "id": 123,
    "name": "John Johnson",
    "company_id": 123,
    "specialization": "Team Member",
    "avatar": "https://app.alteg.io/images/no-master-sm.png",
    "avatar_big": "https://app.alteg.io/images/no-master.png",
    "position": {"id": 123, "title": "Team Member"},
}

# `timetable_event_schedule` example (bundle, components/schemas).
SCHEDULE_EXAMPLE: dict[str, Any] = {
    "id": 123,
    "created_at": "2026-01-01T12:12:12-05:00",
    "updated_at": "2026-01-01T12:12:12-05:00",
    "deleted_at": None,
    "original_entity_type": "activity",
    "original_entity_id": 123,
    "date_start": "2026-01-01",
    "date_end": "2026-02-01",
    "days": [
        {
            "id": 123,
            "created_at": "2026-01-01T12:12:12-05:00",
            "updated_at": "2026-01-01T12:12:12-05:00",
            "deleted_at": None,
            "timetable_event_schedule_id": 123,
            "day_of_week": "mon",
            "events_time": "14:00:00",
            "events_duration": 3600,
            "events_master": MASTER,
            "events_labels": [{"id": 123, "title": "Tag", "color": "#ff0000"}],
            "events_resource_instances": [{"id": 123, "title": "Resource #1", "resource_id": 123}],
        }
    ],
}

# `GET .../days/{day_id}/events` example from the official page (doc 62354222173).
EVENTS_EXAMPLE: list[dict[str, Any]] = [
    {
        "id": 123,
        "created_at": "2026-01-01T12:12:12-05:00",
        "updated_at": "2026-01-01T12:12:12-05:00",
        "deleted_at": None,
        "event_status": "stable",
        "event_datetime": "2026-01-24T14:00:00-05:00",
        "event_entity_type": "activity",
        "event_entity_id": 123,
        "is_entity_master_changed": False,
        "is_entity_datetime_changed": False,
        "is_entity_duration_changed": False,
        "is_entity_labels_changed": False,
        "is_entity_resource_instances_changed": False,
        "entity_master": {**MASTER, "is_paid_staff": False},
        "entity_datetime": "2022-01-24 14:00:00",
        "entity_duration": 3600,
        "entity_labels": [{"id": 123, "title": "Tag", "color": "#ff0000"}],
        "entity_resource_instances": [{"id": 123, "title": "Resource #1", "resource_id": 123}],
    }
]

# `timetable_event_schedule_client_schedule` example (bundle): its days carry no `events`.
CLIENT_SCHEDULE_EXAMPLE: dict[str, Any] = {
    "id": 123,
    "loyalty_abonement_id": None,
    "final_day": "2022-01-01 12:12:12",
    "days": [
        {
            "id": 123,
            "created_at": "2026-01-01T12:12:12-05:00",
            "updated_at": "2026-01-01T12:12:12-05:00",
            "deleted_at": None,
            "timetable_event_schedule_id": 123,
            "day_of_week": "mon",
            "events_time": "14:00:00",
            "events_duration": 3600,
            "event_technical_break_duration": 0,
            "events_master": MASTER,
            "events_labels": [{"id": 123, "title": "Tag", "color": "#ff0000"}],
            "events_resource_instances": [{"id": 123, "title": "Resource #1", "resource_id": 123}],
        }
    ],
}

# Two schedule days of schedule 9: Monday and Wednesday at 14:00 New York time.
DAYS = {11: ("mon", "2026-11-23"), 12: ("wed", "2026-11-25")}
SERIES_ID = 501


def occurrences(day_id: int, *, deleted_last: bool = False) -> list[dict[str, Any]]:
    """Weekly occurrences of a day: one past, three future (the last one deleted, if asked)."""
    first = datetime.fromisoformat(DAYS[day_id][1] + "T14:00:00-05:00")
    items: list[dict[str, Any]] = []
    for week in range(4):
        start = first + timedelta(weeks=week)
        status = "entity_deleted" if deleted_last and week == 3 else "stable"
        items.append(
            {
                "id": day_id * 100 + week,
                "event_status": status,
                "event_datetime": start.isoformat(),
                "event_entity_type": "record",
                "event_entity_id": 900000 + day_id * 100 + week,
                "entity_master": MASTER,
                "entity_datetime": start.strftime("%Y-%m-%d %H:%M:%S"),
                "entity_duration": 3600,
            }
        )
    return items


def day_json(day_id: int, with_events: bool = True) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": day_id,
        "timetable_event_schedule_id": 9,
        "day_of_week": DAYS[day_id][0],
        "events_time": "14:00:00",
        "events_duration": 3600,
        "event_technical_break_duration": 0,
        "events_master": MASTER,
    }
    if with_events:
        data["events"] = occurrences(day_id, deleted_last=day_id == 12)
    return data


class FakeAltegio(FakeUpstream):
    """Location 1, schedule 9 with days 11 and 12, and client series made through POST."""

    def __init__(self) -> None:
        super().__init__(location=LOCATION, not_found=NOT_FOUND_BARE)
        self.series: dict[int, list[int]] = {}
        self.search_answer: Any = SCHEDULE_EXAMPLE
        self.create_answer: dict[str, Any] | None = None
        self.booked: list[dict[str, Any]] = []

    def writes(self) -> list[str]:
        return [line for line in self.calls() if not line.startswith("GET ")]

    def client_schedule(self, series_id: int) -> dict[str, Any]:
        return {
            "id": series_id,
            "loyalty_abonement_id": None,
            "final_day": "2026-12-31 00:00:00",
            "days": [day_json(d) for d in self.series[series_id]],
        }

    def unrouted(self, request: httpx.Request) -> httpx.Response:
        path = path_of(request)
        base = "/company/1/schedules"
        if path == "/records/1" and request.method == "GET":
            return httpx.Response(200, json=envelope(self.booked, {"total_count": len(self.booked)}))
        if path == f"{base}/search/activity/77":
            return httpx.Response(200, json=envelope(self.search_answer, {}))
        match = re.fullmatch(rf"{base}/9/days/(\d+)/events", path)
        if match and int(match.group(1)) in DAYS:
            items = occurrences(int(match.group(1)))
            return httpx.Response(200, json=envelope(items, {"count": len(items)}))
        if path == f"{base}/9/client_schedules" and request.method == "POST":
            body = json.loads(request.content)
            if self.create_answer is not None:
                return httpx.Response(201, json=envelope(self.create_answer, {}))
            self.series[SERIES_ID] = list(body["schedule_days_ids"])
            return httpx.Response(201, json=envelope(self.client_schedule(SERIES_ID), {}))
        match = re.fullmatch(rf"{base}/9/client_schedules/(\d+)", path)
        if match:
            series_id = int(match.group(1))
            if request.method == "PATCH":
                self.series[series_id] = list(json.loads(request.content)["schedule_days_ids"])
                return httpx.Response(200, json=envelope(self.client_schedule(series_id), {}))
            if request.method == "DELETE" and series_id in self.series:
                del self.series[series_id]
                return httpx.Response(204)
        return super().unrouted(request)


@pytest.fixture(autouse=True)
def _fixed_now(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(recurring, "utc_now", lambda: NOW)


CREATE = {"location_id": 1, "schedule_id": 9, "client_id": 5, "schedule_day_ids": [11, 12]}


# --- find_schedule / list_schedule_events ---------------------------------------------------------------


async def test_find_schedule_documented_example() -> None:
    fake = FakeAltegio()
    async with mock_session(fake) as s:
        result = await s.call("find_schedule", {"location_id": 1, "entity_id": 77})
    data = structured(result)
    assert data["schedule_id"] == 123 and data["based_on"] == "group event 123"
    assert (data["date_start"], data["date_end"]) == ("2026-01-01", "2026-02-01")
    assert data["days"] == [
        {
            "day_id": 123,
            "weekday": "Mon",
            "time": "14:00",
            "length_minutes": 60,
            "team_member": {"id": 123, "name": "John Johnson"},
        }
    ]
    search = next(r for r in fake.requests if "search" in r.url.path)
    assert search.url.params.get_list("include[]") == ["days", "days.events_master"]
    assert "day 123: Mon 14:00, 60 min with John Johnson" in text_of(result)


async def test_find_schedule_without_days_and_unknown_entity() -> None:
    fake = FakeAltegio()
    fake.search_answer = {k: v for k, v in SCHEDULE_EXAMPLE.items() if k != "days"}
    async with mock_session(fake) as s:
        bare = structured(await s.call("find_schedule", {"location_id": 1, "entity_id": 77}))
        missing = await s.call("find_schedule", {"location_id": 1, "entity_id": 5})
    assert bare["days"] == []
    assert missing.is_error and "No schedule for group event 5 at location 1" in text_of(missing)


async def test_find_schedule_bad_entity_type_sends_nothing() -> None:
    fake = FakeAltegio()
    async with mock_session(fake) as s:
        result = await s.call("find_schedule", {"entity_type": "visit", "entity_id": 5})
    assert result.is_error and "entity_type" in text_of(result)
    assert fake.requests == []


async def test_list_schedule_events_documented_example() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/company/1"):
            return httpx.Response(200, json=envelope(LOCATION))
        moved = {**EVENTS_EXAMPLE[0], "id": 124, "event_entity_type": "record", "event_entity_id": 700}
        moved["is_entity_datetime_changed"] = True
        return httpx.Response(200, json=envelope([*EVENTS_EXAMPLE, moved], {"count": 10}))

    async with mock_session(handler) as s:
        result = await s.call("list_schedule_events", {"location_id": 1, "schedule_id": 123, "day_id": 123})
    data = structured(result)
    assert data["total"] == 10
    first, second = data["items"]
    assert first == {
        "id": 123,
        "status": "stable",
        "start": "2026-01-24T14:00:00-05:00",
        "event_id": 123,
        "team_member": {"id": 123, "name": "John Johnson"},
    }
    assert second["appointment_id"] == 700 and second["moved_to"] == "2022-01-24T14:00:00-05:00"
    assert "#124 2026-01-24 14:00 (moved to 2022-01-24 14:00) · stable · appointment 700" in text_of(result)


async def test_list_schedule_events_unknown_day() -> None:
    async with mock_session(FakeAltegio()) as s:
        result = await s.call("list_schedule_events", {"location_id": 1, "schedule_id": 9, "day_id": 99})
    assert result.is_error and "No schedule day 99 of schedule 9 at location 1" in text_of(result)


# --- create ------------------------------------------------------------------------------------------------


async def test_create_lists_upcoming_occurrences() -> None:
    fake = FakeAltegio()
    async with mock_session(fake) as s:
        result = await s.call("create_recurring_appointments", {**CREATE, "comer_id": 8})
    data = structured(result)
    body = json.loads(next(r for r in fake.requests if r.method == "POST").content)
    assert body == {"client_id": 5, "schedule_days_ids": [11, 12], "comer_id": 8}
    assert data["client_schedule_id"] == SERIES_ID
    assert data["final_day"] == "2026-12-31T00:00:00-05:00"
    monday, wednesday = data["days"]
    assert monday["weekday"] == "Mon" and monday["time"] == "14:00" and monday["length_minutes"] == 60
    # the past occurrence is not upcoming; Wednesday's deleted one is not either
    assert monday["upcoming"] == [
        "2026-11-30T14:00:00-05:00",
        "2026-12-07T14:00:00-05:00",
        "2026-12-14T14:00:00-05:00",
    ]
    assert wednesday["upcoming_total"] == 2
    assert "Recurring series 501 on schedule 9" in text_of(result)
    # Before posting, the client's appointments at the occurrences were looked for (never twice).
    assert any(line.startswith("GET /records/1") for line in fake.calls())


async def test_create_is_refused_when_the_client_is_already_booked_at_the_occurrences() -> None:
    fake = FakeAltegio()
    fake.booked = [{"id": 901, "datetime": "2026-11-30T14:00:00-05:00", "client": {"id": 5}}]
    async with mock_session(fake) as s:
        result = await s.call("create_recurring_appointments", CREATE)
    text = text_of(result)
    assert result.is_error and "already booked at 1 future occurrences" in text and "901" in text
    assert fake.writes() == []


async def test_create_parses_the_documented_example_without_events() -> None:
    fake = FakeAltegio()
    fake.create_answer = CLIENT_SCHEDULE_EXAMPLE
    async with mock_session(fake) as s:
        result = await s.call("create_recurring_appointments", {**CREATE, "schedule_day_ids": [11]})
    data = structured(result)
    assert data["client_schedule_id"] == 123 and data["final_day"] == "2022-01-01T12:12:12-05:00"
    assert data["days"][0]["upcoming"] == [] and data["days"][0]["team_member"]["name"] == "John Johnson"
    assert any("did not list occurrences" in note for note in data["notes"])


@pytest.mark.parametrize(
    ("days", "needle"),
    [([11, 11], "listed twice"), ([], "schedule_day_ids"), ([1, 2, 3, 4, 5, 6, 7, 8], "schedule_day_ids")],
)
async def test_create_bad_days_send_nothing(days: list[int], needle: str) -> None:
    fake = FakeAltegio()
    async with mock_session(fake) as s:
        result = await s.call("create_recurring_appointments", {**CREATE, "schedule_day_ids": days})
    assert result.is_error and needle in text_of(result)
    assert fake.writes() == []


async def test_create_on_unknown_schedule() -> None:
    async with mock_session(FakeAltegio()) as s:
        result = await s.call("create_recurring_appointments", {**CREATE, "schedule_id": 8})
    assert (
        result.is_error
        and "No schedule day 11 of schedule 8 at location 1: call find_schedule" in text_of(result)
    )


# --- delete ------------------------------------------------------------------------------------------------


SERIES = {"location_id": 1, "schedule_id": 9, "client_schedule_id": SERIES_ID}


async def test_delete_is_always_confirmed_and_says_the_count_is_unknown() -> None:
    fake = FakeAltegio()
    async with mock_session(fake) as s:
        structured(await s.call("create_recurring_appointments", CREATE))
        first = await s.call("delete_recurring_appointments", SERIES)
        assert awaits_confirmation(first)
        text = text_of(first)
        assert "cannot show a series before deleting it" in text and "not known" in text
        assert fake.writes() == ["POST /company/1/schedules/9/client_schedules"]
        done = await s.call("delete_recurring_appointments", {**SERIES, "confirmation_token": token_in(text)})
    assert structured(done) == {"deleted": True, "client_schedule_id": SERIES_ID, "notes": []}
    assert fake.writes()[-1] == f"DELETE /company/1/schedules/9/client_schedules/{SERIES_ID}"


async def test_delete_of_an_unknown_series() -> None:
    fake = FakeAltegio()
    async with mock_session(fake) as s:
        result = await s.call("delete_recurring_appointments", {**SERIES, "client_schedule_id": 77})
        again = await s.call(
            "delete_recurring_appointments",
            {**SERIES, "client_schedule_id": 77, "confirmation_token": token_in(text_of(result))},
        )
    assert again.is_error and "No recurring series 77 on schedule 9 at location 1" in text_of(again)


# --- update (always confirmed: a series' current days cannot be read) -------------------------------------


@pytest.mark.parametrize("days", [[11], [11, 12]])
async def test_every_update_is_confirmed_first_with_the_listed_days_read_upstream(days: list[int]) -> None:
    """Adding days too: the server cannot know which days the series has, so nothing is assumed."""
    fake = FakeAltegio()
    fake.series[SERIES_ID] = [11, 12]
    args = {**SERIES, "schedule_day_ids": days}
    async with mock_session(fake) as s:
        first = await s.call("update_recurring_appointments", args)
        text = text_of(first)
        assert awaits_confirmation(first) and "cannot show which days the series has now" in text
        assert "- day 11: 3 future occurrences: Mon 2026-11-30 14:00" in text
        assert fake.writes() == []
        done = await s.call("update_recurring_appointments", {**args, "confirmation_token": token_in(text)})
    data = structured(done)
    assert [d["day_id"] for d in data["days"]] == days
    assert "detached_day_ids" not in data
    assert any("which days this change detached is not known" in n for n in data["notes"])


# --- against the embedded sandbox ---------------------------------------------------------------------------


NY = 1001
MASTERCLASS = 31  # Mon/Wed/Sat 18:00 group class; days 311, 312, 313


async def test_sandbox_series_created_through_the_server_then_deleted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with sandbox_session() as s:
        assert s.sandbox is not None
        monkeypatch.setattr(recurring, "utc_now", s.sandbox.state.now)
        schedule = structured(
            await s.call(
                "find_schedule", {"location_id": NY, "entity_type": "activity", "entity_id": _activity(s)}
            )
        )
        assert schedule["schedule_id"] == MASTERCLASS
        assert {d["day_id"] for d in schedule["days"]} == {311, 312, 313}
        create = {"location_id": NY, "schedule_id": MASTERCLASS, "client_id": 5001, "schedule_day_ids": [313]}
        created = structured(await s.call("create_recurring_appointments", create))
        series_id = created["client_schedule_id"]
        upcoming = created["days"][0]["upcoming_total"]
        assert upcoming > 0 and created["days"][0]["weekday"] == "Sat"
        assert created["days"][0]["upcoming"][0].endswith("-05:00")
        # The same create again (a retry after a lost answer) is refused: the client is booked there.
        again = await s.call("create_recurring_appointments", create)
        assert again.is_error and "already booked" in text_of(again)
        assert len([x for x in s.sandbox.state.client_schedules_by_id.values() if x.client_id == 5001]) == 1
        series = {"location_id": NY, "schedule_id": MASTERCLASS, "client_schedule_id": series_id}
        first = await s.call("delete_recurring_appointments", series)
        text = text_of(first)
        assert awaits_confirmation(first) and "cannot be undone" in text
        done = structured(
            await s.call("delete_recurring_appointments", {**series, "confirmation_token": token_in(text)})
        )
        assert done["deleted"] is True
        assert series_id not in s.sandbox.state.client_schedules_by_id


async def test_a_series_widened_outside_the_server_then_narrowed_is_held_for_confirmation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The stale-series case: changed in the Altegio web app, then narrowed here with no token."""
    async with sandbox_session() as s:
        assert s.sandbox is not None
        monkeypatch.setattr(recurring, "utc_now", s.sandbox.state.now)
        create = {"location_id": NY, "schedule_id": MASTERCLASS, "client_id": 5001, "schedule_day_ids": [311]}
        series_id = structured(await s.call("create_recurring_appointments", create))["client_schedule_id"]
        series = s.sandbox.state.client_schedules_by_id[series_id]
        # Outside this server: the series gains two more days and their future appointments.
        from altegio_mcp.sandbox.recurring import book_series_days

        series.day_ids = [311, 312, 313]
        book_series_days(s.sandbox.state, series, [312, 313], 1, s.sandbox.state.now())
        before = s.sandbox.state.fingerprint()
        live = [a for a in s.sandbox.state.appointments_of_series(series_id) if not a.deleted]
        narrowed = await s.call(
            "update_recurring_appointments",
            {
                "location_id": NY,
                "schedule_id": MASTERCLASS,
                "client_schedule_id": series_id,
                "schedule_day_ids": [311],
            },
        )
        text = text_of(narrowed)
        assert awaits_confirmation(narrowed), text
        assert s.sandbox.state.fingerprint() == before
        assert [a for a in s.sandbox.state.appointments_of_series(series_id) if not a.deleted] == live
        assert [r for r in s.sandbox.requests if r.method == "PATCH"] == []


async def test_sandbox_update_of_a_seeded_series_is_confirmed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with sandbox_session() as s:
        assert s.sandbox is not None
        monkeypatch.setattr(recurring, "utc_now", s.sandbox.state.now)
        seeded = next(
            x for x in s.sandbox.state.client_schedules_by_id.values() if x.schedule_id == MASTERCLASS
        )
        args = {
            "location_id": NY,
            "schedule_id": MASTERCLASS,
            "client_schedule_id": seeded.id,
            "schedule_day_ids": [311],
        }
        first = await s.call("update_recurring_appointments", args)
        text = text_of(first)
        assert awaits_confirmation(first) and "any day it has that is not listed" in text
        assert seeded.day_ids == [311, 312]
        done = structured(
            await s.call("update_recurring_appointments", {**args, "confirmation_token": token_in(text)})
        )
        assert [d["day_id"] for d in done["days"]] == [311]
        assert seeded.day_ids == [311]
        events = structured(
            await s.call(
                "list_schedule_events", {"location_id": NY, "schedule_id": MASTERCLASS, "day_id": 311}
            )
        )
        assert events["total"] == len(events["items"]) > 0
        assert all(item["event_id"] for item in events["items"])


def _activity(s: Any) -> int:
    state = s.sandbox.state
    return next(e.activity_id for e in state.schedule_events_by_id.values() if e.schedule_id == MASTERCLASS)
