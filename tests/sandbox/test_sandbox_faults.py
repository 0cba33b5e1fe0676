"""Fault injection: every scripted kind, random faults by rate, latency, and dropped connections both
in process and over a real uvicorn socket on 127.0.0.1."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import AsyncGenerator, Callable
from contextlib import asynccontextmanager
from datetime import date

import anyio
import httpx
import pytest
import uvicorn

from altegio_mcp.sandbox import (
    DEMO_PARTNER_TOKEN,
    DEMO_USER_TOKEN,
    FaultConfig,
    Sandbox,
    SandboxConfig,
    create_sandbox,
)

Connect = Callable[..., httpx.AsyncClient]
HEADERS = {"Authorization": f"Bearer {DEMO_PARTNER_TOKEN}, User {DEMO_USER_TOKEN}"}
BOOKING = {
    "staff_id": 2101,
    "services": [{"id": 4101}],
    "client": {"phone": "+16465550142", "name": "Robin Park"},
    "datetime": "2026-11-27T14:00:00-05:00",
    "seance_length": 3600,
    "api_id": "retry-key-1",
}


def booked_by_api_id(sandbox: Sandbox, api_id: str) -> list[int]:
    return [a.id for a in sandbox.state.appointments(1001) if a.api_id == api_id]


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("retry_after", "header"), [(7, "7"), ("Wed, 21 Oct 2026 07:28:00 GMT", "Wed, 21 Oct 2026 07:28:00 GMT")]
)
async def test_scripted_status_is_one_shot(
    sandbox: Sandbox, client: httpx.AsyncClient, retry_after: int | str, header: str
) -> None:
    sandbox.faults.script(kind="status", status=503, retry_after=retry_after, path_pattern="/companies")
    failed = await client.get("/companies")
    assert (failed.status_code, failed.headers["Retry-After"]) == (503, header)
    assert failed.json()["success"] is False
    assert (await client.get("/companies")).status_code == 200
    assert sandbox.faults.pending == []


@pytest.mark.anyio
async def test_scripted_429_defaults_retry_after_and_matches_method(
    sandbox: Sandbox, client: httpx.AsyncClient
) -> None:
    fault = sandbox.faults.script(
        kind="status", status=429, method="POST", path_pattern=r"/records/\d+$", times=2
    )
    assert (await client.get("/records/1001")).status_code == 200
    first = await client.post("/records/1001", json=BOOKING)
    assert (first.status_code, first.headers["Retry-After"]) == (429, "1")
    assert fault.times == 1
    assert (await client.post("/records/1001", json=BOOKING)).status_code == 429
    assert (await client.post("/records/1001", json=BOOKING)).status_code == 201


@pytest.mark.anyio
async def test_drop_before_commit_changes_nothing(sandbox: Sandbox, client: httpx.AsyncClient) -> None:
    sandbox.faults.script(kind="drop", method="POST", path_pattern="/records/")
    with pytest.raises(httpx.TransportError):
        await client.post("/records/1001", json=BOOKING)
    assert booked_by_api_id(sandbox, "retry-key-1") == []
    assert sandbox.requests[-1].status is None


@pytest.mark.anyio
async def test_drop_after_commit_keeps_the_write(sandbox: Sandbox, client: httpx.AsyncClient) -> None:
    sandbox.faults.script(kind="drop_after_commit", method="POST", path_pattern="/records/")
    with pytest.raises(httpx.RemoteProtocolError):
        await client.post("/records/1001", json=BOOKING)
    [record_id] = booked_by_api_id(sandbox, "retry-key-1")
    listed = (
        await client.get("/records/1001", params={"start_date": "2026-11-27", "end_date": "2026-11-27"})
    ).json()
    assert record_id in [a["id"] for a in listed["data"] if a["api_id"] == "retry-key-1"]
    retry = await client.post("/records/1001", json=BOOKING)
    assert retry.status_code == 422, "the slot is now taken by the committed write"


@pytest.mark.anyio
async def test_malformed_and_false_success_bodies(sandbox: Sandbox, client: httpx.AsyncClient) -> None:
    sandbox.faults.script(kind="malformed_json", path_pattern="/companies")
    broken = await client.get("/companies")
    assert broken.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        broken.json()
    sandbox.faults.script(kind="success_false_200", path_pattern="/staff/", message="Temporary glitch")
    refused = await client.get("/staff/1001")
    assert (refused.status_code, refused.json()) == (
        200,
        {"success": False, "data": None, "meta": {"message": "Temporary glitch"}},
    )


@pytest.mark.anyio
async def test_json_instead_of_pdf(sandbox: Sandbox, client: httpx.AsyncClient) -> None:
    sandbox.faults.script(kind="json_instead_of_pdf", path_pattern="/attendance/receipt_print/")
    response = await client.get("/attendance/receipt_print/700002")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert not response.content.startswith(b"%PDF")


@pytest.mark.anyio
async def test_delay_and_latency(sandbox: Sandbox, client: httpx.AsyncClient) -> None:
    sandbox.faults.script(kind="delay", seconds=0.05, path_pattern="/companies")
    started = time.perf_counter()
    assert (await client.get("/companies")).status_code == 200
    assert time.perf_counter() - started >= 0.05
    sandbox.faults.config.latency_seconds = 0.05
    started = time.perf_counter()
    assert (await client.get("/companies")).status_code == 200
    assert time.perf_counter() - started >= 0.05


@pytest.mark.anyio
@pytest.mark.parametrize(("status", "retry_after"), [(503, "1"), (429, "1"), (500, None), (502, None)])
async def test_error_rates(connect: Connect, status: int, retry_after: str | None) -> None:
    sandbox = create_sandbox(
        SandboxConfig(today=date(2026, 11, 27), faults=FaultConfig(error_rates={status: 1.0}))
    )
    async with connect(sandbox) as api:
        response = await api.get("/records/1001")
    assert response.status_code == status
    assert response.headers.get("Retry-After") == retry_after
    assert response.json()["success"] is False


@pytest.mark.anyio
async def test_drop_and_malformed_rates(connect: Connect) -> None:
    dropping = create_sandbox(SandboxConfig(today=date(2026, 11, 27), faults=FaultConfig(drop_rate=1.0)))
    async with connect(dropping) as api:
        with pytest.raises(httpx.TransportError):
            await api.get("/companies")
    garbled = create_sandbox(SandboxConfig(today=date(2026, 11, 27), faults=FaultConfig(malformed_rate=1.0)))
    async with connect(garbled) as api:
        with pytest.raises(json.JSONDecodeError):
            (await api.get("/companies")).json()


@pytest.mark.anyio
async def test_random_faults_repeat_for_the_same_seed(connect: Connect) -> None:
    async def statuses(seed: int) -> list[int]:
        faults = FaultConfig(error_rates={503: 0.4}, seed=seed)
        sandbox = create_sandbox(SandboxConfig(today=date(2026, 11, 27), faults=faults))
        async with connect(sandbox) as api:
            return [(await api.get("/companies")).status_code for _ in range(12)]

    first, again, other = await statuses(7), await statuses(7), await statuses(8)
    assert first == again
    assert {200, 503} == set(first)
    assert first != other


@pytest.mark.anyio
async def test_faults_are_off_by_default_and_control_routes_bypass_them(
    sandbox: Sandbox, client: httpx.AsyncClient
) -> None:
    assert sandbox.faults.config == FaultConfig()
    sandbox.faults.config.error_rates = {503: 1.0}
    control = await client.get("http://sandbox.local/__sandbox__/state")
    assert control.status_code == 200 and control.json()["data"]["locations"] == 3
    scripted = await client.post(
        "http://sandbox.local/__sandbox__/faults",
        json={"kind": "status", "status": 502, "path_pattern": "/companies"},
    )
    assert scripted.status_code == 201 and len(sandbox.faults.pending) == 1
    assert (await client.delete("http://sandbox.local/__sandbox__/faults")).json()["data"] == {"pending": 0}
    bad = await client.post("http://sandbox.local/__sandbox__/faults", json={"kind": "explode"})
    assert bad.status_code == 422


class ReadyServer(uvicorn.Server):
    """A uvicorn server that signals when it accepts connections."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = anyio.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        self.ready.set()


@asynccontextmanager
async def served(sandbox: Sandbox) -> AsyncGenerator[str, None]:
    """Serve the sandbox with uvicorn on an ephemeral 127.0.0.1 port for the duration of the block."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = ReadyServer(
        uvicorn.Config(sandbox.app, lifespan="off", ws="none", log_config=None, log_level="critical")
    )
    try:
        async with anyio.create_task_group() as group:
            group.start_soon(server.serve, [sock])
            with anyio.fail_after(5):
                await server.ready.wait()
            try:
                yield f"http://127.0.0.1:{port}"
            finally:
                server.should_exit = True
    finally:
        sock.close()


@pytest.mark.anyio
async def test_drops_over_a_real_socket(sandbox: Sandbox) -> None:
    async with (
        served(sandbox) as origin,
        httpx.AsyncClient(base_url=f"{origin}/api/v1", headers=HEADERS) as api,
    ):
        assert (await api.get("/companies")).status_code == 200
        sandbox.faults.script(kind="drop", path_pattern="/companies")
        with pytest.raises(httpx.TransportError):
            await api.get("/companies")
        sandbox.faults.script(kind="drop_after_commit", method="POST", path_pattern="/records/")
        with pytest.raises(httpx.RemoteProtocolError):
            await api.post("/records/1001", json=BOOKING)
        assert len(booked_by_api_id(sandbox, "retry-key-1")) == 1
        sandbox.faults.script(kind="status", status=503, retry_after=3, path_pattern="/companies")
        unavailable = await api.get("/companies")
        assert (unavailable.status_code, unavailable.headers["Retry-After"]) == (503, "3")
        reset = await api.post(f"{origin}/__sandbox__/reset")
        assert reset.json()["data"] == {"reset": True}
        assert booked_by_api_id(sandbox, "retry-key-1") == []
        assert (await api.get("/companies")).status_code == 200
