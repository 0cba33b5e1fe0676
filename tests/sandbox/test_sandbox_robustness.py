"""Hostile input never breaks the sandbox: extreme dates, huge numbers and broken bodies get a 4xx
envelope naming the problem (or a normal answer), never an exception or a 5xx."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

BOOKING: dict[str, Any] = {
    "staff_id": 2101,
    "services": [{"id": 4101}],
    "client": {"phone": "+16465550142", "name": "Robin Park"},
    "datetime": "2026-11-27T14:00:00-05:00",
    "seance_length": 3600,
}


def with_(**changes: Any) -> dict[str, Any]:
    return {**BOOKING, **changes}


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("method", "path", "params", "body"),
    [
        ("POST", "/records/1001", None, with_(datetime="9999-12-31T23:59:59")),
        ("POST", "/records/1001", None, with_(datetime="0001-01-01T00:00:00+14:00")),
        ("POST", "/records/1001", None, with_(datetime="9999-12-31T23:59:59-12:00")),
        ("POST", "/records/1001", None, with_(seance_length=10**12)),
        ("POST", "/records/1001", None, with_(staff_id=10**30, services=[{"id": -(2**63)}])),
        ("POST", "/records/1001", None, with_(client={"phone": "\u202e" * 5000, "name": "\x00"})),
        ("PUT", "/record/1001/600001", None, with_(datetime="2026-11-28\u202e")),
        ("GET", "/records/1001", {"changed_after": "9999-12-31T23:59:59"}, None),
        ("GET", "/records/1001", {"start_date": "２０２６-１１-２８"}, None),
        ("GET", "/records/1001", {"count": str(10**40)}, None),
        ("GET", "/book_times/1001/2101/9999-12-31", None, None),
        ("GET", "/book_times/1001/2101/0001-01-01", None, None),
        ("GET", "/timetable/seances/1001/2101/9999-12-31", None, None),
        ("GET", "/timetable/dates/1001/9999-12-31", None, None),
        ("GET", "/company/1001/staff/schedule", {"start_date": "9999-12-31"}, None),
        ("GET", "/book_dates/1001", {"date": "9999-12-01"}, None),
        ("GET", "/book_dates/1001", {"date_from": "2026-11-01", "date_to": "2027-11-01"}, None),
        ("GET", "/book_staff/1001", {"datetime": "9999-12-31T23:59:59"}, None),
        ("GET", "/book_services/1001", {"staff_id": 2101, "datetime": "0001-01-01T00:00:00+14:00"}, None),
        (
            "PUT",
            "/visits/700003/600003",
            None,
            {"attendance": 1, "comment": "", "new_transactions": [{"amount": 1e308}]},
        ),
        ("POST", "/company/1001/clients/search", None, {"page": 10**20, "page_size": 1}),
        ("POST", "/company/1001/clients/visits/search", None, {"client_id": 5001, "from": "9999-99-99"}),
    ],
)
async def test_hostile_input_gets_an_envelope(
    client: httpx.AsyncClient, method: str, path: str, params: dict[str, Any] | None, body: object
) -> None:
    response = await client.request(method, path, params=params, json=body)
    assert response.status_code < 500, response.text
    assert "success" in response.json()


@pytest.mark.anyio
@pytest.mark.parametrize("raw", [b"{", b"[1, 2]", b'{"amount": NaN}', b"[" * 100_000, "\u202e".encode()])
async def test_broken_bodies_are_422(client: httpx.AsyncClient, raw: bytes) -> None:
    response = await client.post("/records/1001", content=raw, headers={"Content-Type": "application/json"})
    assert response.status_code == 422
    assert response.json()["meta"]["errors"][0]["field"] == "body"
