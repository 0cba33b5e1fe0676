"""State tests: appointments, recurring series, visits, clients and reviews change the state as the
API documents, and availability follows the bookings."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from altegio_mcp.sandbox import Sandbox

NY = 1001
OLIVIA, MARCUS, SOFIA = 2101, 2102, 2103
HAIRCUT = 4101


def booking(when: str, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "staff_id": OLIVIA,
        "services": [{"id": HAIRCUT, "first_cost": 85, "discount": 0, "cost": 85}],
        "client": {"phone": "+1 (646) 555-0142", "name": "Robin Park", "email": "robin@example.com"},
        "datetime": when,
        "seance_length": 3600,
    }
    body.update(extra)
    return body


def error_fields(response: httpx.Response) -> set[str]:
    return {item["field"] for item in response.json()["meta"]["errors"]}


@pytest.mark.anyio
async def test_appointment_lifecycle(client: httpx.AsyncClient, sandbox: Sandbox) -> None:
    created = await client.post(
        f"/records/{NY}", json=booking("2026-11-27T14:00:00-05:00", api_id="ext-lifecycle")
    )
    assert created.status_code == 201, created.text
    [appointment] = created.json()["data"]
    record_id = appointment["id"]
    assert appointment["datetime"] == "2026-11-27T14:00:00-05:00"
    assert appointment["api_id"] == "ext-lifecycle"
    stored = sandbox.state.appointment(record_id)
    assert stored is not None and stored.client_id is not None
    new_client = sandbox.state.client(stored.client_id)
    assert new_client is not None and new_client.phone == "+16465550142"

    fetched = (await client.get(f"/record/{NY}/{record_id}")).json()["data"]
    assert fetched["client"]["name"] == "Robin Park"
    assert fetched["visit_id"] == stored.visit_id

    replaced = await client.put(
        f"/record/{NY}/{record_id}", json=booking("2026-11-27T15:00:00-05:00", comment="Moved one hour later")
    )
    assert replaced.status_code == 201, replaced.text
    data = replaced.json()["data"]
    assert (data["datetime"], data["comment"], data["api_id"]) == (
        "2026-11-27T15:00:00-05:00",
        "Moved one hour later",
        "ext-lifecycle",
    )
    assert data["staff"]["spec"] == "Senior stylist"

    incomplete = booking("2026-11-27T15:00:00-05:00")
    del incomplete["seance_length"], incomplete["client"]
    rejected = await client.put(f"/record/{NY}/{record_id}", json=incomplete)
    assert rejected.status_code == 422
    assert error_fields(rejected) == {"seance_length", "client"}

    listed = await client.get(
        f"/records/{NY}", params={"start_date": "2026-11-27", "end_date": "2026-11-27", "staff_id": OLIVIA}
    )
    ids = [item["id"] for item in listed.json()["data"]]
    assert record_id in ids and 600001 in ids
    assert listed.json()["meta"] == {"page": 1, "total_count": len(ids)}

    deleted = await client.delete(f"/record/{NY}/{record_id}")
    assert (deleted.status_code, deleted.content) == (204, b"")
    assert (await client.get(f"/record/{NY}/{record_id}")).status_code == 404
    after = await client.get(f"/records/{NY}", params={"start_date": "2026-11-27", "end_date": "2026-11-27"})
    assert record_id not in [item["id"] for item in after.json()["data"]]
    with_deleted = await client.get(
        f"/records/{NY}", params={"start_date": "2026-11-27", "end_date": "2026-11-27", "with_deleted": 1}
    )
    assert [item["deleted"] for item in with_deleted.json()["data"] if item["id"] == record_id] == [True]


@pytest.mark.anyio
async def test_busy_and_off_hours_slots_are_refused_unless_save_if_busy(client: httpx.AsyncClient) -> None:
    busy = await client.post(f"/records/{NY}", json=booking("2026-11-27T10:30:00-05:00"))
    assert busy.status_code == 422
    assert busy.json()["meta"]["message"] == "The team member is busy at the selected time."
    assert error_fields(busy) == {"datetime"}
    late = await client.post(f"/records/{NY}", json=booking("2026-11-27T16:30:00-05:00"))
    assert late.json()["meta"]["message"] == "The selected time is outside the team member's working hours."
    saturday = await client.post(f"/records/{NY}", json=booking("2026-11-28T10:00:00-05:00"))
    assert saturday.status_code == 422
    forced = await client.post(f"/records/{NY}", json=booking("2026-11-27T10:30:00-05:00", save_if_busy=True))
    assert forced.status_code == 201


@pytest.mark.anyio
@pytest.mark.parametrize(
    "sent",
    ["2026-11-27T19:00:00Z", "2026-11-27T23:00:00+04:00", "2026-11-27T14:00:00"],
)
async def test_input_datetimes_are_read_in_the_location_zone(client: httpx.AsyncClient, sent: str) -> None:
    created = await client.post(f"/records/{NY}", json=booking(sent))
    assert created.json()["data"][0]["datetime"] == "2026-11-27T14:00:00-05:00"


@pytest.mark.anyio
async def test_create_names_every_missing_field_and_accepts_aliases(client: httpx.AsyncClient) -> None:
    empty = await client.post(f"/records/{NY}", json={})
    assert empty.status_code == 422
    assert error_fields(empty) == {"staff_id", "services", "client", "datetime", "seance_length"}
    body = booking("2026-11-27T14:00:00-05:00")
    body["team_member_id"] = body.pop("staff_id")
    assert (await client.post(f"/records/{NY}", json=body)).status_code == 201
    bad_phone = booking("2026-11-27T15:00:00-05:00", client={"phone": "12345", "name": "X"})
    assert error_fields(await client.post(f"/records/{NY}", json=bad_phone)) == {"client.phone"}


@pytest.mark.anyio
async def test_booking_reuses_the_client_with_that_phone(client: httpx.AsyncClient, sandbox: Sandbox) -> None:
    before = len(sandbox.state.clients(NY))
    body = booking("2026-11-27T14:00:00-05:00", client={"phone": "+12125550001", "name": "Someone Else"})
    created = (await client.post(f"/records/{NY}", json=body)).json()["data"][0]
    assert created["client"]["id"] == 5001
    assert len(sandbox.state.clients(NY)) == before


@pytest.mark.anyio
async def test_recurring_series_create_patch_delete(client: httpx.AsyncClient, sandbox: Sandbox) -> None:
    state = sandbox.state
    base = f"/company/{NY}/schedules/31/client_schedules"
    created = await client.post(base, json={"client_id": 5010, "schedule_days_ids": [311, 312, 313]})
    assert created.status_code == 201, created.text
    series = created.json()["data"]
    series_id = series["id"]
    assert [day["id"] for day in series["days"]] == [311, 312, 313]
    future = state.appointments_of_series(series_id)
    assert future and all(a.start > sandbox.now() and a.activity_id and a.client_id == 5010 for a in future)
    event_ids = {e["event_entity_id"] for day in series["days"] for e in day["events"]}
    assert event_ids == {a.id for a in future}
    listed = await client.get(f"/records/{NY}", params={"client_id": 5010, "start_date": "2026-11-27"})
    assert {a.id for a in future} <= {item["id"] for item in listed.json()["data"]}

    patched = await client.patch(f"{base}/{series_id}", json={"schedule_days_ids": [311]})
    assert patched.status_code == 200
    remaining = state.appointments_of_series(series_id)
    assert remaining and len(remaining) < len(future)
    assert {state.schedule_events_by_id[a.schedule_event_id or 0].day_id for a in remaining} == {311}

    widened = await client.patch(f"{base}/{series_id}", json={"schedule_days_ids": [311, 313]})
    assert len(state.appointments_of_series(series_id)) > len(remaining)
    assert [day["id"] for day in widened.json()["data"]["days"]] == [311, 313]

    deleted = await client.delete(f"{base}/{series_id}")
    assert deleted.status_code == 204
    assert state.appointments_of_series(series_id) == []
    assert state.client_schedule(series_id) is None


@pytest.mark.anyio
async def test_deleting_the_seeded_series_keeps_past_appointments(
    client: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    state, now = sandbox.state, sandbox.now()
    past = [a.id for a in state.appointments_of_series(4401) if a.start < now]
    future = [a.id for a in state.appointments_of_series(4401) if a.start > now]
    assert past and future
    assert {state.appointments_by_id[i].attendance for i in past} <= {1, -1}
    response = await client.delete(f"/company/{NY}/schedules/31/client_schedules/4401")
    assert response.status_code == 204
    assert [a.id for a in state.appointments_of_series(4401)] == past
    assert all(state.appointments_by_id[i].deleted for i in future)


@pytest.mark.anyio
async def test_series_validation(client: httpx.AsyncClient) -> None:
    base = f"/company/{NY}/schedules/31/client_schedules"
    assert (await client.post(base, json={"client_id": 5010, "schedule_days_ids": [321]})).status_code == 422
    assert (await client.post(base, json={"client_id": 5010, "schedule_days_ids": []})).status_code == 422
    assert (await client.post(base, json={"schedule_days_ids": [311]})).status_code == 422
    assert (await client.patch(f"{base}/4402", json={"schedule_days_ids": [311]})).status_code == 404
    missing = {"client_id": 5010, "schedule_days_ids": [311]}
    assert (
        await client.post(f"/company/{NY}/schedules/99/client_schedules", json=missing)
    ).status_code == 404


@pytest.mark.anyio
async def test_schedule_lookups(client: httpx.AsyncClient, sandbox: Sandbox) -> None:
    series_appointment = sandbox.state.appointments_of_series(4401)[0]
    found = await client.get(
        f"/company/{NY}/schedules/search/record/{series_appointment.id}",
        params={"include[]": ["days", "days.events_master"]},
    )
    schedule = found.json()["data"]
    assert schedule["id"] == 31
    assert [d["day_of_week"] for d in schedule["days"]] == ["mon", "wed", "sat"]
    assert schedule["days"][0]["events_master"]["id"] == SOFIA
    events = (await client.get(f"/company/{NY}/schedules/31/days/311/events")).json()
    assert events["meta"]["count"] == len(events["data"]) > 0
    assert all(e["event_datetime"].endswith("-05:00") for e in events["data"])
    missing = await client.get(f"/company/{NY}/schedules/search/record/600001")
    assert missing.status_code == 404


@pytest.mark.anyio
async def test_group_event_booking_by_activity_id(client: httpx.AsyncClient, sandbox: Sandbox) -> None:
    event = next(e for e in sandbox.state.schedule_events(313) if e.start > sandbox.now())
    body = {"activity_id": event.activity_id, "client": {"phone": "+12125550010", "name": "Ethan Brooks"}}
    created = await client.post(f"/records/{NY}", json=body)
    assert created.status_code == 201, created.text
    data = created.json()["data"][0]
    assert (data["activity_id"], data["staff_id"], data["seance_length"]) == (event.activity_id, SOFIA, 5400)


@pytest.mark.anyio
async def test_edit_visit_payments_and_status(client: httpx.AsyncClient, sandbox: Sandbox) -> None:
    details = (await client.get(f"/visit/details/{NY}/600003/700003")).json()["data"]
    assert [p["amount"] for p in details["payment_transactions"]] == [20]
    paid = await client.put(
        "/visits/700003/600003", json={"attendance": 1, "comment": "Settled", "fast_payment": 130}
    )
    assert paid.status_code == 200
    details = (await client.get(f"/visit/details/{NY}/600003/700003")).json()["data"]
    assert sum(p["amount"] for p in details["payment_transactions"]) == 45
    assert details["kkm_transaction_details_container"]["last_operation_type"] == 1
    record = (await client.get(f"/record/{NY}/600003")).json()["data"]
    assert (record["paid_full"], record["payment_status"]) == (1, "paid_full")

    first = details["payment_transactions"][0]["id"]
    edited = await client.put(
        "/visits/700003/600003",
        json={
            "attendance": -1,
            "comment": "Refunded and re-paid by card",
            "deleted_transaction_ids": [first],
            "new_transactions": [{"id": 0, "amount": 5, "account_id": 81002}],
        },
    )
    assert edited.json()["data"]["attendance"] == -1
    visit = sandbox.state.visit(700003)
    assert visit is not None and first not in [p.id for p in visit.payments]
    assert sandbox.state.appointments_by_id[600003].attendance == -1
    missing = await client.put("/visits/700003/600003", json={"new_transactions": []})
    assert {e["field"] for e in missing.json()["meta"]["errors"]} == {"attendance", "comment"}
    wrong_pair = await client.put("/visits/700003/600001", json={"attendance": 1, "comment": ""})
    assert wrong_pair.status_code == 404


@pytest.mark.anyio
async def test_visit_service_edit_changes_the_line(client: httpx.AsyncClient) -> None:
    body = {
        "attendance": 1,
        "comment": "",
        "services": [{"id": 4102, "first_cost": 45, "discount": 20, "record_id": 600003}],
    }
    assert (await client.put("/visits/700003/600003", json=body)).status_code == 200
    line = (await client.get(f"/record/{NY}/600003")).json()["data"]["services"][0]
    assert (line["discount"], line["cost"]) == (20, 36)


@pytest.mark.anyio
async def test_client_create_update_search(client: httpx.AsyncClient) -> None:
    created = await client.post(
        f"/clients/{NY}", json={"name": "Ana", "surname": "Lima", "phone": "+1 917 555 0188"}
    )
    assert created.status_code == 201
    client_id = created.json()["data"]["id"]
    duplicate = await client.post(f"/clients/{NY}", json={"name": "Other", "phone": "19175550188"})
    assert duplicate.json()["meta"]["errors"] == [
        {
            "field": "phone",
            "message": "The client with the specified phone number already exists in the database",
        }
    ]
    short = await client.post(f"/clients/{NY}", json={"name": "Short", "phone": "1234"})
    assert short.json()["meta"]["errors"][0]["message"] == "Phone must contain 9 to 15 digits"
    assert error_fields(await client.put(f"/client/{NY}/{client_id}", json={"phone": "+19175550188"})) == {
        "name"
    }
    updated = await client.put(
        f"/client/{NY}/{client_id}",
        json={"name": "Ana Maria", "phone": "+19175550188", "email": "ana@example.com", "labels": [3]},
    )
    assert updated.json()["data"]["email"] == "ana@example.com"
    assert updated.json()["data"]["categories"][0]["id"] == 3

    search = {
        "page": 1,
        "page_size": 5,
        "fields": ["id", "name", "email"],
        "filters": [{"type": "quick_search", "state": {"value": "ana m"}}],
    }
    found = (await client.post(f"/company/{NY}/clients/search", json=search)).json()
    assert found["data"] == [{"id": client_id, "name": "Ana Maria Lima", "email": "ana@example.com"}]
    by_id = {
        "filters": [{"type": "id", "state": {"value": [5001, 5002, 5003]}}],
        "order_by": "id",
        "order_by_direction": "DESC",
    }
    listed = (await client.post(f"/company/{NY}/clients/search", json=by_id)).json()
    assert [c["id"] for c in listed["data"]] == [5003, 5002, 5001]
    assert listed["meta"] == {"total_count": 3}
    bad_filter = await client.post(
        f"/company/{NY}/clients/search", json={"filters": [{"type": "zodiac", "state": {"value": 1}}]}
    )
    assert bad_filter.status_code == 400
    assert bad_filter.json()["meta"]["errors"] == {"filters": ["Invalid filter state value"]}


@pytest.mark.anyio
async def test_client_comments_and_history(client: httpx.AsyncClient) -> None:
    added = await client.post(f"/clients/{NY}/clients/5002/comments", json={"text": "Prefers Olivia."})
    assert added.status_code == 201
    listed = (await client.get(f"/clients/{NY}/clients/5002/comments")).json()
    assert listed["data"][0]["text"] == "Prefers Olivia." and listed["meta"]["count"] == len(listed["data"])
    assert (await client.post(f"/clients/{NY}/clients/5002/comments", json={})).status_code == 422
    history = await client.post(
        f"/company/{NY}/clients/visits/search",
        json={
            "client_id": None,
            "client_phone": "+12125550002",
            "from": None,
            "to": None,
            "payment_statuses": ["paid_full"],
            "attendance": 1,
        },
    )
    records = history.json()["data"]["records"]
    assert 600002 in [r["id"] for r in records]
    assert all(r["attendance"] == 1 for r in records)


@pytest.mark.anyio
async def test_reviews_filters_and_posting(client: httpx.AsyncClient) -> None:
    posted = await client.post(
        f"/comments/{NY}/{MARCUS}", json={"mark": 2, "text": "Late start.", "name": "Robin"}
    )
    assert posted.status_code == 201
    assert posted.json()["data"]["rating"] == 2
    filtered = (await client.get(f"/comments/{NY}", params={"team_member_id": MARCUS, "rating": 2})).json()[
        "data"
    ]
    assert filtered and all(r["master_id"] == MARCUS and r["rating"] == 2 for r in filtered)
    by_alias = (await client.get(f"/comments/{NY}", params={"staff_id": MARCUS})).json()["data"]
    assert {r["master_id"] for r in by_alias} == {MARCUS}
    dated = (
        await client.get(f"/comments/{NY}", params={"start_date": "2026-11-20", "end_date": "2026-11-26"})
    ).json()["data"]
    assert all("2026-11-20" <= r["date"][:10] <= "2026-11-26" for r in dated)
    assert (
        await client.post(f"/comments/{NY}/{MARCUS}", json={"mark": 9, "text": "", "name": "x"})
    ).status_code == 422


@pytest.mark.anyio
async def test_booked_slots_leave_book_times_and_seances(client: httpx.AsyncClient) -> None:
    times = (
        await client.get(f"/book_times/{NY}/{MARCUS}/2026-11-27", params={"service_ids[]": 4103})
    ).json()["data"]
    slot = times[0]
    assert slot["seance_length"] == slot["sum_length"] == 2700
    body = booking(
        slot["datetime"], staff_id=MARCUS, services=[{"id": 4103}], seance_length=slot["seance_length"]
    )
    assert (await client.post(f"/records/{NY}", json=body)).status_code == 201
    after = (
        await client.get(f"/book_times/{NY}/{MARCUS}/2026-11-27", params={"service_ids[]": 4103})
    ).json()["data"]
    assert slot["datetime"] not in [s["datetime"] for s in after]
    cells = (await client.get(f"/timetable/seances/{NY}/{MARCUS}/2026-11-27")).json()["data"]
    assert [c["is_free"] for c in cells if c["time"] == slot["time"]] == [False]
