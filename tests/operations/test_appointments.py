"""Appointment tools through a real MCP session: documented payloads, validation, busy slots, merge-on-edit."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest

from altegio_mcp.operations.records import WireAppointment
from tests.harness import mock_session, sandbox_session, text_of
from tests.operations.upstream import FakeUpstream, structured

pytestmark = pytest.mark.anyio

CONTRACT = Path(__file__).resolve().parent.parent / "sandbox" / "contract"
LOCATION = {"id": 4564, "title": "Business Example", "timezone_name": "America/New_York"}


def documented(name: str) -> dict[str, Any]:
    """The documented example response kept as a contract fixture (official page + bundle)."""
    example: dict[str, Any] = json.loads((CONTRACT / f"{name}.json").read_text(encoding="utf-8"))["example"]
    return example


Upstream = partial(FakeUpstream, location=LOCATION)


async def test_list_parses_the_documented_example() -> None:
    upstream = Upstream({"GET /records/4564": documented("records_list")})
    async with mock_session(upstream, location_id=4564) as s:
        out = structured(await s.call("list_appointments", {"start_date": "2026-01-16", "count": 1}))
        text = text_of(await s.call("list_appointments", {"count": 1}))
    item = out["items"][0]
    assert item["id"] == 2
    assert item["start"].endswith("-05:00")
    assert item["client"]["phone"] == "+13155550175"
    assert item["team_member"]["name"] == "Alex Taylor"
    assert item["services"][0]["title"] == "Hair extension"
    assert out["meta"]["total"] == 10
    assert out["meta"]["next_page"] == 2
    assert "page=2" in text
    query = upstream.sent("GET")[-2].url.params
    assert query["start_date"] == "2026-01-16"
    assert query["count"] == "1"


async def test_list_keeps_the_undeclared_fields_only_when_it_shows_them() -> None:
    """A compact listing reads only the declared fields; `detail` and the finance/consumables
    filters still get every field Altegio sent (read with the extras kept)."""
    upstream = Upstream({"GET /records/4564": documented("records_list")})
    async with mock_session(upstream, location_id=4564) as s:
        compact = structured(await s.call("list_appointments", {"count": 1}))["items"][0]
        full = structured(await s.call("list_appointments", {"count": 1, "detail": True}))["items"][0]
        finance = structured(
            await s.call("list_appointments", {"count": 1, "filters": {"finance": True, "consumables": True}})
        )["items"][0]
    sent = documented("records_list")["data"][0]
    assert "details" not in compact
    undeclared = {k for k, v in sent.items() if v is not None} - set(WireAppointment.model_fields)
    assert len(undeclared) > 20
    assert set(full["details"]) >= undeclared
    assert full["details"]["goods_transactions"] == sent["goods_transactions"]
    assert finance["details"] == {
        "finance_transactions": sent["finance_transactions"],
        "consumables": sent["consumables"],
    }
    assert {k: v for k, v in full.items() if k != "details"} == compact


async def test_get_with_detail_returns_every_field() -> None:
    upstream = Upstream({"GET /record/4564/2": documented("record_get")})
    async with mock_session(upstream, location_id=4564) as s:
        compact = structured(await s.call("get_appointment", {"appointment_id": 2}))["appointment"]
        full = structured(await s.call("get_appointment", {"appointment_id": 2, "detail": True}))[
            "appointment"
        ]
    assert "details" not in compact
    assert full["details"]["id"] == compact["id"]
    assert len(json.dumps(full)) > len(json.dumps(compact))


async def test_partner_list_parses_the_documented_example() -> None:
    upstream = Upstream({"GET /records/partner": documented("records_partner")})
    async with mock_session(upstream, location_id=4564) as s:
        out = structured(await s.call("list_partner_appointments", {"count": 10}))
        full = structured(await s.call("list_partner_appointments", {"count": 10, "detail": True}))
    assert out["items"]
    # The compact list reads only the declared fields; `detail` still gets every one Altegio sent.
    sent = documented("records_partner")["data"][0]
    undeclared = {k for k, v in sent.items() if v is not None} - set(WireAppointment.model_fields)
    assert undeclared and set(full["items"][0]["details"]) >= undeclared
    assert "details" not in out["items"][0]
    assert all(item["start"][-6] in "+-" for item in out["items"] if item.get("start"))
    partner = [r for r in upstream.sent("GET") if r.url.path.endswith("/records/partner")]
    assert partner[0].url.params["editable_length"] == "10"


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"team_member_id": 9, "service_ids": [1], "datetime": "2026-12-01T10:00:00"}, "client_id"),
        (
            {"team_member_id": 9, "service_ids": [], "datetime": "2026-12-01T10:00:00", "client_id": 1},
            "service_ids",
        ),
        ({"team_member_id": 9, "service_ids": [1], "datetime": "tomorrow", "client_id": 1}, "datetime"),
        (
            {"team_member_id": 0, "service_ids": [1], "datetime": "2026-12-01T10:00:00", "client_id": 1},
            "team_member_id",
        ),
        (
            {"team_member_id": 9, "service_ids": [1], "datetime": "2026-03-08T02:30:00", "client_id": 1},
            "datetime",
        ),
        (
            {
                "team_member_id": 9,
                "service_ids": [1],
                "datetime": "2026-12-01T10:00",
                "client_name": "A",
                "client_phone": "12",
            },
            "client_phone",
        ),
    ],
)
async def test_bad_bookings_are_refused_before_any_write(arguments: dict[str, Any], field: str) -> None:
    upstream = Upstream(
        {"GET /client/4564/1": {"success": True, "data": {"id": 1, "name": "A", "phone": "+1"}}}
    )
    async with mock_session(upstream, location_id=4564) as s:
        result = await s.call("create_appointment", arguments)
    assert result.is_error
    assert f"`{field}`" in text_of(result)
    assert upstream.sent("POST") == []


async def test_a_service_the_team_member_does_not_do_is_refused_before_posting() -> None:
    async with sandbox_session() as s:
        assert s.sandbox is not None
        result = await s.call(
            "create_appointment",
            {
                "team_member_id": 2104,
                "service_ids": [4101],
                "client_id": 5001,
                "datetime": "2026-12-01T10:00:00",
            },
        )
        assert result.is_error
        text = text_of(result)
        assert "service_ids" in text
        assert "list_services" in text
        assert s.sandbox.requests.find(method="POST") == []


async def test_naive_time_is_read_in_the_location_zone_and_said_so() -> None:
    async with sandbox_session() as s:
        out = structured(
            await s.call(
                "create_appointment",
                {
                    "team_member_id": 2101,
                    "service_ids": [4101],
                    "client_id": 5002,
                    "datetime": "2026-11-27T14:00",
                },
            )
        )
    assert out["appointment"]["start"] == "2026-11-27T14:00:00-05:00"
    assert any("America/New_York" in note for note in out["notes"])


async def test_busy_slot_is_refused_with_the_nearest_free_times() -> None:
    busy = {
        "team_member_id": 2101,
        "service_ids": [4101],
        "client_id": 5002,
        "datetime": "2026-11-27T10:00:00-05:00",
    }
    async with sandbox_session() as s:
        assert s.sandbox is not None
        before = len(s.sandbox.state.appointments(1001))
        refused = await s.call("create_appointment", busy)
        assert refused.is_error
        text = text_of(refused)
        assert "Nearest free times" in text
        assert "2026-11-27T11:00:00-05:00" in text
        assert "nothing was saved" in text
        assert len(s.sandbox.state.appointments(1001)) == before
        forced = structured(await s.call("create_appointment", {**busy, "save_if_busy": True}))
        assert forced["appointment"]["start"] == busy["datetime"]


async def test_new_client_by_name_and_phone() -> None:
    async with sandbox_session() as s:
        out = structured(
            await s.call(
                "create_appointment",
                {
                    "team_member_id": 2101,
                    "service_ids": [4101],
                    "client_name": "Zoë Newcomer",
                    "client_phone": "+12125550777",
                    "datetime": "2026-11-27T15:00:00-05:00",
                },
            )
        )
    assert out["appointment"]["client"]["name"] == "Zoë Newcomer"


async def test_update_sends_the_full_record_and_keeps_what_was_not_passed() -> None:
    original = documented("record_get")["data"]
    original = original[0] if isinstance(original, list) else original
    updated = {**original, "datetime": "2026-01-17T11:00:00-05:00"}
    upstream = Upstream(
        {
            f"GET /record/4564/{original['id']}": {"success": True, "data": original, "meta": []},
            f"PUT /record/4564/{original['id']}": httpx.Response(
                201, json={"success": True, "data": updated, "meta": []}
            ),
        }
    )
    async with mock_session(upstream, location_id=4564) as s:
        out = structured(
            await s.call(
                "update_appointment", {"appointment_id": original["id"], "datetime": "2026-01-17T11:00:00"}
            )
        )
        nothing = await s.call("update_appointment", {"appointment_id": original["id"]})
    body = json.loads(upstream.sent("PUT")[0].content)
    assert body["datetime"] == "2026-01-17T11:00:00-05:00"
    assert body["staff_id"] == original["staff_id"]
    assert [line["id"] for line in body["services"]] == [line["id"] for line in original["services"]]
    assert body["client"]["phone"] == original["client"]["phone"]
    assert body["seance_length"] == original["seance_length"]
    assert body["comment"] == (original.get("comment") or "")
    assert out["changed"] == ["datetime"]
    assert nothing.is_error
    assert "nothing to change" in text_of(nothing)
    assert len(upstream.sent("PUT")) == 1


async def test_moving_onto_a_busy_slot_is_refused_and_changes_nothing() -> None:
    async with sandbox_session() as s:
        assert s.sandbox is not None
        before = s.sandbox.state.fingerprint()
        result = await s.call(
            "update_appointment", {"appointment_id": 600002, "datetime": "2026-11-27T10:00:00-05:00"}
        )
        assert result.is_error
        assert "Nearest free times" in text_of(result)
        assert s.sandbox.state.fingerprint() == before


async def test_unknown_appointment_names_the_id_and_the_list_tool() -> None:
    async with sandbox_session() as s:
        result = await s.call("get_appointment", {"appointment_id": 999999})
    assert result.is_error
    assert "No appointment 999999 at location 1001: call list_appointments" in text_of(result)


async def test_a_user_operation_without_a_user_token_says_to_log_in() -> None:
    async with sandbox_session(user_token=None) as s:
        result = await s.call("list_appointments", {})
    assert result.is_error
    assert "altegio-mcp login" in text_of(result)
