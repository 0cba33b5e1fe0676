"""list_services, get_service and list_service_categories through a real MCP session."""

from __future__ import annotations

import copy
from functools import partial
from typing import Any

import pytest

from altegio_mcp.sandbox import NEW_YORK_LOCATION_ID
from tests.harness import mock_session, sandbox_session, text_of
from tests.operations.upstream import FakeUpstream, envelope, structured

pytestmark = pytest.mark.anyio

# `GET /services/{location_id}` example from the official page (doc 62230164558).
SERVICES_EXAMPLE: list[dict[str, Any]] = [
    {
        "id": 10279685,
        "salon_service_id": 11486182,
        "title": "Service name",
        "booking_title": "Service name",
        "category_id": 10279684,
        "price_min": 0,
        "price_max": 0,
        "duration": 3600,
        "discount": 0,
        "comment": "",
        "weight": 1,
        "active": 1,
        "api_id": "",
    }
]

# `GET /company/{location_id}/services/{service_id}` example from the bundle (~776k): an array with
# `meta.total_count`, although the operation reads one service; `api_id` is a number in one item.
COMPANY_SERVICES_EXAMPLE: list[dict[str, Any]] = [
    {
        "id": 79067,
        "title": "shaving head",
        "category_id": 4,
        "price_min": 1000,
        "price_max": 1000,
        "discount": 0,
        "comment": "",
        "weight": 2,
        "active": 1,
        "api_id": "",
        "staff": [],
    },
    {
        "id": 83169,
        "title": "Men's haircut",
        "category_id": 83167,
        "price_min": 1300,
        "price_max": 1300,
        "discount": 0,
        "comment": "",
        "weight": 6,
        "active": 1,
        "api_id": 42,
        "staff": [
            {"id": 5905, "seance_length": 2700},
            {"id": 5907, "seance_length": 3600},
            {"id": 8973, "seance_length": 3600},
        ],
        "image_group": {"id": 72234, "entity": "settings_service", "entity_id": 389927, "images": {}},
    },
]

# The deprecated twin `GET /services/{location_id}/{service_id}` (doc 62107269963): one object.
SERVICE_OBJECT_EXAMPLE: dict[str, Any] = {
    "id": 83169,
    "salon_service_id": 433222,
    "title": "Men's haircut",
    "category_id": 83167,
    "price_min": 1300,
    "price_max": 1300,
    "discount": 0,
    "comment": "",
    "weight": 6,
    "active": 1,
    "api_id": "00000000042",
    "staff": [{"id": 5905, "seance_length": 2700}, {"id": 5907, "seance_length": 3600}],
    "duration": 3600,
    "is_online": True,
}

# `GET /company/{location_id}/service_categories/{id}` example (doc 62287299419).
CATEGORIES_EXAMPLE: list[dict[str, Any]] = [
    {
        "id": 345,
        "salon_service_id": 353,
        "title": "Haircuts for men",
        "api_id": "adw322",
        "weight": 10,
        "staff": [5006, 8901, 26514, 26516, 26519, 26520],
    },
    {
        "id": 3456,
        "salon_service_id": 3252,
        "title": "Haircuts for women",
        "api_id": "adw323",
        "weight": 9,
        "staff": [5006, 8901],
    },
]

LISTED_404 = {
    "success": False,
    "meta": {"message": "Possible error messages", "errors": [{"message": "Service not found."}]},
}


Upstream = partial(FakeUpstream, not_found=LISTED_404)


# --- list_services ------------------------------------------------------------------------------------


async def test_list_services_documented_example_and_filters() -> None:
    upstream = Upstream({"GET /services/1": envelope(SERVICES_EXAMPLE)})
    async with mock_session(upstream) as s:
        result = await s.call("list_services", {"team_member_id": 5905, "category_id": 10279684})
    data = structured(result)
    assert data["location_id"] == 1
    assert data["items"] == [
        {
            "id": 10279685,
            "title": "Service name",
            "category_id": 10279684,
            "price_min": 0,
            "price_max": 0,
            "duration_minutes": 60,
            "bookable_online": True,
        }
    ]
    params = upstream.requests[0].url.params
    assert (params["staff_id"], params["category_id"]) == ("5905", "10279684")
    assert "#10279685 Service name · 60 min · price 0" in text_of(result)


async def test_list_services_accepts_the_legacy_staff_id_and_adds_detail() -> None:
    services = copy.deepcopy(SERVICES_EXAMPLE)
    services[0].update({"active": 0, "price_min": 120, "price_max": 140, "title": "Colour"})
    upstream = Upstream({"GET /services/7": envelope(services)})
    async with mock_session(upstream) as s:
        result = await s.call("list_services", {"company_id": 7, "staff_id": 12, "detail": True})
    item = structured(result)["items"][0]
    assert item["bookable_online"] is False
    assert item["details"]["salon_service_id"] == 11486182
    assert upstream.requests[0].url.params["staff_id"] == "12"
    assert "price 120–140" in text_of(result) and "not bookable online" in text_of(result)


async def test_list_services_bad_category_sends_nothing() -> None:
    upstream = Upstream({})
    async with mock_session(upstream) as s:
        result = await s.call("list_services", {"category_id": 0})
    assert result.is_error and "category_id" in text_of(result)
    assert upstream.requests == []


# --- get_service ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "meta"),
    [(COMPANY_SERVICES_EXAMPLE, {"total_count": 2}), (SERVICE_OBJECT_EXAMPLE, [])],
    ids=["bundle-array", "page-object"],
)
async def test_get_service_reads_both_documented_shapes(data: Any, meta: Any) -> None:
    upstream = Upstream({"GET /company/1/services/83169": envelope(data, meta)})
    async with mock_session(upstream) as s:
        result = await s.call("get_service", {"service_id": 83169})
    service = structured(result)["service"]
    assert (service["id"], service["title"], service["price_min"]) == (83169, "Men's haircut", 1300)
    assert service["team_members"][:2] == [
        {"team_member_id": 5905, "duration_minutes": 45},
        {"team_member_id": 5907, "duration_minutes": 60},
    ]
    assert "5905: 45" in text_of(result)


async def test_get_service_nobody_provides_it() -> None:
    upstream = Upstream({"GET /company/1/services/79067": envelope(COMPANY_SERVICES_EXAMPLE[:1])})
    async with mock_session(upstream) as s:
        result = await s.call("get_service", {"service_id": 79067})
    assert structured(result)["service"]["team_members"] == []
    assert "No team member provides it." in text_of(result)


async def test_get_service_unknown_id_names_it_and_the_list_tool() -> None:
    async with mock_session(Upstream({})) as s:
        result = await s.call("get_service", {"service_id": 999})
    assert result.is_error
    assert "No service 999 at location 1: call list_services" in text_of(result)


async def test_get_service_answer_without_that_service_is_a_not_found() -> None:
    upstream = Upstream({"GET /company/1/services/5": envelope(COMPANY_SERVICES_EXAMPLE)})
    async with mock_session(upstream) as s:
        result = await s.call("get_service", {"service_id": 5})
    assert result.is_error and "No service 5" in text_of(result)


async def test_get_service_bad_id_sends_nothing() -> None:
    upstream = Upstream({})
    async with mock_session(upstream) as s:
        result = await s.call("get_service", {"service_id": -3})
    assert result.is_error and "service_id" in text_of(result)
    assert upstream.requests == []


# --- list_service_categories ------------------------------------------------------------------------------


async def test_list_service_categories_all_then_one() -> None:
    upstream = Upstream(
        {
            "GET /company/1/service_categories": envelope(CATEGORIES_EXAMPLE, {"total_count": 2}),
            "GET /company/1/service_categories/345": envelope(CATEGORIES_EXAMPLE[:1]),
        }
    )
    async with mock_session(upstream) as s:
        every = await s.call("list_service_categories", {"team_member_id": 5006})
        one = structured(await s.call("list_service_categories", {"category_id": 345}))
    items = structured(every)["items"]
    assert items[1] == {"id": 3456, "title": "Haircuts for women", "team_member_ids": [5006, 8901]}
    assert [c["id"] for c in one["items"]] == [345]
    assert upstream.requests[0].url.params["staff_id"] == "5006"
    assert "#345 Haircuts for men · 6 team members" in text_of(every)


async def test_list_service_categories_unknown_category() -> None:
    async with mock_session(Upstream({})) as s:
        result = await s.call("list_service_categories", {"category_id": 9})
    assert result.is_error
    assert "No service category 9 at location 1: call list_service_categories" in text_of(result)


# --- against the sandbox ---------------------------------------------------------------------------------


async def test_sandbox_catalog() -> None:
    async with sandbox_session() as s:
        nails = structured(await s.call("list_services", {"team_member_id": 2104}))
        balayage = structured(await s.call("get_service", {"service_id": 4105}))
        categories = structured(
            await s.call("list_service_categories", {"location_id": NEW_YORK_LOCATION_ID})
        )
        missing = await s.call("get_service", {"service_id": 999999})
    assert [item["id"] for item in nails["items"]] == [4106, 4107]
    assert balayage["service"]["duration_minutes"] == 180
    lengths = {t["team_member_id"]: t["duration_minutes"] for t in balayage["service"]["team_members"]}
    assert lengths == {2101: 180, 2103: 150}
    assert [c["title"] for c in categories["items"]][:3] == ["Haircuts", "Coloring", "Nails"]
    assert missing.is_error and "list_services" in text_of(missing)
