"""The catalog against the official operation list, and its schemas and kinds."""

from __future__ import annotations

import subprocess
import sys

import pytest
from jsonschema import Draft202012Validator

from altegio_mcp import catalog
from altegio_mcp.catalog.check import compare, official_list


def test_every_listed_operation_is_catalogued_or_excluded_with_a_reason() -> None:
    report = compare()
    assert report.missing == []
    assert report.invented == []
    assert report.tag_mismatch == []
    assert report.listed == 260
    assert report.catalogued + report.excluded == report.listed


def test_the_outbound_webhook_is_the_deliberate_exclusion() -> None:
    [webhook] = catalog.excluded()
    assert webhook.path.startswith("/https://")
    assert "outbound webhook" in webhook.reason


def test_ids_are_unique_and_findable_by_shape() -> None:
    ids = [op.id for op in catalog.operations()]
    assert len(ids) == len(set(ids))
    op = catalog.find("GET /goods/{location_id}")
    assert op is not None and op.tag == "Products"
    assert catalog.find("get /goods/{x}") is op
    assert catalog.find("GET /no/such/path") is None


@pytest.mark.parametrize("op", catalog.operations(), ids=lambda op: op.id)
def test_schemas_are_valid_json_schema(op: catalog.CatalogOperation) -> None:
    for schema in (op.path_schema, op.query_schema, op.body_schema):
        if schema is not None:
            Draft202012Validator.check_schema(schema)
    assert set(op.path_params) == {p[1:-1] for p in op.path.split("/") if p.startswith("{")}


def test_kinds_follow_the_money_and_the_deletes() -> None:
    for op in catalog.operations():
        if op.method == "DELETE":
            assert op.kind == "destructive", op.id
        if op.method == "GET" and not op.path.endswith("/enable"):
            assert op.kind == "read", op.id
    for key in (
        "POST /company/{location_id}/sale/{document_id}/payment",
        "POST /finance_transactions/{location_id}",
        "POST /deposits_operations/{location_id}",
        "POST /sms/clients/by_filter/{location_id}",
        "POST /email/clients/by_id/{location_id}",
        "POST /company/{location_id}/loyalty/cards/{card_id}/manual_transaction",
        "POST /chain/{chain_id}/loyalty/abonements/{membership_id}/set_balance",
        "POST /kkm_transactions/{location_id}/print_document_bill",
        "PUT /visits/{visit_id}/{record_id}",
    ):
        op = catalog.find(key)
        assert op is not None and op.kind == "destructive", key
    # A GET that changes state is a write.
    enable = catalog.find("GET /tips/{location_id}/settings/{master_tips_settings_id}/enable")
    assert enable is not None and enable.kind == "write"
    plain = catalog.find("POST /goods/{location_id}")
    assert plain is not None and plain.kind == "write"


def test_search_ranks_by_shared_words() -> None:
    hits = catalog.search("products stock")
    assert hits and hits[0].tag.split(" (")[0] in {"Products", "Inventory"}
    salary = catalog.search("salary", tag="Salary")
    assert salary and all(op.tag == "Salary" for op in salary)
    assert catalog.search("zzzz qqqq") == []


def test_titles_match_the_official_list() -> None:
    assert len(official_list()) == 260


def test_the_catalog_is_not_loaded_at_start_up() -> None:
    code = "import sys, altegio_mcp.server; print('altegio_mcp.catalog' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_v2_is_catalogued_and_deprecations_point_to_it() -> None:
    v2 = [op for op in catalog.operations() if op.version == "v2"]
    assert len(v2) >= 40
    assert all(op.id.startswith("v2 ") and op.path.startswith("/locations/") for op in v2)
    for op in catalog.operations():
        if op.replacement is not None:
            assert catalog.find(op.replacement) is not None, op.id
    old = catalog.find("GET /activity/{location_id}/{event_id}")
    assert old is not None and old.deprecated
    assert old.replacement == "v2 GET /locations/{location_id}/events/{event_id}"


def test_operations_a_json_call_cannot_make_say_why() -> None:
    upload = catalog.find("POST /images/{entity}")
    assert upload is not None and upload.not_callable and "multipart" in upload.not_callable
    login = catalog.find("POST /auth")
    assert login is not None and login.not_callable
