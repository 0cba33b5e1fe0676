"""Group events through Business Management v2 (the `events` toolset), against the sandbox: list with
free seats, book, edit and move a booking, find a client's series. Every v2 request goes to
`/api/v2` through the one client, with the v2 media type."""

from __future__ import annotations

from typing import Any

import pytest

from tests.harness import Session, sandbox_session, text_of
from tests.operations.upstream import structured

pytestmark = pytest.mark.anyio


def v2_requests(s: Session, method: str | None = None) -> list[Any]:
    assert s.sandbox is not None
    return [
        r
        for r in s.sandbox.requests
        if r.path.startswith("/api/v2/") and (method is None or r.method == method)
    ]


async def test_list_book_edit_and_move_a_group_event_booking() -> None:
    async with sandbox_session() as s:
        listed = structured(await s.call("list_group_events", {"days": 14}))
        assert listed["timezone"] == "America/New_York" and listed["items"]
        first, second = listed["items"][0], listed["items"][1]
        assert first["start"] >= "2026-11-27T07:00" and first["start"].endswith("-05:00")
        assert first["free"] == first["capacity"] - first["booked"]
        booked = structured(
            await s.call("book_group_event", {"event_id": first["id"], "client_id": 5001, "seats": 2})
        )
        assert booked["event_id"] == first["id"] and booked["seats"] == 2 and booked["client_id"] == 5001
        again = structured(await s.call("list_group_events", {"days": 14}))["items"][0]
        assert again["booked"] == first["booked"] + 2 and again["free"] == first["free"] - 2
        # Edit the booking through v1: the event stays, the comment changes.
        edited = structured(
            await s.call(
                "update_appointment", {"appointment_id": booked["appointment_id"], "comment": "mat 4"}
            )
        )
        assert edited["appointment"]["activity_id"] == first["id"]
        assert edited["appointment"]["comment"] == "mat 4"
        moved = structured(
            await s.call(
                "move_event_booking",
                {"appointment_id": booked["appointment_id"], "to_event_id": second["id"]},
            )
        )
        assert moved["event_id"] == second["id"] and moved["start"] == second["start"]
        got = structured(await s.call("get_appointment", {"appointment_id": booked["appointment_id"]}))
        assert got["appointment"]["activity_id"] == second["id"]
        assert got["appointment"]["start"] == second["start"]
        sent = v2_requests(s)
    methods = [(r.method, r.path.split("/")[-1]) for r in sent]
    assert ("POST", "appointments") in methods and ("PATCH", str(booked["appointment_id"])) in methods
    listing = next(r for r in sent if r.method == "GET" and r.path.endswith("/events"))
    assert listing.query["filter[from]"][0].startswith("2026-11-27 07:0")
    assert listing.query["filter[to]"] == ["2026-12-10 23:59:59"]


async def test_a_full_event_and_a_past_event_are_refused_before_anything_is_sent() -> None:
    async with sandbox_session() as s:
        event = structured(await s.call("list_group_events", {"days": 7}))["items"][0]
        full = await s.call(
            "book_group_event", {"event_id": event["id"], "client_id": 5001, "seats": event["free"] + 1}
        )
        assert full.is_error and f"{event['free']} free" in text_of(full)
        assert s.sandbox is not None
        past = next(
            e.activity_id
            for e in sorted(
                s.sandbox.state.schedule_events_by_id.values(), key=lambda e: e.start, reverse=True
            )
            if e.start < s.sandbox.now()
            and s.sandbox.state.schedules_by_id[e.schedule_id].location_id == 1001
        )
        refused = await s.call("book_group_event", {"event_id": past, "client_id": 5001})
        assert refused.is_error and "allow_past=true" in text_of(refused)
        assert v2_requests(s, "POST") == []


async def test_a_v2_request_without_the_v2_media_type_is_refused_by_the_sandbox() -> None:
    import httpx

    from altegio_mcp.sandbox import DEMO_PARTNER_TOKEN, DEMO_USER_TOKEN, SandboxConfig, create_sandbox
    from tests.harness import TODAY

    sandbox = create_sandbox(SandboxConfig(today=TODAY))
    auth = {"Authorization": f"Bearer {DEMO_PARTNER_TOKEN}, User {DEMO_USER_TOKEN}"}
    query = {"filter[from]": "2026-11-28 09:00:00", "filter[to]": "2026-11-29 09:00:00"}
    async with httpx.AsyncClient(
        transport=sandbox.transport(), base_url="http://sandbox.test/api/v2"
    ) as http:
        plain = await http.get(
            "/locations/1001/events", params=query, headers={**auth, "Accept": "application/json"}
        )
        v2 = await http.get(
            "/locations/1001/events", params=query, headers={**auth, "Accept": "application/vnd.api.v2+json"}
        )
        iso = await http.get(
            "/locations/1001/events",
            params={**query, "filter[from]": "2026-11-28T09:00:00"},
            headers={**auth, "Accept": "application/vnd.api.v2+json"},
        )
    assert plain.status_code == 400
    assert v2.status_code == 200 and all(item["type"] == "activity" for item in v2.json()["data"])
    assert iso.status_code == 422 and "YYYY-MM-DD HH:MM:SS" in iso.text


async def test_find_a_clients_recurring_series_with_the_ids_to_change_it() -> None:
    async with sandbox_session() as s:
        created = structured(
            await s.call(
                "create_recurring_appointments",
                {"schedule_id": 31, "client_id": 5002, "schedule_day_ids": [311]},
            )
        )
        found = structured(await s.call("find_client_series", {"client_id": 5002}))
        none = structured(await s.call("find_client_series", {"client_id": 5011}))
    (series,) = [i for i in found["items"] if i["client_schedule_id"] == created["client_schedule_id"]]
    assert series["schedule_id"] == 31
    assert len(series["appointment_ids"]) >= 1 and series["next_start"].endswith("-05:00")
    assert none["items"] == []


async def test_a_booking_with_every_extra_keeps_them_through_an_edit() -> None:
    """create_appointment sets tags, colour, reminders, break, custom fields, status and a price;
    a later comment-only update_appointment keeps every one of them (the sandbox replaces in full)."""
    extras = {
        "tags": [67345],
        "color": "#F44336",
        "sms_hours": 6,
        "email_hours": 24,
        "break_minutes": 10,
        "custom_fields": {"allergy": "latex"},
        "attendance": "confirmed",
    }
    async with sandbox_session() as s:
        created = structured(
            await s.call(
                "create_appointment",
                {
                    "team_member_id": 2101,
                    "service_ids": [{"id": 4101, "first_cost": 85, "discount": 20}],
                    "client_id": 5004,
                    "datetime": "2026-12-03T11:00:00",
                    "extras": extras,
                },
            )
        )["appointment"]
        assert s.sandbox is not None
        stored = s.sandbox.state.appointments_by_id[created["id"]]
        assert (stored.custom_color, stored.record_labels) == ("f44336", [67345])
        assert (stored.sms_remain_hours, stored.email_remain_hours) == (6, 24)
        assert stored.technical_break_duration == 600 and stored.length == 3600 + 600
        assert stored.custom_fields == {"allergy": "latex"} and stored.attendance == 2
        assert (stored.services[0].first_cost, stored.services[0].discount, stored.services[0].cost) == (
            85,
            20,
            68,
        )
        structured(
            await s.call("update_appointment", {"appointment_id": created["id"], "comment": "latex-free"})
        )
        after = s.sandbox.state.appointments_by_id[created["id"]]
    assert after.comment == "latex-free"
    assert (after.custom_color, after.record_labels, after.sms_remain_hours, after.email_remain_hours) == (
        "f44336",
        [67345],
        6,
        24,
    )
    assert after.technical_break_duration == 600 and after.length == 4200
    assert after.custom_fields == {"allergy": "latex"} and after.attendance == 2
    assert (after.services[0].first_cost, after.services[0].discount, after.services[0].cost) == (85, 20, 68)
    assert created["confirmed"] is True and created["tags"][0]["id"] == 67345
