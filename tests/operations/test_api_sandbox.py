"""The `api` toolset against the embedded sandbox: catalog-shaped reads, 501s, and a scripted run."""

from __future__ import annotations

from typing import Any

import pytest

from altegio_mcp import catalog
from tests.harness import Session, sandbox_session, text_of

pytestmark = pytest.mark.anyio

# Seeded sandbox ids: team member 2101, clients 5001-5003 (seed_data.py); products 7001-7003 and
# storages 7201-7202 (sandbox/catalog_reads.py).
PERIOD = {"date_from": "2026-11-01", "date_to": "2026-11-27"}

# (search query, tag, operation, path, query): one scripted step per operation.
SCRIPT: list[tuple[str, str, str, dict[str, Any], dict[str, Any]]] = [
    ("list products", "Products", "GET /goods/{location_id}", {}, {}),
    ("product by id", "Products", "GET /goods/{location_id}/{product_id}", {"product_id": 7002}, {}),
    ("search products", "Products", "GET /goods/search/{location_id}", {}, {"term": "oil"}),
    ("storages", "Inventory", "GET /storages/{location_id}", {}, {}),
    ("stock movements", "Inventory", "GET /storages/transactions/{location_id}", {}, {}),
    ("bill of materials", "Inventory", "GET /technological_cards/{location_id}", {}, {}),
    ("sale receipt", "Sales", "GET /company/{location_id}/sale/{document_id}", {"document_id": 1}, {}),
    ("accounts", "Payments", "GET /accounts/{location_id}", {}, {}),
    ("transactions", "Payments", "GET /transactions/{location_id}", {}, {}),
    (
        "client loyalty cards",
        "Loyalty Cards",
        "GET /loyalty/client_cards/{client_id}",
        {"client_id": 5001},
        {},
    ),
    ("card types", "Loyalty Cards", "GET /loyalty/card_types/salon/{location_id}", {}, {}),
    (
        "salary period",
        "Salary",
        "GET /company/{location_id}/salary/period/staff/{team_member_id}",
        {"team_member_id": 2101},
        PERIOD,
    ),
    (
        "salary schemes",
        "Salary",
        "GET /company/{location_id}/salary/staff/{team_member_id}/salary_schemes",
        {"team_member_id": 2101},
        {},
    ),
    ("key metrics", "Analytics & Reports", "GET /company/{location_id}/analytics/overall", {}, PERIOD),
    ("z report", "Analytics & Reports", "GET /reports/z_report/{location_id}", {}, {}),
    (
        "client deposits",
        "Deposits",
        "GET /deposits/company/{location_id}/client/{client_id}",
        {"client_id": 5001},
        {},
    ),
    (
        "membership types",
        "Subscriptions & Certificates",
        "GET /company/{location_id}/loyalty/abonement_types/search",
        {},
        {},
    ),
    (
        "gift card types",
        "Subscriptions & Certificates",
        "GET /company/{location_id}/loyalty/certificate_types/search",
        {},
        {},
    ),
    ("location users", "Users & Permissions", "GET /company/{location_id}/users", {}, {}),
    (
        "online booking settings",
        "Online Booking Settings",
        "GET /company/{location_id}/settings/online",
        {},
        {},
    ),
    ("subscription license", "Utilities", "GET /license/{location_id}", {}, {}),
    ("chains", "Chain Management", "GET /groups", {}, {}),
    ("products v2", "Products (v2)", "v2 GET /locations/{location_id}/products", {}, {}),
]


async def _run(
    s: Session, query: str, tag: str, operation: str, path: dict[str, Any], params: dict[str, Any]
) -> Any:
    found = await s.call("search_api_operations", {"query": query, "tag": tag})
    assert found.structured_content is not None, text_of(found)
    ids = [item["operation"] for item in found.structured_content["items"]]
    assert operation in ids, (query, ids)
    described = await s.call("describe_api_operation", {"operation": operation})
    assert described.structured_content is not None and described.structured_content["callable"]
    called = await s.call("call_api_operation", {"operation": operation, "path": path, "query": params})
    assert not called.is_error, (operation, text_of(called))
    return called.structured_content


async def test_a_scripted_run_reaches_twenty_operations_across_ten_tags() -> None:
    reached: set[str] = set()
    tags: set[str] = set()
    async with sandbox_session(toolsets=["api"]) as s:
        for query, tag, operation, path, params in SCRIPT:
            out = await _run(s, query, tag, operation, path, params)
            assert out["status"] == 200
            reached.add(operation)
            tags.add(tag)
    assert len(reached) >= 20 and len(tags) >= 10, (len(reached), len(tags))


@pytest.mark.parametrize(
    ("operation", "path", "params"),
    [
        ("GET /goods/{location_id}", {}, {}),
        ("GET /storages/{location_id}", {}, {}),
        ("GET /company/{location_id}/sale/{document_id}", {"document_id": 1}, {}),
        ("GET /loyalty/client_cards/{client_id}", {"client_id": 5001}, {}),
        ("GET /company/{location_id}/salary/period/staff/{team_member_id}", {"team_member_id": 2101}, PERIOD),
    ],
)
async def test_emulated_reads_answer_exactly_the_catalog_fields(
    operation: str, path: dict[str, Any], params: dict[str, Any]
) -> None:
    op = catalog.find(operation)
    assert op is not None
    async with sandbox_session(toolsets=["api"]) as s:
        result = await s.call("call_api_operation", {"operation": operation, "path": path, "query": params})
    assert not result.is_error, text_of(result)
    assert result.structured_content is not None
    data = result.structured_content["data"]
    records = data if isinstance(data, list) else [data]
    assert records and isinstance(data, list) == op.response_list
    for record in records:
        assert set(record) <= set(op.response_data)
        assert len(record) >= len(op.response_data) // 2  # nulls are dropped; most fields hold values


async def test_products_are_consistent_between_list_and_get() -> None:
    async with sandbox_session(toolsets=["api"]) as s:
        listed = await s.call("call_api_operation", {"operation": "GET /goods/{location_id}"})
        one = await s.call(
            "call_api_operation",
            {"operation": "GET /goods/{location_id}/{product_id}", "path": {"product_id": 7003}},
        )
        missing = await s.call(
            "call_api_operation",
            {"operation": "GET /goods/{location_id}/{product_id}", "path": {"product_id": 9}},
        )
    assert listed.structured_content is not None and one.structured_content is not None
    titles = {p["good_id"]: p["title"] for p in listed.structured_content["data"]}
    assert one.structured_content["data"]["title"] == titles[7003]
    assert missing.is_error and "404" in text_of(missing)


async def test_an_operation_the_sandbox_does_not_emulate_is_a_501_naming_it() -> None:
    async with sandbox_session(toolsets=["api"]) as s:
        assert s.sandbox is not None
        before = s.sandbox.state.fingerprint()
        result = await s.call(
            "call_api_operation",
            {
                "operation": "POST /goods_categories/{location_id}",
                "body": {"title": "Oils", "parent_category_id": 0},
            },
        )
        assert s.sandbox.state.fingerprint() == before
    assert result.is_error
    text = text_of(result)
    assert "501" in text and "POST /goods_categories/{location_id}" in text


async def test_an_uncatalogued_path_stays_a_404() -> None:
    import httpx

    from altegio_mcp.sandbox import DEMO_PARTNER_TOKEN, DEMO_USER_TOKEN, SandboxConfig, create_sandbox

    sandbox = create_sandbox(SandboxConfig())
    auth = f"Bearer {DEMO_PARTNER_TOKEN}, User {DEMO_USER_TOKEN}"
    async with httpx.AsyncClient(transport=sandbox.transport(), base_url="http://sandbox") as http:
        unknown = await http.get("/api/v1/no/such/thing", headers={"Authorization": auth})
        catalogued = await http.delete("/api/v1/goods/1001/7001", headers={"Authorization": auth})
    assert unknown.status_code == 404
    assert catalogued.status_code == 501 and "DELETE /goods/{location_id}/{product_id}" in catalogued.text
