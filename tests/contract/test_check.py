"""The contract check on its own: official examples pass, departures are named with Altegio's status."""

from __future__ import annotations

from typing import Any

import pytest

from altegio_mcp import contract
from altegio_mcp.contract.check import check_request


def _op(key: str, version: contract.Version = "v1") -> contract.ContractOperation:
    method, path = key.split(" ", 1)
    op = contract.find(method, path, version)
    assert op is not None, key
    return op


EXAMPLES = [
    (op, example)
    for version in ("v1", "v2")
    for op in contract.operations(version)
    for example in op.examples
]


@pytest.mark.parametrize(("op", "example"), EXAMPLES, ids=[f"{op.method} {op.path}" for op, _ in EXAMPLES])
def test_official_example_bodies_conform(op: contract.ContractOperation, example: dict[str, Any]) -> None:
    assert check_request(op, op.path, {}, example) == []


def test_an_undeclared_body_field_is_a_400() -> None:
    op = _op("POST /records/{location_id}")
    body = dict(op.examples[0], colour="red")
    problems = check_request(op, "/records/1", {}, body)
    assert [(p.status, p.field) for p in problems] == [(400, "colour")]


def test_an_undeclared_nested_field_is_a_400() -> None:
    op = _op("PUT /record/{location_id}/{record_id}")
    body = dict(op.examples[0], client={"phone": "+13155550175", "name": "J", "surname": "S"})
    problems = check_request(op, "/record/1/2", {}, body)
    assert [(p.status, p.field) for p in problems] == [(400, "client.surname")]


def test_an_unknown_query_parameter_is_a_400() -> None:
    op = _op("GET /records/{location_id}")
    problems = check_request(op, "/records/1", {"start_date": ["2026-01-21"], "date_from": ["x"]}, None)
    assert [(p.status, p.field) for p in problems] == [(400, "date_from")]


@pytest.mark.parametrize(
    ("key", "path", "query", "bad"),
    [
        ("GET /records/{location_id}", "/records/1", {"start_date": ["21.01.2026"]}, "start_date"),
        ("GET /records/{location_id}", "/records/1", {"changed_after": ["2026-01-21"]}, "changed_after"),
        ("GET /records/partner", "/records/partner", {"start_date": ["2026-01-21"]}, "start_date"),
        ("GET /records/partner", "/records/partner", {"start_date": ["'17.01.2025'"]}, "start_date"),
        ("GET /comments/{location_id}", "/comments/1", {"start_date": ["2026/01/21"]}, "start_date"),
    ],
)
def test_a_wrong_date_format_is_a_422(key: str, path: str, query: dict[str, list[str]], bad: str) -> None:
    problems = check_request(_op(key), path, query, None)
    assert [(p.status, p.field) for p in problems] == [(422, bad)]
    assert "format" in problems[0].message


def test_the_official_date_formats_pass() -> None:
    assert (
        check_request(_op("GET /records/partner"), "/records/partner", {"start_date": ["17.01.2025"]}, None)
        == []
    )
    query = {"start_date": ["2026-01-21"], "changed_after": ["2026-01-21T23:00:00"]}
    assert check_request(_op("GET /records/{location_id}"), "/records/1", query, None) == []


def test_missing_required_fields_are_422s() -> None:
    op = _op("POST /records/{location_id}")
    problems = check_request(op, "/records/1", {}, {"client": {"name": "J", "phone": "1"}})
    assert sorted(p.field for p in problems if p.status == 422) == sorted(
        ["staff_id", "services", "datetime", "seance_length"]
    )
    group = check_request(op, "/records/1", {}, {"activity_id": 5, "client": {"name": "J", "phone": "1"}})
    assert group == []
    visit = check_request(_op("PUT /visits/{visit_id}/{record_id}"), "/visits/1/2", {}, {"attendance": 1})
    assert [(p.status, p.field) for p in visit] == [(422, "comment")]


def test_tolerated_forms_from_contradicting_pages_pass_both_ways() -> None:
    op = _op("PUT /record/{location_id}/{record_id}")
    base = op.examples[0]
    for labels in (["67345"], [67345]):
        assert check_request(op, "/record/1/2", {}, dict(base, record_labels=labels)) == []
    services = [{"id": 331, "first_cost": 9000, "discount": 50, "cost": 4500, "amount": 1}]
    assert check_request(op, "/record/1/2", {}, dict(base, services=services)) == []
    records = _op("GET /records/{location_id}")
    for name in ("team_member_id", "staff_id"):
        assert check_request(records, "/records/1", {name: ["7"]}, None) == []
    both = check_request(records, "/records/1", {"team_member_id": ["7"], "staff_id": ["7"]}, None)
    assert [p.status for p in both] == [422]
    visit = _op("PUT /visits/{visit_id}/{record_id}")
    for amount in (-1, "-1"):
        body = {"attendance": 1, "comment": "", "goods_transactions": [{"id": 1, "amount": amount}]}
        assert check_request(visit, "/visits/1/2", {}, body) == []
    events = _op("GET /locations/{location_id}/events", "v2")
    window = {"filter[from]": ["2026-08-01 09:00:00"], "filter[to]": ["2026-08-07 21:00:00"]}
    for key in ("filter[master_ids][]", "filtermaster_ids"):
        assert check_request(events, "/locations/1/events", {**window, key: ["3"]}, None) == []


def test_types_and_enums_are_checked() -> None:
    op = _op("POST /records/{location_id}")
    body = dict(op.examples[0], staff_id="8886", attendance=5)
    problems = check_request(op, "/records/1", {}, body)
    assert sorted((p.status, p.field) for p in problems) == [(422, "attendance"), (422, "staff_id")]
    bad_path = check_request(_op("GET /record/{location_id}/{record_id}"), "/record/1/abc", {}, None)
    assert [(p.status, p.field) for p in bad_path] == [(422, "record_id")]
