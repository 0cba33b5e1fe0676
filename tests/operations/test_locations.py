"""whoami, list_locations and get_location through a real MCP session (mock upstream and sandbox)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import partial
from typing import Any

import httpx
import pytest

from altegio_mcp.sandbox import DUBAI_LOCATION_ID, NEW_YORK_LOCATION_ID
from tests import harness
from tests.conftest import CANARY_PARTNER, CANARY_USER
from tests.harness import mock_session, sandbox_session, text_of
from tests.operations.upstream import NOT_FOUND_BARE, FakeUpstream, envelope, structured

pytestmark = pytest.mark.anyio

# `GET /companies` example from the official page (doc 62293306748).
COMPANIES_EXAMPLE: list[dict[str, Any]] = [
    {
        "id": 1050,
        "title": "La Visage",
        "public_title": "La Visage Beauty",
        "short_descr": "Beauty saloon",
        "logo": "https://app.alteg.io/images/no-master.png",
        "active": 1,
        "phone": "+13155550175",
        "phones": ["+13155550175"],
        "email": "info@lavisage.com",
        "country_id": 7,
        "schedule": "",
        "country": "United States",
        "city_id": 181,
        "city": "New York",
        "timezone": -5,
        "timezone_name": "America/New_York",
        "address": "New York, 787 Jackson Drive",
        "coordinate_lat": 40.73061,
        "coordinate_lon": -73.935242,
        "phone_confirmation": True,
        "active_staff_count": 2,
        "next_slot": "2026-03-23T10:10:00-05:00",
        "app_ios": "",
        "app_android": "",
        "currency_short_title": "$",
        "reminds_sms_disabled": False,
        "reminds_sms_default": 1,
        "group_priority": 900,
        "bookform_group_priority": 0,
        "description": "<p>Welcome to La Visage</p>",
        "photos": [],
        "booking_widget_promo": None,
    }
]

# `GET /company/{location_id}` example from the official page (doc 61995462454).
COMPANY_EXAMPLE: dict[str, Any] = {
    "id": 37532,
    "title": "James Smith LLC",
    "country_id": 7,
    "country": "United States",
    "city_id": 181,
    "city": "New York",
    "timezone_name": "America/New_York",
    "address": "New York, 787 Jackson Drive",
    "zip": "11435",
    "coordinate_lat": 40.73061,
    "coordinate_lon": -73.935242,
    "short_descr": "Beauty studio",
    "social": {"facebook": "", "instagram": "instagram.com/james_smith_company/", "telegram": ""},
    "site": "james-smith-company.com",
    "business_type_id": 1,
    "description": "The <strong>James Smith</strong> location",
    "phone_confirmation": True,
    "active_staff_count": 2,
    "next_slot": "2026-03-23T10:10:00-05:00",
    "group_priority": 900,
    "push_notification_phone_confirm": 1,
    "main_group_id": 9206,
    "main_group": {"id": 9206, "title": "James Smith LLC main location chain"},
    "bookforms": [{"id": 19203, "title": "Form", "is_default": 0, "url": "https://n19203.alteg.io/"}],
    "online_sales_form_url": "https://o1.alteg.io",
    "payment_policy": {"type": "deposit"},
    "access": {},
}

WINTER = datetime(2026, 11, 27, 12, tzinfo=UTC)
SUMMER = datetime(2026, 7, 1, 12, tzinfo=UTC)


Upstream = partial(FakeUpstream, not_found=NOT_FOUND_BARE)


@pytest.fixture(autouse=True)
def _winter(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pin the wall clock the "UTC offset now" is read from."""
    monkeypatch.setattr(harness, "MOCK_NOW", WINTER)


# --- whoami -----------------------------------------------------------------------------------------


async def test_whoami_lists_managed_locations_and_never_a_token() -> None:
    upstream = Upstream({"GET /companies": envelope(COMPANIES_EXAMPLE)})
    async with mock_session(upstream) as s:
        result = await s.call("whoami")
        # The zone was remembered: reading comments of that location needs no `GET /company/1050`.
        upstream.routes["GET /clients/1050/clients/7/comments"] = envelope([])
        assert not (await s.call("list_client_comments", {"location_id": 1050, "client_id": 7})).is_error
    data = structured(result)
    assert data["user"] == "local user"
    assert data["has_user_token"] is True
    assert data["default_location_id"] == 1
    assert data["locations"] == [
        {
            "id": 1050,
            "title": "La Visage",
            "city": "New York",
            "address": "New York, 787 Jackson Drive",
            "phone": "+13155550175",
            "timezone": "America/New_York",
            "utc_offset": "-05:00",
            "now": "2026-11-27T07:00:00-05:00",
            "currency": "$",
        }
    ]
    # The default location (1) is not listed, so "now" is the first location's.
    assert data["now"] == "2026-11-27T07:00:00-05:00"
    assert "Now there: Fri 2026-11-27 07:00 (-05:00)." in text_of(result)
    assert upstream.requests[0].url.params["my"] == "1"
    assert "GET /company/1050" not in upstream.calls()
    everything = text_of(result) + json.dumps(data)
    assert CANARY_USER not in everything and CANARY_PARTNER not in everything
    assert "La Visage" in text_of(result) and "UTC-05:00" in text_of(result)


async def test_whoami_without_user_token_still_answers() -> None:
    upstream = Upstream({})
    async with mock_session(upstream, user_token=None) as s:
        result = await s.call("whoami")
    data = structured(result)
    assert data["has_user_token"] is False
    assert data["locations"] == []
    assert any("altegio-mcp login" in note for note in data["notes"])
    assert "altegio-mcp login" in text_of(result)
    assert upstream.requests == []


async def test_whoami_with_refused_token_says_to_log_in() -> None:
    refused = httpx.Response(
        401, json={"success": False, "data": None, "meta": {"message": "Authentication needed."}}
    )
    async with mock_session(Upstream({"GET /companies": refused})) as s:
        result = await s.call("whoami")
    data = structured(result)
    assert "401" in data["notes"][0] and "altegio-mcp login" in data["notes"][0]
    assert CANARY_USER not in text_of(result)


# --- list_locations ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("clock", "offset"), [(WINTER, "-05:00"), (SUMMER, "-04:00")], ids=["winter", "summer"]
)
async def test_list_locations_documented_example(
    monkeypatch: pytest.MonkeyPatch, clock: datetime, offset: str
) -> None:
    monkeypatch.setattr(harness, "MOCK_NOW", clock)
    upstream = Upstream({"GET /companies": envelope(COMPANIES_EXAMPLE)})
    async with mock_session(upstream) as s:
        result = await s.call("list_locations", {"count": 1})
    data = structured(result)
    item = data["items"][0]
    assert (item["id"], item["timezone"], item["utc_offset"], item["currency"]) == (
        1050,
        "America/New_York",
        offset,
        "$",
    )
    assert data["meta"] == {"page": 1, "count": 1, "next_page": 2}
    assert "More: call again with page=2" in text_of(result)
    params = upstream.requests[0].url.params
    assert (params["my"], params["page"], params["count"]) == ("1", "1", "1")
    assert "active" not in params
    assert "User " in upstream.requests[0].headers["authorization"]


async def test_list_locations_all_uses_the_partner_token_only() -> None:
    upstream = Upstream({"GET /companies": envelope(COMPANIES_EXAMPLE)})
    async with mock_session(upstream) as s:
        data = structured(await s.call("list_locations", {"my": False, "active": True, "detail": True}))
    request = upstream.requests[0]
    assert "my" not in request.url.params and request.url.params["active"] == "1"
    assert "User " not in request.headers["authorization"]
    assert data["items"][0]["details"]["public_title"] == "La Visage Beauty"


async def test_list_locations_without_zone_falls_back_to_the_numeric_offset() -> None:
    item = {"id": 5, "title": "No zone", "timezone": 5.5}
    upstream = Upstream({"GET /companies": envelope([item])})
    async with mock_session(upstream) as s:
        data = structured(await s.call("list_locations"))
    assert data["items"][0]["utc_offset"] == "+05:30"
    assert "timezone" not in data["items"][0]


@pytest.mark.parametrize("args", [{"count": 0}, {"count": 201}, {"page": 0}, {"mine": True}])
async def test_list_locations_bad_arguments_send_nothing(args: dict[str, Any]) -> None:
    upstream = Upstream({})
    async with mock_session(upstream) as s:
        result = await s.call("list_locations", args)
    assert result.is_error
    assert next(iter(args)) in text_of(result)
    assert upstream.requests == []


# --- get_location -----------------------------------------------------------------------------------


async def test_get_location_documented_example_is_partner_only() -> None:
    upstream = Upstream({"GET /company/37532": envelope(COMPANY_EXAMPLE)})
    async with mock_session(upstream) as s:
        result = await s.call("get_location", {"location_id": 37532, "detail": True})
    data = structured(result)
    loc = data["location"]
    assert (loc["id"], loc["title"], loc["timezone"], loc["utc_offset"]) == (
        37532,
        "James Smith LLC",
        "America/New_York",
        "-05:00",
    )
    assert "currency" not in loc
    assert loc["details"]["payment_policy"] == {"type": "deposit"}
    assert any("opening hours" in n for n in data["notes"])
    assert "User " not in upstream.requests[0].headers["authorization"]
    assert "America/New_York (UTC-05:00)" in text_of(result)


async def test_get_location_uses_the_default_location() -> None:
    upstream = Upstream({"GET /company/1": envelope({**COMPANY_EXAMPLE, "id": 1})})
    async with mock_session(upstream) as s:
        assert structured(await s.call("get_location"))["location"]["id"] == 1


async def test_get_location_unknown_id_names_it_and_the_list_tool() -> None:
    # `GET /company/{id}` documents its own error shape: `errors{code, message}` beside `meta.message`.
    missing = httpx.Response(
        404, json={"errors": {"code": 404, "message": "Not found"}, "meta": {"message": "Not found"}}
    )
    async with mock_session(Upstream({"GET /company/999": missing})) as s:
        result = await s.call("get_location", {"location_id": 999})
    assert result.is_error
    assert "No location 999" in text_of(result) and "list_locations" in text_of(result)


async def test_get_location_accepts_the_legacy_argument_name() -> None:
    upstream = Upstream({"GET /company/37532": envelope(COMPANY_EXAMPLE)})
    async with mock_session(upstream) as s:
        assert structured(await s.call("get_location", {"company_id": 37532}))["location"]["id"] == 37532


# --- against the sandbox ------------------------------------------------------------------------------


async def test_sandbox_whoami_and_locations() -> None:
    async with sandbox_session() as s:
        who = structured(await s.call("whoami"))
        listed = structured(await s.call("list_locations"))
        dubai = structured(await s.call("get_location", {"location_id": DUBAI_LOCATION_ID}))
    ids = [loc["id"] for loc in who["locations"]]
    assert NEW_YORK_LOCATION_ID in ids and DUBAI_LOCATION_ID in ids
    assert [loc["id"] for loc in listed["items"]] == ids
    by_id = {loc["id"]: loc for loc in who["locations"]}
    assert by_id[NEW_YORK_LOCATION_ID]["timezone"] == "America/New_York"
    assert by_id[NEW_YORK_LOCATION_ID]["utc_offset"] == "-05:00"
    assert by_id[DUBAI_LOCATION_ID]["currency"] == "AED"
    assert dubai["location"]["timezone"] == "Asia/Dubai"
    assert dubai["location"]["utc_offset"] == "+04:00"
