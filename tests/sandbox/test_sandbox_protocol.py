"""Protocol tests: authentication, access, error shapes, pagination, rate limiting, the receipt PDF
and the round trip from `book_times` to `POST /records`."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest

from altegio_mcp.sandbox import (
    DEMO_LOGIN,
    DEMO_PARTNER_TOKEN,
    DEMO_PASSWORD,
    DEMO_USER_TOKEN,
    SECOND_LOGIN,
    SECOND_PASSWORD,
    SECOND_USER_TOKEN,
    Sandbox,
    SandboxConfig,
    create_sandbox,
)

Connect = Callable[..., httpx.AsyncClient]
AUTH_NEEDED = {"success": False, "data": None, "meta": {"message": "Authentication needed."}}


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("partner", "user"),
    [(None, None), ("wrong-partner", None), ("wrong-partner", DEMO_USER_TOKEN)],
)
async def test_bad_or_missing_partner_token_is_401(
    sandbox: Sandbox, connect: Connect, partner: str | None, user: str | None
) -> None:
    async with connect(sandbox, partner=partner, user=user) as api:
        for path in ("/records/1001", "/companies", "/book_dates/1001"):
            response = await api.get(path)
            assert (response.status_code, response.json()) == (401, AUTH_NEEDED)


@pytest.mark.anyio
async def test_malformed_authorization_is_401(sandbox: Sandbox) -> None:
    async with httpx.AsyncClient(
        transport=sandbox.transport(), base_url="http://sandbox.local/api/v1"
    ) as api:
        for header in ("Token abc", "Bearer", f"Bearer {DEMO_PARTNER_TOKEN}, Admin x"):
            response = await api.get("/companies", headers={"Authorization": header})
            assert response.status_code == 401


@pytest.mark.anyio
@pytest.mark.parametrize("user", [None, "expired-user-token"])
async def test_user_level_operations_need_a_valid_user_token(
    sandbox: Sandbox, connect: Connect, user: str | None
) -> None:
    async with connect(sandbox, user=user) as api:
        for method, path in (
            ("GET", "/records/1001"),
            ("POST", "/records/1001"),
            ("GET", "/visits/700002"),
            ("GET", "/attendance/receipt_print/700002"),
            ("GET", "/records/partner"),
            ("GET", "/companies?my=1"),
        ):
            response = await api.request(method, path)
            assert (response.status_code, response.json()) == (401, AUTH_NEEDED), path


@pytest.mark.anyio
async def test_partner_only_reads_work_without_the_user_token(sandbox: Sandbox, connect: Connect) -> None:
    async with connect(sandbox, user=None) as api:
        for path in (
            "/companies",
            "/company/1002",
            "/book_dates/1001",
            "/book_times/1001/2101/2026-11-27",
            "/book_staff/1001",
            "/book_services/1001",
        ):
            assert (await api.get(path)).status_code == 200, path
        login = await api.post("/auth", json={"login": DEMO_LOGIN, "password": DEMO_PASSWORD})
        assert login.status_code == 201
        assert login.json()["data"]["user_token"] == DEMO_USER_TOKEN


@pytest.mark.anyio
async def test_auth_distinguishes_users_and_rejects_bad_credentials(
    sandbox: Sandbox, connect: Connect
) -> None:
    async with connect(sandbox, user=None) as api:
        second = (await api.post("/auth", json={"login": SECOND_LOGIN, "password": SECOND_PASSWORD})).json()[
            "data"
        ]
        demo = (
            await api.post("/auth", json={"login": DEMO_LOGIN.upper(), "password": DEMO_PASSWORD})
        ).json()["data"]
        assert second["user_token"] == SECOND_USER_TOKEN and second["name"] != demo["name"]
        assert set(second) == {
            "id",
            "user_token",
            "name",
            "phone",
            "login",
            "email",
            "avatar",
            "is_approved",
            "is_email_confirmed",
        }
        wrong = await api.post("/auth", json={"login": DEMO_LOGIN, "password": "nope"})
        assert wrong.status_code == 401 and wrong.json()["meta"]["message"] == "Invalid login or password."
        missing = await api.post("/auth", json={"login": DEMO_LOGIN})
        assert {e["field"] for e in missing.json()["meta"]["errors"]} == {"password"}
    async with connect(sandbox, partner="wrong", user=None) as api:
        assert (
            await api.post("/auth", json={"login": DEMO_LOGIN, "password": DEMO_PASSWORD})
        ).status_code == 401


@pytest.mark.anyio
async def test_second_user_sees_only_its_location(sandbox: Sandbox, connect: Connect) -> None:
    async with connect(sandbox, user=SECOND_USER_TOKEN) as api:
        mine = (await api.get("/companies", params={"my": 1})).json()["data"]
        assert [loc["id"] for loc in mine] == [1001]
        assert len((await api.get("/companies")).json()["data"]) == 3
        assert (await api.get("/records/1001")).status_code == 200
        dubai_visit = next(v.id for v in sandbox.state.visits(1002))
        for method, path in (
            ("GET", "/records/1002"),
            ("POST", "/records/1002"),
            ("GET", "/staff/1002"),
            ("GET", f"/visits/{dubai_visit}"),
            ("GET", "/company/1002?my=1"),
            ("GET", "/records/partner?salon_id=1002"),
        ):
            response = await api.request(method, path)
            assert response.status_code == 403, path
            assert response.json() == {"success": False, "data": None, "meta": {"message": "Access denied."}}
        created = await api.post(
            "/records/1001",
            json={
                "staff_id": 2101,
                "services": [{"id": 4101}],
                "client": {"phone": "+12125550003", "name": "José"},
                "datetime": "2026-11-27T14:00:00-05:00",
                "seance_length": 3600,
            },
        )
        assert created.json()["data"][0]["created_user_id"] == 9002


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("path", "meta"),
    [
        ("/record/1001/1", {"message": "Appointment not found."}),
        ("/records/4242", {"message": "Location not found."}),
        ("/visits/1", {"message": "Visit not found."}),
        ("/client/1001/5101", {"message": "Client not found."}),
        (
            "/company/1001/staff/2201",
            {
                "message": "Team Member with ID 2201 was not found in branch 1001.",
                "errors": [{"message": "Team Member with ID 2201 was not found in branch 1001."}],
            },
        ),
        (
            "/company/1001/service_categories/1",
            {
                "message": "Service category does not exist.",
                "errors": [{"message": "Service category does not exist."}],
            },
        ),
        (
            "/company/1001/services/4201",
            {"message": "Service not found.", "errors": [{"message": "Service not found."}]},
        ),
        ("/no/such/route", {"message": "Not found."}),
    ],
)
async def test_unknown_ids_are_404(client: httpx.AsyncClient, path: str, meta: dict[str, object]) -> None:
    response = await client.get(path)
    assert (response.status_code, response.json()) == (404, {"success": False, "data": None, "meta": meta})


@pytest.mark.anyio
async def test_location_endpoint_uses_the_legacy_error_shape(sandbox: Sandbox, connect: Connect) -> None:
    async with connect(sandbox) as api:
        missing = await api.get("/company/4242")
        assert missing.json() == {
            "errors": {"code": 404, "message": "Not found"},
            "meta": {"message": "Not found"},
        }
    async with connect(sandbox, partner="wrong") as api:
        denied = await api.get("/company/1001")
        assert denied.status_code == 401
        assert denied.json()["errors"] == {"code": 401, "message": "Authentication needed."}


@pytest.mark.anyio
async def test_wrong_method_is_405(client: httpx.AsyncClient) -> None:
    response = await client.patch("/record/1001/600001")
    assert response.status_code == 405 and response.json()["success"] is False


@pytest.mark.anyio
async def test_accept_header_is_optional(sandbox: Sandbox) -> None:
    headers = {"Authorization": f"Bearer {DEMO_PARTNER_TOKEN}, User {DEMO_USER_TOKEN}"}
    async with httpx.AsyncClient(
        transport=sandbox.transport(), base_url="http://sandbox.local/api/v1", headers=headers
    ) as api:
        assert (await api.get("/records/1001")).status_code == 200


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("method", "path", "params", "body", "field"),
    [
        ("GET", "/records/1001", {"count": 201}, None, "count"),
        ("GET", "/records/1001", {"page": 0}, None, "page"),
        ("GET", "/records/1001", {"count": "many"}, None, "count"),
        ("GET", "/comments/1001", {"count": 101}, None, "count"),
        ("GET", "/records/partner", {"editable_length": 101}, None, "editable_length"),
        ("POST", "/company/1001/clients/search", None, {"page_size": 201}, "page_size"),
        ("POST", "/company/1001/clients/search", None, {"page": 0}, "page"),
    ],
)
async def test_page_limits(
    client: httpx.AsyncClient,
    method: str,
    path: str,
    params: dict[str, int | str] | None,
    body: object,
    field: str,
) -> None:
    response = await client.request(method, path, params=params, json=body)
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["meta"]["errors"]] == [field]


@pytest.mark.anyio
async def test_paging_walks_the_whole_list(client: httpx.AsyncClient) -> None:
    first = (await client.get("/records/1001", params={"count": 200})).json()
    total = first["meta"]["total_count"]
    seen: list[int] = []
    page = 1
    while True:
        chunk = (await client.get("/records/1001", params={"count": 40, "page": page})).json()
        assert chunk["meta"] == {"page": page, "total_count": total}
        if not chunk["data"]:
            break
        seen.extend(item["id"] for item in chunk["data"])
        page += 1
    assert len(seen) == len(set(seen)) == total
    clients = (await client.post("/company/1001/clients/search", json={"page": 2, "page_size": 25})).json()
    assert clients["meta"]["total_count"] == 30 and len(clients["data"]) == 5


class SteppingClock:
    def __init__(self) -> None:
        self.current = datetime(2026, 11, 27, 12, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.current


@pytest.mark.anyio
async def test_tight_rate_limit_answers_429_with_retry_after(connect: Connect) -> None:
    clock = SteppingClock()
    limited = create_sandbox(SandboxConfig(today=date(2026, 11, 27), clock=clock, rate_limit_per_second=2))
    async with connect(limited) as api:
        assert [(await api.get("/companies")).status_code for _ in range(2)] == [200, 200]
        rejected = await api.get("/companies")
        assert rejected.status_code == 429
        assert rejected.headers["Retry-After"] == "1"
        assert rejected.json()["success"] is False and rejected.json()["meta"]["message"]
        clock.current += timedelta(seconds=1)
        assert (await api.get("/companies")).status_code == 200


@pytest.mark.anyio
async def test_per_minute_budget(connect: Connect) -> None:
    clock = SteppingClock()
    limited = create_sandbox(SandboxConfig(today=date(2026, 11, 27), clock=clock, rate_limit_per_minute=3))
    async with connect(limited) as api:
        for _ in range(3):
            assert (await api.get("/companies")).status_code == 200
            clock.current += timedelta(seconds=10)
        rejected = await api.get("/companies")
        assert (rejected.status_code, rejected.headers["Retry-After"]) == (429, "30")
        clock.current += timedelta(seconds=30)
        assert (await api.get("/companies")).status_code == 200


def xref_offsets(pdf: bytes) -> list[int]:
    start = int(pdf.rsplit(b"startxref", 1)[1].split()[0])
    assert pdf[start:].startswith(b"xref")
    lines = pdf[start:].split(b"\n")
    count = int(lines[1].split()[1])
    entries = lines[2 : 2 + count]
    assert all(len(entry) == 19 for entry in entries)  # 20 bytes with the line feed
    return [int(entry[:10]) for entry in entries[1:]]


@pytest.mark.anyio
async def test_receipt_is_a_valid_pdf(client: httpx.AsyncClient) -> None:
    response = await client.get("/attendance/receipt_print/700002")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    pdf = response.content
    assert pdf.startswith(b"%PDF-1.4") and pdf.rstrip().endswith(b"%%EOF")
    offsets = xref_offsets(pdf)
    for number, offset in enumerate(offsets, start=1):
        assert pdf[offset:].startswith(f"{number} 0 obj".encode())
    stream = re.search(rb"/Length (\d+) >>\nstream\n", pdf)
    assert stream is not None
    length = int(stream.group(1))
    assert pdf[stream.end() + length :].startswith(b"\nendstream")
    assert b"(Receipt for visit 700002) Tj" in pdf and b"Total: 85.00 $" in pdf
    assert (await client.get("/attendance/receipt_print/1")).status_code == 404


@pytest.mark.anyio
async def test_book_times_slot_is_accepted_by_post_records(
    client: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    for location, member, service, day in (
        (1001, 2101, 4101, "2026-11-27"),
        (1002, 2203, 4204, "2026-11-28"),
    ):
        slots = (
            await client.get(f"/book_times/{location}/{member}/{day}", params={"service_ids[]": service})
        ).json()["data"]
        assert slots
        slot = slots[len(slots) // 2]
        body = {
            "staff_id": member,
            "services": [{"id": service}],
            "client": {"phone": "+447700900555", "name": "Slot Taker"},
            "datetime": slot["datetime"],
            "seance_length": slot["seance_length"],
        }
        created = await client.post(f"/records/{location}", json=body)
        assert created.status_code == 201, created.text
        assert created.json()["data"][0]["datetime"] == slot["datetime"]
    dubai = sandbox.state.locations_by_id[1002].tz
    assert all(s.start.tzinfo == dubai for s in sandbox.state.appointments(1002))


@pytest.mark.anyio
async def test_any_team_member_slots_and_past_slots(client: httpx.AsyncClient) -> None:
    anyone = (await client.get("/book_times/1001/0/2026-11-27", params={"service_ids[]": 4102})).json()[
        "data"
    ]
    olivia = (await client.get("/book_times/1001/2101/2026-11-27", params={"service_ids[]": 4102})).json()[
        "data"
    ]
    assert {s["datetime"] for s in olivia} <= {s["datetime"] for s in anyone}
    yesterday = (await client.get("/book_times/1001/2101/2026-11-26")).json()["data"]
    assert yesterday == []
    hidden = (await client.get("/book_staff/1003")).json()["data"]
    assert 2303 not in [m["id"] for m in hidden]


@pytest.mark.anyio
async def test_request_log_never_keeps_tokens(sandbox: Sandbox, connect: Connect) -> None:
    async with connect(sandbox) as api:
        await api.post("/records/1001?x=1", json={"staff_id": 2101})
    async with connect(sandbox, user=None) as api:
        await api.get("/companies")
    first, second = sandbox.requests[0], sandbox.requests[1]
    assert (first.method, first.path, first.query, first.json, first.auth, first.status) == (
        "POST",
        "/api/v1/records/1001",
        {"x": ["1"]},
        {"staff_id": 2101},
        "partner_user",
        400,
    )
    assert (second.auth, second.status) == ("partner", 200)
    assert DEMO_USER_TOKEN not in repr(list(sandbox.requests)) and DEMO_PARTNER_TOKEN not in repr(
        list(sandbox.requests)
    )
    assert len(sandbox.requests.find(method="GET", path_contains="/companies")) == 1
