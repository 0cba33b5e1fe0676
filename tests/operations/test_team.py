"""list_team_members and get_team_member through a real MCP session."""

from __future__ import annotations

from functools import partial
from typing import Any

import pytest

from altegio_mcp.sandbox import LONDON_LOCATION_ID
from tests.harness import mock_session, sandbox_session, text_of
from tests.operations.upstream import FakeUpstream, envelope, structured

pytestmark = pytest.mark.anyio

# `GET /staff/{location_id}` example from the official page (doc 62261431429).
STAFF_EXAMPLE: dict[str, Any] = {
    "id": 2940951,
    "api_id": None,
    "name": "John Smith",
    "specialization": "Hair Stylist",
    "rating": 4.8,
    "show_rating": 1,
    "user_id": None,
    "has_access_timetable": False,
    "avatar": "https://be.cdn.alteg.io/images/no-master-sm.png",
    "avatar_big": "https://be.cdn.alteg.io/images/no-master.png",
    "comments_count": 15,
    "votes_count": 20,
    "bookable": True,
    "image_group": [],
    "information": "Senior stylist with 10 years experience",
    "position_id": 1,
    "schedule_till": "2026-12-31",
    "weight": 100,
    "fired": 0,
    "status": 0,
    "hidden": 0,
    "user": [],
    "prepaid": "forbidden",
    "position": {"id": 1, "title": "Senior Stylist"},
}

# The bundle's older example (`GET /staff/{location_id}/{id}`, ~800k): flags and weight as strings,
# `position` as `[]`.
STRING_FLAGS_EXAMPLE: dict[str, Any] = {
    "id": 34006,
    "api_id": "42",
    "name": "Denis",
    "specialization": "the hairdresser",
    "position": [],
    "show_rating": 0,
    "rating": 0,
    "votes_count": 0,
    "user_id": 12345,
    "comments_count": 0,
    "weight": "9",
    "information": "<span><span>&nbsp;</span></span>",
    "hidden": "0",
    "fired": "0",
    "status": "0",
    "image_group": [],
}

# `GET /company/{location_id}/staff/{team_member_id}` (doc 62423332442): the page's object form.
COMPANY_STAFF_EXAMPLE: dict[str, Any] = {
    "id": 1001539,
    "name": "team member 1",
    "company_id": 176275,
    "specialization": "team member",
    "position": {"id": 1, "title": "Administrator"},
    "avatar": "https://app.alteg.io/images/no-master-sm.png",
    "avatar_big": "https://app.alteg.io/images/no-master.png",
    "fired": 0,
    "status": 0,
    "hidden": 0,
    "user_id": 12345,
    "is_paid_staff": False,
    "is_included_in_payment_policy": True,
}

NOT_LISTED = {
    "success": False,
    "meta": {
        "message": "Possible error messages",
        "errors": [{"message": "Team Member with ID 5 was not found in branch 1."}],
    },
}


Upstream = partial(FakeUpstream, not_found=NOT_LISTED)


def roster() -> list[dict[str, Any]]:
    """The documented member, the string-flag example, and one each fired, removed and hidden, with
    the flags in the different spellings Altegio uses."""
    return [
        STAFF_EXAMPLE,
        STRING_FLAGS_EXAMPLE,
        {**STAFF_EXAMPLE, "id": 3, "name": "Fired", "fired": 1},
        {**STAFF_EXAMPLE, "id": 4, "name": "Removed", "status": "1"},
        {**STAFF_EXAMPLE, "id": 5, "name": "Hidden", "hidden": True, "bookable": False},
    ]


# --- list_team_members ----------------------------------------------------------------------------------


async def test_list_team_members_leaves_out_unavailable_ones() -> None:
    upstream = Upstream({"GET /staff/1": envelope(roster())})
    async with mock_session(upstream) as s:
        result = await s.call("list_team_members")
    data = structured(result)
    assert data["items"] == [
        {
            "id": 2940951,
            "name": "John Smith",
            "specialization": "Hair Stylist",
            "position": "Senior Stylist",
            "bookable": True,
        },
        {"id": 34006, "name": "Denis", "specialization": "the hairdresser"},
    ]
    assert "3 fired, removed or hidden" in data["notes"][0]
    text = text_of(result)
    assert "#2940951 John Smith · Hair Stylist (Senior Stylist) · bookable online" in text
    assert "include_unavailable=true" in text


async def test_list_team_members_include_unavailable_shows_flags() -> None:
    upstream = Upstream({"GET /staff/1": envelope(roster())})
    async with mock_session(upstream) as s:
        result = await s.call("list_team_members", {"include_unavailable": True, "detail": True})
    items = {m["id"]: m for m in structured(result)["items"]}
    assert items[3]["fired"] is True and "removed" not in items[3]
    assert items[4]["removed"] is True
    assert items[5]["hidden"] is True and items[5]["bookable"] is False
    assert items[34006]["details"]["weight"] == "9"
    assert "hidden" in text_of(result) and "fired" in text_of(result)


async def test_list_team_members_bad_location_sends_nothing() -> None:
    upstream = Upstream({})
    async with mock_session(upstream) as s:
        result = await s.call("list_team_members", {"location_id": 0})
    assert result.is_error and "location_id" in text_of(result)
    assert upstream.requests == []


# --- get_team_member -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "meta"),
    [(COMPANY_STAFF_EXAMPLE, []), ([COMPANY_STAFF_EXAMPLE], {"total_count": 1})],
    ids=["page-object", "bundle-one-item-array"],
)
async def test_get_team_member_reads_both_documented_shapes(data: Any, meta: Any) -> None:
    upstream = Upstream({"GET /company/1/staff/1001539": envelope(data, meta)})
    async with mock_session(upstream) as s:
        result = await s.call("get_team_member", {"team_member_id": 1001539})
    assert structured(result)["team_member"] == {
        "id": 1001539,
        "name": "team member 1",
        "specialization": "team member",
        "position": "Administrator",
    }
    assert "#1001539 team member 1 · team member (Administrator)" in text_of(result)


async def test_get_team_member_unknown_id_names_it_and_the_list_tool() -> None:
    async with mock_session(Upstream({})) as s:
        result = await s.call("get_team_member", {"team_member_id": 5})
    assert result.is_error
    assert "No team member 5 at location 1: call list_team_members" in text_of(result)


async def test_get_team_member_accepts_the_legacy_staff_id() -> None:
    upstream = Upstream({"GET /company/1/staff/1001539": envelope(COMPANY_STAFF_EXAMPLE)})
    async with mock_session(upstream) as s:
        result = await s.call("get_team_member", {"staff_id": 1001539})
    assert structured(result)["team_member"]["id"] == 1001539


async def test_get_team_member_bad_id_sends_nothing() -> None:
    upstream = Upstream({})
    async with mock_session(upstream) as s:
        result = await s.call("get_team_member", {"team_member_id": "abc"})
    assert result.is_error and "team_member_id" in text_of(result)
    assert upstream.requests == []


# --- against the sandbox ----------------------------------------------------------------------------------


async def test_sandbox_team() -> None:
    async with sandbox_session() as s:
        visible = structured(await s.call("list_team_members", {"location_id": LONDON_LOCATION_ID}))
        everyone = structured(
            await s.call(
                "list_team_members", {"location_id": LONDON_LOCATION_ID, "include_unavailable": True}
            )
        )
        one = structured(
            await s.call("get_team_member", {"location_id": LONDON_LOCATION_ID, "team_member_id": 2303})
        )
        missing = await s.call("get_team_member", {"team_member_id": 2303})
    assert [m["id"] for m in visible["items"]] == [2301, 2302]
    assert [m["id"] for m in everyone["items"]] == [2301, 2302, 2303]
    assert one["team_member"]["hidden"] is True
    assert missing.is_error and "No team member 2303" in text_of(missing)
