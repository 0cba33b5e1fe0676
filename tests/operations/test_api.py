"""The `api` toolset through a real MCP client: search, describe, and policed dynamic calls."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from altegio_mcp.audit import audited_writes, read_audit
from altegio_mcp.sandbox import NEW_YORK_LOCATION_ID
from tests.harness import awaits_confirmation, mock_session, sandbox_session, text_of

pytestmark = pytest.mark.anyio


def _never(_request: httpx.Request) -> httpx.Response:
    pytest.fail("no HTTP expected")


async def test_the_api_toolset_is_opt_in_and_part_of_all() -> None:
    async with mock_session(_never, toolsets=["default"]) as s:
        names = {t.name for t in (await s.client.list_tools()).tools}
    assert not names & {"search_api_operations", "describe_api_operation", "call_api_operation"}
    async with mock_session(_never, toolsets=["api"]) as s:
        names = {t.name for t in (await s.client.list_tools()).tools}
    assert names == {"search_api_operations", "describe_api_operation", "call_api_operation"}


async def test_search_finds_products_and_points_to_typed_tools() -> None:
    async with mock_session(_never, toolsets=["api"]) as s:
        found = await s.call("search_api_operations", {"query": "list products", "tag": "Products"})
        assert not found.is_error, text_of(found)
        assert found.structured_content is not None
        ids = [item["operation"] for item in found.structured_content["items"]]
        assert "GET /goods/{location_id}" in ids
        typed = await s.call("search_api_operations", {"query": "delete appointment"})
        assert typed.structured_content is not None
        uses = {i["operation"]: i.get("use_tool") for i in typed.structured_content["items"]}
        assert uses.get("DELETE /record/{location_id}/{record_id}") == "delete_appointment"
        bad = await s.call("search_api_operations", {"query": "stock", "tag": "Nope"})
        assert bad.is_error and "unknown tag" in text_of(bad)


async def test_describe_gives_schemas_and_kind() -> None:
    async with mock_session(_never, toolsets=["api"]) as s:
        described = await s.call("describe_api_operation", {"operation": "POST /goods/{location_id}"})
        assert not described.is_error, text_of(described)
        out = described.structured_content
        assert out is not None
        assert out["kind"] == "write" and out["callable"] is True
        assert out["path_schema"]["required"] == ["location_id"]
        assert "title" in out["body_schema"]["properties"]
        assert "title" in out["body_schema"]["required"]
        refund = await s.call(
            "describe_api_operation",
            {"operation": "DELETE /finance_transactions/{location_id}/{transaction_id}"},
        )
        assert refund.structured_content is not None
        assert refund.structured_content["kind"] == "destructive"
        unknown = await s.call("describe_api_operation", {"operation": "GET /nothing/here"})
        assert unknown.is_error and "search_api_operations" in text_of(unknown)


async def test_a_read_goes_out_as_a_get_with_the_default_location() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        goods = [{"good_id": n, "title": f"Shampoo {n}", "cost": 10 + n, "empty": None} for n in range(30)]
        return httpx.Response(200, json={"success": True, "data": goods, "meta": {"count": 30}})

    async with mock_session(handler, toolsets=["api"]) as s:
        result = await s.call("call_api_operation", {"operation": "GET /goods/{location_id}"})
    assert not result.is_error, text_of(result)
    assert [(r.method, r.url.path) for r in seen] == [("GET", "/api/v1/goods/1")]
    out = result.structured_content
    assert out is not None
    assert out["status"] == 200 and len(out["data"]) == 25 and out["omitted"] == 5
    assert "empty" not in out["data"][0]
    assert "Shampoo 0" in text_of(result)


async def test_a_write_is_sent_once_and_audited(tmp_path: Path) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(503, json={"success": False, "meta": {"message": "busy"}})

    audit_file = tmp_path / "audit.jsonl"
    body = {"title": "Argan oil", "category_id": 7, "sale_unit_id": 1, "service_unit_id": 1}
    async with mock_session(handler, toolsets=["api"], audit=True, audit_log=audit_file) as s:
        failed = await s.call(
            "call_api_operation",
            {"operation": "POST /goods/{location_id}", "path": {"location_id": 1}, "body": body},
        )
    # A write is never re-sent, even on a 503 that a read would retry.
    assert failed.is_error
    assert [(r.method, r.url.path) for r in seen] == [("POST", "/api/v1/goods/1")]
    assert json.loads(seen[0].content) == body
    assert [e["event"] for e in read_audit(audit_file)] == ["intent", "outcome"]
    [entry] = audited_writes(audit_file)
    assert entry["tool"] == "call_api_operation"
    assert entry["request"] == "POST /goods/1"
    assert entry["outcome"] not in {"done", "in flight"}
    assert entry["target_id"] == "POST /goods/{location_id}"
    assert entry["location_id"] == 1
    assert entry["arguments"]["body"] == body


async def test_a_successful_write_is_audited_ok(tmp_path: Path) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        data = {"id": 9, "title": "Argan oil"}
        return httpx.Response(201, json={"success": True, "data": data, "meta": []})

    audit_file = tmp_path / "audit.jsonl"
    async with mock_session(handler, toolsets=["api"], audit=True, audit_log=audit_file) as s:
        made = await s.call(
            "call_api_operation",
            {
                "operation": "POST /goods_categories/{location_id}",
                "body": {"title": "Oils", "parent_category_id": 0},
            },
        )
        assert not made.is_error, text_of(made)
        read = await s.call("call_api_operation", {"operation": "GET /storages/{location_id}"})
        assert not read.is_error, text_of(read)
    entries = audited_writes(audit_file)
    assert [(e["tool"], e["outcome"], e["target_id"]) for e in entries] == [
        ("call_api_operation", "done", "POST /goods_categories/{location_id}")
    ]


async def test_a_destructive_call_waits_for_confirmation_with_a_preview() -> None:
    arguments = {"operation": "DELETE /client/{location_id}/{id}", "path": {"id": 5003}}
    async with sandbox_session(toolsets=["api"]) as s:
        assert s.sandbox is not None
        before = s.sandbox.state.fingerprint()
        s.sandbox.requests.clear()
        first = await s.call("call_api_operation", arguments)
        assert awaits_confirmation(first)
        text = text_of(first)
        assert text.startswith("Not done yet")
        assert f"DELETE /client/{NEW_YORK_LOCATION_ID}/5003" in text
        assert "Now:" in text  # the preview read the client first
        assert [r.method for r in s.sandbox.requests] == ["GET"]
        assert s.sandbox.state.fingerprint() == before
        token = re.search(r'confirmation_token="([^"]+)"', text)
        assert token, text
        done = await s.call("call_api_operation", {**arguments, "confirmation_token": token.group(1)})
        assert not done.is_error, text_of(done)
        assert s.sandbox.state.fingerprint() != before
        assert [r.method for r in s.sandbox.requests if r.method != "GET"] == ["DELETE"]


async def test_read_only_mode_keeps_the_call_tool_for_reads_only() -> None:
    async with mock_session(_never, toolsets=["api"], read_only=True) as s:
        tools = {t.name: t for t in (await s.client.list_tools()).tools}
        assert set(tools) == {"search_api_operations", "describe_api_operation", "call_api_operation"}
        hints = tools["call_api_operation"].annotations
        assert hints is not None and hints.read_only_hint is True
        refused = await s.call(
            "call_api_operation",
            {"operation": "POST /goods/{location_id}", "body": {"title": "x"}},
        )
    assert refused.is_error
    assert "read-only" in text_of(refused) and "Nothing was sent" in text_of(refused)


@pytest.mark.parametrize(
    ("arguments", "named"),
    [
        (
            {"operation": "GET /goods/{location_id}/{product_id}", "path": {"product_id": "abc"}},
            "path.product_id",
        ),
        ({"operation": "GET /goods/{location_id}/{product_id}"}, "product_id"),
        ({"operation": "GET /storages/transactions/{location_id}", "query": {"colour": "red"}}, "colour"),
        ({"operation": "GET /storages/transactions/{location_id}", "query": {"page": "first"}}, "query.page"),
        (
            {"operation": "POST /goods/{location_id}", "body": {"title": "Oil", "category_id": "seven"}},
            "body.category_id",
        ),
        ({"operation": "POST /goods/{location_id}", "body": {"title": "Oil"}}, "sale_unit_id"),
        ({"operation": "GET /storages/{location_id}", "body": {"x": 1}}, "takes no body"),
    ],
)
async def test_validation_errors_name_the_field_and_send_nothing(
    arguments: dict[str, Any], named: str
) -> None:
    async with mock_session(_never, toolsets=["api"]) as s:
        result = await s.call("call_api_operation", arguments)
    assert result.is_error
    text = text_of(result)
    assert named in text and "Nothing was sent" in text, text


async def test_an_operation_a_typed_tool_covers_is_refused_naming_the_tool() -> None:
    async with mock_session(_never, toolsets=["api"]) as s:
        result = await s.call(
            "call_api_operation",
            {"operation": "DELETE /record/{location_id}/{record_id}", "path": {"record_id": 1}},
        )
        login = await s.call("call_api_operation", {"operation": "POST /auth", "body": {}})
    assert result.is_error and "delete_appointment" in text_of(result)
    assert login.is_error and "altegio-mcp login" in text_of(login)


async def test_a_location_outside_the_grant_is_refused_before_sending() -> None:
    async with mock_session(_never, toolsets=["api"]) as s:
        s.server.runtime.settings.location_id = 1
        caller = s.server.runtime.current_caller()
        caller.locations = frozenset({1})
        result = await s.call(
            "call_api_operation", {"operation": "GET /storages/{location_id}", "path": {"location_id": 2}}
        )
    assert result.is_error and "not covered" in text_of(result)


async def test_a_limited_sign_in_cannot_reach_operations_tied_to_no_location() -> None:
    async with mock_session(_never, toolsets=["api"]) as s:
        caller = s.server.runtime.current_caller()
        caller.locations = frozenset({1})
        result = await s.call(
            "call_api_operation",
            {"operation": "GET /loyalty/client_cards/{client_id}", "path": {"client_id": 5}},
        )
    assert result.is_error and "not tied to one location" in text_of(result)
