"""`update_appointment` is a full replace (`PUT /record`): it sends back every writable field of the
appointment and changes only what the call names. Checked on the official GET-record example, on
generated records (hypothesis), and for group-event bookings; plus the "not in the past" rule of
every create and move."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.harness import Session, mock_session, sandbox_session, text_of
from tests.operations.upstream import FakeUpstream, envelope, structured

CONTRACT = Path(__file__).resolve().parent.parent / "sandbox" / "contract"
LOCATION = {"id": 4564, "title": "Business Example", "timezone_name": "America/New_York"}
NEW_YORK = ZoneInfo("America/New_York")
Upstream = partial(FakeUpstream, location=LOCATION)
NEW_CLIENT = {"id": 77, "name": "Zoe", "phone": "+13155550199", "email": "zoe@example.com"}


def official_record() -> dict[str, Any]:
    example = json.loads((CONTRACT / "record_get.json").read_text(encoding="utf-8"))["example"]
    record: dict[str, Any] = example["data"]
    return record


def expected_body(record: dict[str, Any]) -> dict[str, Any]:
    """The PUT body that keeps `record` as it is, written out field by field from the PUT schema."""
    client = record["client"]
    return {
        "activity_id": record["activity_id"],
        "staff_id": record["staff_id"],
        "services": [
            {k: line[k] for k in ("id", "first_cost", "discount", "cost", "amount")}
            for line in record["services"]
        ],
        "datetime": record["datetime"],
        "seance_length": record["seance_length"],
        "client": {k: client[k] for k in ("phone", "name", "email") if client[k]},
        "comment": record["comment"],
        "attendance": record["attendance"],
        "api_id": record["api_id"],
        "custom_color": record["custom_color"],
        "record_labels": [str(label["id"]) for label in record["record_labels"]],
        "sms_remain_hours": record["sms_remain_hours"],
        "email_remain_hours": record["email_remain_hours"],
        "technical_break_duration": record["technical_break_duration"],
        "custom_fields": record["custom_fields"] or {},
        "save_if_busy": False,
    }


def routes(record: dict[str, Any]) -> dict[str, Any]:
    one = f"/record/4564/{record['id']}"
    return {
        f"GET {one}": envelope(record),
        f"PUT {one}": httpx.Response(201, json=envelope(record)),
        f"GET /client/4564/{NEW_CLIENT['id']}": envelope(NEW_CLIENT),
    }


@pytest.mark.anyio
async def test_official_record_with_only_a_new_comment_keeps_every_field() -> None:
    record = official_record()
    upstream = Upstream(routes(record))
    async with mock_session(upstream, location_id=4564) as s:
        out = structured(await s.call("update_appointment", {"appointment_id": 2, "comment": "window seat"}))
    (body,) = upstream.bodies("PUT", "/record/4564/2")
    assert body == {**expected_body(record), "comment": "window seat"}
    # The fields the issue names, spelled out: nothing is lost.
    assert body["sms_remain_hours"] == 5 and body["email_remain_hours"] == 1
    assert body["technical_break_duration"] == 0 and body["custom_color"] == ""
    assert body["services"] == [{"id": 1, "first_cost": 100, "discount": 0, "cost": 100, "amount": 1}]
    assert out["changed"] == ["comment"]


# --- generated records -------------------------------------------------------------------------------

texts = st.text(alphabet="abcdefghij XYZ", min_size=1, max_size=12).map(str.strip).filter(bool)
money = st.integers(min_value=0, max_value=500).map(float)


@st.composite
def records(draw: st.DrawFn) -> dict[str, Any]:
    """An appointment as `GET /record` returns it, with every writable field set."""
    count = draw(st.integers(min_value=1, max_value=3))
    ids = draw(st.lists(st.integers(min_value=1, max_value=999), min_size=count, max_size=count, unique=True))
    services = []
    for sid in ids:
        first_cost, discount = draw(money), draw(st.integers(min_value=0, max_value=50))
        services.append(
            {
                "id": sid,
                "title": f"Service {sid}",
                "first_cost": first_cost,
                "discount": discount,
                "cost": round(first_cost * (100 - discount) / 100, 2),
                "amount": draw(st.integers(min_value=1, max_value=5)),
            }
        )
    start = datetime(2026, 2, 1, 9) + timedelta(minutes=15 * draw(st.integers(min_value=0, max_value=30_000)))
    brk = 300 * draw(st.integers(min_value=0, max_value=12))
    return {
        "id": draw(st.integers(min_value=1, max_value=10**6)),
        "company_id": 4564,
        "staff_id": draw(st.integers(min_value=1, max_value=500)),
        "staff": {"id": 1, "name": draw(texts)},
        "services": services,
        "client": {
            "id": draw(st.integers(min_value=1, max_value=10**6)),
            "name": draw(texts),
            "phone": "+1315555" + str(draw(st.integers(min_value=1000, max_value=9999))),
            "email": draw(texts).replace(" ", "") + "@example.com",
        },
        "datetime": start.replace(tzinfo=NEW_YORK).isoformat(timespec="seconds"),
        "seance_length": brk + 300 * draw(st.integers(min_value=1, max_value=24)),
        "comment": draw(texts),
        "attendance": draw(st.sampled_from([-1, 0, 1, 2])),
        "api_id": draw(texts).replace(" ", "-"),
        "custom_color": draw(st.sampled_from(["f44336", "009800", "3b2c54"])),
        "record_labels": [
            {"id": i, "title": f"tag {i}"}
            for i in draw(
                st.lists(st.integers(min_value=1, max_value=10**5), min_size=1, max_size=3, unique=True)
            )
        ],
        "sms_remain_hours": draw(st.integers(min_value=0, max_value=48)),
        "email_remain_hours": draw(st.integers(min_value=0, max_value=48)),
        "technical_break_duration": brk,
        "custom_fields": draw(st.dictionaries(st.sampled_from(["code_a", "code_b"]), texts, min_size=1)),
        "activity_id": 0,
    }


def one_change(record: dict[str, Any], which: str, value: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """A call changing one field, and the body expected: the record's with exactly that field changed."""
    body = expected_body(record)
    if which == "comment":
        return {"comment": f"new {value}"}, {**body, "comment": f"new {value}"}
    if which == "datetime":
        moved = datetime(2027, 3, 1, 10, tzinfo=UTC) + timedelta(hours=value)
        local = moved.astimezone(NEW_YORK).isoformat(timespec="seconds")
        return {"datetime": local}, {**body, "datetime": local}
    if which == "team_member_id":
        return {"team_member_id": 1000 + value}, {**body, "staff_id": 1000 + value}
    if which == "duration_minutes":
        minutes = 5 * (1 + value % 100)
        return {"duration_minutes": minutes}, {**body, "seance_length": minutes * 60}
    if which == "client_id":
        client = {k: NEW_CLIENT[k] for k in ("phone", "name", "email")}
        return {"client_id": NEW_CLIENT["id"]}, {**body, "client": client}
    if which == "price":
        services = copy.deepcopy(body["services"])
        services[0]["cost"] = float(value)
        choice: list[Any] = [{"id": services[0]["id"], "cost": value}] + [s["id"] for s in services[1:]]
        return {"service_ids": choice}, {**body, "services": services}
    extras = {
        "tags": ({"tags": [value + 1]}, {"record_labels": [str(value + 1)]}),
        "color": ({"color": "#ABCDEF"}, {"custom_color": "abcdef"}),
        "sms_hours": ({"sms_hours": value % 700}, {"sms_remain_hours": value % 700}),
        "email_hours": ({"email_hours": value % 700}, {"email_remain_hours": value % 700}),
        "custom_fields": ({"custom_fields": {"code_c": value}}, {"custom_fields": {"code_c": value}}),
    }
    if which == "break_minutes":
        minutes = 5 * (value % 13)
        # The length includes the break: the services keep their time, the length moves with the break.
        length = record["seance_length"] - record["technical_break_duration"] + minutes * 60
        return (
            {"extras": {"break_minutes": minutes}},
            {**body, "technical_break_duration": minutes * 60, "seance_length": length},
        )
    given_, sent = extras[which]
    return {"extras": given_}, {**body, **sent}


CHANGES = [
    "comment",
    "datetime",
    "team_member_id",
    "duration_minutes",
    "client_id",
    "price",
    "tags",
    "color",
    "sms_hours",
    "email_hours",
    "break_minutes",
    "custom_fields",
]


@pytest.fixture(scope="module")
def one_session() -> Iterator[tuple[BlockingPortal, Session, FakeUpstream]]:
    """One server for every generated example (starting a session per example is the slow part)."""
    upstream = Upstream({})
    with (
        start_blocking_portal() as portal,
        portal.wrap_async_context_manager(mock_session(upstream, location_id=4564)) as session,
    ):
        yield portal, session, upstream


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(record=records(), which=st.sampled_from(CHANGES), value=st.integers(min_value=0, max_value=5000))
def test_changing_one_field_sends_the_record_with_exactly_that_field_changed(
    one_session: tuple[BlockingPortal, Session, FakeUpstream], record: dict[str, Any], which: str, value: int
) -> None:
    portal, session, upstream = one_session
    upstream.routes.update(routes(record))
    upstream.requests.clear()
    arguments, expected = one_change(record, which, value)
    result = portal.call(session.call, "update_appointment", {"appointment_id": record["id"], **arguments})
    assert not result.is_error, text_of(result)
    (body,) = upstream.bodies("PUT", f"/record/4564/{record['id']}")
    assert body == expected


# --- group-event bookings ------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_a_group_event_booking_is_sent_back_with_its_event_and_never_moved_here() -> None:
    record = {**official_record(), "activity_id": 31, "sms_remain_hours": None}
    upstream = Upstream(routes(record))
    async with mock_session(upstream, location_id=4564) as s:
        structured(await s.call("update_appointment", {"appointment_id": 2, "comment": "front row"}))
        moved = await s.call("update_appointment", {"appointment_id": 2, "datetime": "2026-02-01T10:00:00"})
    (body,) = upstream.bodies("PUT", "/record/4564/2")
    assert body["activity_id"] == 31 and body["comment"] == "front row"
    assert not {"staff_id", "services", "datetime", "seance_length", "sms_remain_hours"} & body.keys()
    assert body["record_labels"] == [] and body["email_remain_hours"] == 1
    assert moved.is_error and "move_event_booking" in text_of(moved)
    assert len(upstream.sent("PUT")) == 1


# --- the past ----------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_a_past_start_is_refused_before_anything_is_sent_unless_allowed() -> None:
    """The sandbox clock stands at 2026-11-27 12:00 UTC, 07:00 in New York."""
    booking = {"team_member_id": 2101, "service_ids": [4101], "client_id": 5001}
    async with sandbox_session() as s:
        assert s.sandbox is not None
        before = s.sandbox.state.fingerprint()
        sent = len(s.sandbox.requests)
        refused = await s.call("create_appointment", {**booking, "datetime": "2026-11-26T19:00:00"})
        wrong_year = await s.call("create_appointment", {**booking, "datetime": "2025-11-28T10:00:00"})
        moved = await s.call(
            "update_appointment", {"appointment_id": 600002, "datetime": "2026-11-27T06:00:00"}
        )
        assert s.sandbox.state.fingerprint() == before
        writes = [r for r in list(s.sandbox.requests)[sent:] if r.method != "GET"]
        assert writes == []
        walk_in = structured(
            await s.call(
                "create_appointment",
                {**booking, "datetime": "2026-11-26T19:00:00", "allow_past": True, "save_if_busy": True},
            )
        )
    for result in (refused, wrong_year, moved):
        assert result.is_error
        assert "it is now 2026-11-27T07:" in text_of(result)
        assert "allow_past=true" in text_of(result)
    assert walk_in["appointment"]["start"] == "2026-11-26T19:00:00-05:00"


# --- reads a front desk needs ---------------------------------------------------------------------------


@pytest.mark.anyio
async def test_partner_items_are_placed_at_their_own_location_without_a_default() -> None:
    example = json.loads((CONTRACT / "records_partner.json").read_text(encoding="utf-8"))["example"]
    upstream = FakeUpstream({"GET /records/partner": example})
    async with mock_session(upstream, location_id=None) as s:
        out = structured(
            await s.call(
                "list_partner_appointments",
                {"start_date": "2026-11-01", "created_end_date": "2026-11-30", "user_id": 7},
            )
        )
    (item,) = out["items"]
    assert item["location_id"] == 1
    assert item["start"] == "2026-11-17T00:00:00-05:00"  # America/New_York, from company.timezone_name
    assert upstream.calls() == ["GET /records/partner"]  # no location lookup needed
    query = upstream.api("/records/partner").url.params
    assert query["start_date"] == "01.11.2026" and query["created_end_date"] == "30.11.2026"
    assert query["user_id"] == "7"


@pytest.mark.anyio
async def test_list_sends_the_created_changed_and_finance_filters_under_their_official_names() -> None:
    example = json.loads((CONTRACT / "records_list.json").read_text(encoding="utf-8"))["example"]
    example["data"][0]["finance_transactions"] = [{"id": 5, "amount": 100}]
    # The page's second example item (online, two tags), as the create page shows it.
    tags = [{"id": 67345, "title": "not important"}, {"id": 104474, "title": "important"}]
    example["data"].append({**example["data"][0], "id": 9, "online": True, "record_labels": tags})
    upstream = Upstream({"GET /records/4564": example})
    async with mock_session(upstream, location_id=4564) as s:
        out = structured(
            await s.call(
                "list_appointments",
                {
                    "filters": {
                        "created_from": "2026-01-01",
                        "created_to": "2026-01-31",
                        "changed_after": "2026-01-10T08:00:00-08:00",
                        "changed_before": "2026-01-20T18:00:00",
                        "created_by": 1073232,
                        "finance": True,
                        "consumables": True,
                    }
                },
            )
        )
    query = upstream.api("/records/4564").url.params
    assert query["c_start_date"] == "2026-01-01" and query["c_end_date"] == "2026-01-31"
    assert query["changed_after"] == "2026-01-10T11:00:00"  # in the location's own time
    assert query["changed_before"] == "2026-01-20T18:00:00"
    assert query["created_user_id"] == "1073232"
    assert query["include_finance_transactions"] == "1" and query["include_consumables"] == "1"
    first = out["items"][0]
    assert first["details"]["finance_transactions"] == [{"id": 5, "amount": 100}]
    assert first["confirmed"] is True and first["paid_full"] is False and first["prepaid"] is False
    assert first["created"] == "2026-01-16T20:35:11-05:00"
    assert first["client"]["email"]
    second = out["items"][1]
    assert second["tags"] == [{"id": 67345, "title": "not important"}, {"id": 104474, "title": "important"}]
    assert second["online"] is True


# --- checkout ----------------------------------------------------------------------------------------


def contract_example(name: str) -> dict[str, Any]:
    example: dict[str, Any] = json.loads((CONTRACT / f"{name}.json").read_text(encoding="utf-8"))["example"]
    return example


@pytest.mark.anyio
async def test_checkout_prices_keep_every_service_line_and_goods_are_sold() -> None:
    visit = contract_example("visit_get")
    visit["data"]["records"][0]["services"].append(
        {"id": 7, "title": "Wash", "cost": 20, "first_cost": 20, "discount": 0, "amount": 1}
    )
    upstream = Upstream({"GET /visits/700002": visit, "PUT /visits/700002/2": envelope(None)})
    prices = [{"id": 1, "discount": 10}]
    goods = [{"good_id": 5, "storage_id": 9, "amount": 2, "price": 15, "discount": 20, "team_member_id": 9}]
    async with mock_session(upstream, location_id=4564, confirm="never-ask", allow_unconfirmed=True) as s:
        out = structured(
            await s.call(
                "update_visit", {"visit_id": 700002, "appointment_id": 2, "prices": prices, "goods": goods}
            )
        )
    (body,) = upstream.bodies("PUT", "/visits/700002/2")
    assert body["services"] == [
        {
            "id": 1,
            "title": "Hair extension",
            "cost": 90.0,
            "cost_per_unit": 100,
            "discount": 10,
            "first_cost": 100,
            "record_id": 2,
        },
        {
            "id": 7,
            "title": "Wash",
            "cost": 20,
            "cost_per_unit": 20,
            "discount": 0,
            "first_cost": 20,
            "record_id": 2,
        },
    ]
    assert body["goods_transactions"] == [
        {
            "good_id": 5,
            "storage_id": 9,
            "amount": -2.0,
            "cost_per_unit": 15.0,
            "price": 15.0,
            "cost": 24.0,
            "discount": 20.0,
            "operation_unit_type": 1,
            "master_id": 9,
        }
    ]
    assert sorted(out["changed"]) == ["goods", "prices"]


@pytest.mark.anyio
async def test_visit_details_count_loyalty_withdrawals_as_paid_but_not_discounts_or_accruals() -> None:
    details = contract_example("visit_details")
    details["data"]["loyalty_transactions"] = [
        {
            "id": 1,
            "amount": 5,
            "is_discount": False,
            "is_loyalty_withdraw": True,
            "type": {"id": 2, "title": "x"},
        },
        {"id": 2, "amount": 3, "is_discount": True, "is_loyalty_withdraw": False},
        {"id": 3, "amount": 0.5, "is_discount": False, "is_loyalty_withdraw": False},  # cashback accrued
    ]
    upstream = Upstream({"GET /visit/details/4564/13136569/700002": details})
    async with mock_session(upstream, location_id=4564) as s:
        out = structured(await s.call("get_visit_details", {"appointment_id": 13136569, "visit_id": 700002}))
    payments = sum(p["amount"] for p in details["data"]["payment_transactions"])
    assert out["paid"] == payments + 5
    assert out["loyalty_paid"] == 5
    assert out["remaining"] == round(out["due"] - out["paid"], 2)


# --- recurring series results ---------------------------------------------------------------------------


@pytest.mark.anyio
async def test_series_results_keep_failed_occurrences_appointment_ids_and_the_membership(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from altegio_mcp.operations import recurring
    from tests.operations.test_recurring import CREATE, NOW, FakeAltegio

    monkeypatch.setattr(recurring, "utc_now", lambda: NOW)
    fake = FakeAltegio()
    fake.series[501] = [11, 12]
    answer = fake.client_schedule(501)
    answer["loyalty_abonement_id"] = 5
    monday = answer["days"][0]["events"]
    monday[2]["event_status"] = "entity_failed"
    fake.create_answer = answer
    async with mock_session(fake) as s:
        out = structured(await s.call("create_recurring_appointments", CREATE))
        text = text_of(await s.call("create_recurring_appointments", CREATE))
    assert out["loyalty_abonement_id"] == 5
    day = out["days"][0]
    assert day["failed"] == [
        {
            "start": monday[2]["event_datetime"],
            "status": "entity_failed",
            "entity_id": monday[2]["event_entity_id"],
        }
    ]
    # The future occurrences that were booked name their appointments; the failed one does not.
    assert monday[2]["event_entity_id"] not in day["appointment_ids"]
    assert monday[3]["event_entity_id"] in day["appointment_ids"]
    assert "not booked" in text and "membership 5" in text
