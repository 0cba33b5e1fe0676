"""The sandbox holds every request to Altegio's published contract (altegio_mcp/contract).

Undeclared parameters and fields are refused with a 400, wrong formats and missing required fields
with a 422, in Altegio's envelope; the official request examples are accepted; where the official
pages contradict each other both forms are accepted (see the contract's notes).
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from altegio_mcp import contract
from altegio_mcp.sandbox import Sandbox, SandboxConfig, create_sandbox
from tests.sandbox.conftest import ANCHOR, Connect

pytestmark = pytest.mark.anyio

NY = 1001
OLIVIA = 2101
HAIRCUT = 4101


def _example(key: str) -> dict[str, Any]:
    method, path = key.split(" ", 1)
    op = contract.find(method, path)
    assert op is not None
    return dict(op.examples[0])


def _seeded_booking(**changes: Any) -> dict[str, Any]:
    """The official create example, every field kept, with ids and a time the seed has."""
    body = _example("POST /records/{location_id}")
    body.update(
        staff_id=OLIVIA,
        services=[{"id": HAIRCUT, "first_cost": 85, "discount": 0, "cost": 85}],
        datetime="2026-11-30T09:00:00.000-05:00",
        record_labels=[],
        custom_fields={},
    )
    body.update(changes)
    return body


async def test_an_undeclared_body_field_is_refused_with_a_400(client: httpx.AsyncClient) -> None:
    response = await client.post(f"/records/{NY}", json=_seeded_booking(colour="red"))
    assert response.status_code == 400
    body = response.json()
    assert body["success"] is False
    assert body["data"] is None
    assert "colour" in body["meta"]["message"]
    assert list(body["meta"]["errors"]) == ["colour"]


async def test_an_undeclared_query_parameter_is_refused_with_a_400(client: httpx.AsyncClient) -> None:
    response = await client.get(f"/records/{NY}", params={"date": "2026-11-27"})
    assert response.status_code == 400
    assert list(response.json()["meta"]["errors"]) == ["date"]


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        (f"/records/{NY}", {"start_date": "27.11.2026"}, "start_date"),
        (f"/records/{NY}", {"changed_after": "2026-11-27 10:00"}, "changed_after"),
        ("/records/partner", {"start_date": "2026-11-27"}, "start_date"),
        (f"/comments/{NY}", {"start_date": "11/27/2026"}, "start_date"),
        (f"/company/{NY}/staff/schedule", {"start_date": "20261127"}, "start_date"),
    ],
)
async def test_a_wrong_date_format_is_refused_with_a_422(
    client: httpx.AsyncClient, path: str, params: dict[str, str], field: str
) -> None:
    response = await client.get(path, params=params)
    assert response.status_code == 422
    errors = response.json()["meta"]["errors"]
    assert [e["field"] for e in errors] == [field]
    assert "format" in errors[0]["message"]


async def test_the_official_date_formats_are_accepted(client: httpx.AsyncClient) -> None:
    partner = await client.get(
        "/records/partner", params={"start_date": "27.11.2026", "end_date": "30.11.2026"}
    )
    assert partner.status_code == 200
    records = await client.get(
        f"/records/{NY}", params={"start_date": "2026-11-27", "changed_after": "2026-11-01T00:00:00"}
    )
    assert records.status_code == 200


async def test_missing_required_fields_are_refused_with_a_422(client: httpx.AsyncClient) -> None:
    response = await client.put("/visits/700003/600003", json={"attendance": 1})
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["meta"]["errors"]] == ["comment"]
    partial = {k: v for k, v in _seeded_booking().items() if k != "seance_length"}
    replace = await client.put(f"/record/{NY}/600001", json=partial)
    assert replace.status_code == 422
    assert [e["field"] for e in replace.json()["meta"]["errors"]] == ["seance_length"]


async def test_the_official_request_examples_are_accepted(client: httpx.AsyncClient) -> None:
    created = await client.post(f"/records/{NY}", json=_seeded_booking())
    assert created.status_code == 201, created.text
    visit = _example("PUT /visits/{visit_id}/{record_id}")
    visit.update(new_transactions=[], goods_transactions=[], services=[])
    edited = await client.put("/visits/700003/600003", json=visit)
    assert edited.status_code == 200, edited.text
    auth = await client.post("/auth", json=_example("POST /auth"))
    assert (auth.status_code, auth.json()["meta"]["message"]) == (401, "Invalid login or password.")


async def test_both_forms_of_a_contradiction_are_accepted(client: httpx.AsyncClient) -> None:
    for labels in (["67345"], [67345]):
        response = await client.post(
            f"/records/{NY}", json=_seeded_booking(record_labels=labels, save_if_busy=True)
        )
        assert response.status_code == 201, response.text
    for name in ("team_member_id", "staff_id"):
        assert (await client.get(f"/records/{NY}", params={name: OLIVIA})).status_code == 200
    both = await client.get(f"/records/{NY}", params={"team_member_id": OLIVIA, "staff_id": OLIVIA})
    assert both.status_code == 422
    with_amount = _seeded_booking(
        services=[{"id": HAIRCUT, "first_cost": 85, "discount": 0, "cost": 85, "amount": 1}],
        datetime="2026-11-30T13:00:00.000-05:00",
    )
    assert (await client.post(f"/records/{NY}", json=with_amount)).status_code == 201
    for flag in ("1", "true"):
        assert (await client.get(f"/records/{NY}", params={"with_deleted": flag})).status_code == 200


async def test_401_comes_before_the_contract(connect: Connect) -> None:
    sandbox = create_sandbox(SandboxConfig(today=ANCHOR))
    async with connect(sandbox, user=None) as api:
        response = await api.post(f"/records/{NY}", json={"colour": "red"})
    assert response.status_code == 401


async def test_strictness_can_be_turned_off(connect: Connect) -> None:
    sandbox: Sandbox = create_sandbox(SandboxConfig(today=ANCHOR, strict=False))
    async with connect(sandbox) as api:
        response = await api.get(f"/records/{NY}", params={"date": "2026-11-27"})
    assert response.status_code == 200
