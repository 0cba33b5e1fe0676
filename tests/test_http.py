"""Streamable HTTP on 127.0.0.1 with uvicorn: auth, Host checks, health, per-caller identity."""

from __future__ import annotations

import re
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx
import httpx2
import pytest
import uvicorn
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from pydantic import SecretStr

from altegio_mcp.http import build_http_app
from altegio_mcp.sandbox import (
    DEMO_PARTNER_TOKEN,
    DEMO_USER_TOKEN,
    DUBAI_LOCATION_ID,
    NEW_YORK_LOCATION_ID,
    SECOND_USER_TOKEN,
    SandboxConfig,
    create_sandbox,
)
from altegio_mcp.server import SANDBOX_BASE_URL, Upstream
from altegio_mcp.settings import Settings
from tests.harness import FAST, TODAY, awaits_confirmation, text_of

pytestmark = pytest.mark.anyio

ALICE = "alice-key-0123456789"
BOB = "bob-key-9876543210"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@asynccontextmanager
async def running_server(
    wrap_transport: Callable[[httpx.AsyncBaseTransport], httpx.AsyncBaseTransport] | None = None,
    **overrides: Any,
) -> AsyncIterator[str]:
    port = free_port()
    sandbox = create_sandbox(SandboxConfig(today=TODAY))
    transport: httpx.AsyncBaseTransport = sandbox.transport()
    if wrap_transport is not None:
        transport = wrap_transport(transport)
    values: dict[str, Any] = {
        "partner_token": SecretStr(DEMO_PARTNER_TOKEN),
        "base_url": SANDBOX_BASE_URL,
        "http_keys": SecretStr(f"{ALICE}={DEMO_USER_TOKEN},{BOB}={SECOND_USER_TOKEN}"),
        "http_port": port,
        "location_id": NEW_YORK_LOCATION_ID,
        "toolsets": ["all"],
        **FAST,
    }
    values.update(overrides)
    settings = Settings(**values)
    built = build_http_app(settings, upstream=Upstream(settings, transport, None, "sandbox", sandbox))
    server = uvicorn.Server(
        uvicorn.Config(built.app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    async with anyio.create_task_group() as tg:
        tg.start_soon(server.serve)
        with anyio.fail_after(10):
            while not server.started:  # noqa: ASYNC110 - uvicorn exposes a flag, not an event
                await anyio.sleep(0.01)
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            server.should_exit = True


@asynccontextmanager
async def mcp_client(base: str, key: str | None, **options: Any) -> AsyncIterator[Client]:
    """An MCP client over streamable HTTP carrying `Authorization: Bearer <key>`."""
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=30) as http,
        Client(streamable_http_client(f"{base}/mcp", http_client=http), **options) as client,
    ):
        yield client


INIT = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "t", "version": "1"},
    },
}
HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


async def test_health_and_unauthenticated_requests() -> None:
    async with running_server() as base, httpx.AsyncClient(base_url=base) as http:
        health = await http.get("/health")
        assert health.status_code == 200
        assert health.json()["status"] == "ok"
        anonymous = await http.post("/mcp", json=INIT, headers=HEADERS)
        assert anonymous.status_code == 401
        assert "Bearer" in anonymous.headers["www-authenticate"]
        wrong = await http.post("/mcp", json=INIT, headers={**HEADERS, "Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        ok = await http.post("/mcp", json=INIT, headers={**HEADERS, "Authorization": f"Bearer {ALICE}"})
        assert ok.status_code == 200


async def test_bad_host_and_origin_are_rejected() -> None:
    async with running_server() as base, httpx.AsyncClient(base_url=base) as http:
        auth = {**HEADERS, "Authorization": f"Bearer {ALICE}"}
        evil_host = await http.post("/mcp", json=INIT, headers={**auth, "Host": "evil.example:80"})
        assert evil_host.status_code == 421
        evil_origin = await http.post("/mcp", json=INIT, headers={**auth, "Origin": "http://evil.example"})
        assert evil_origin.status_code == 403


async def test_public_hostname_is_accepted_when_configured() -> None:
    async with (
        running_server(http_public_url="https://booking.example.com") as base,
        httpx.AsyncClient(base_url=base) as http,
    ):
        auth = {**HEADERS, "Authorization": f"Bearer {ALICE}", "Host": "booking.example.com"}
        response = await http.post("/mcp", json=INIT, headers=auth)
        assert response.status_code == 200


async def test_two_callers_act_as_different_users() -> None:
    async with running_server() as base:
        async with mcp_client(base, ALICE) as alice:
            mine = await alice.call_tool("whoami", {})
            dubai = await alice.call_tool("list_services", {"location_id": DUBAI_LOCATION_ID})
        async with mcp_client(base, BOB) as bob:
            theirs = await bob.call_tool("whoami", {})
            refused = await bob.call_tool("list_services", {"location_id": DUBAI_LOCATION_ID})
    assert not mine.is_error
    assert not theirs.is_error
    assert text_of(mine) != text_of(theirs)
    assert str(DUBAI_LOCATION_ID) in text_of(mine)
    assert str(DUBAI_LOCATION_ID) not in text_of(theirs)
    assert not dubai.is_error
    assert refused.is_error
    for result in (mine, theirs):
        assert DEMO_USER_TOKEN not in text_of(result)
        assert SECOND_USER_TOKEN not in text_of(result)


async def test_confirmation_token_is_bound_to_the_caller() -> None:
    async with running_server() as base:
        async with mcp_client(base, ALICE) as alice:
            listed = await alice.call_tool(
                "list_appointments", {"start_date": "2026-11-30", "end_date": "2026-12-05"}
            )
            assert listed.structured_content is not None
            target = listed.structured_content["items"][0]["id"]
            first = await alice.call_tool("delete_appointment", {"appointment_id": target})
            token = re.search(r'confirmation_token="([^"]+)"', text_of(first))
            assert token
        async with mcp_client(base, BOB) as bob:
            stolen = await bob.call_tool(
                "delete_appointment", {"appointment_id": target, "confirmation_token": token.group(1)}
            )
        assert stolen.is_error
        assert "another caller" in text_of(stolen)
        async with mcp_client(base, ALICE) as alice:
            still_there = await alice.call_tool("get_appointment", {"appointment_id": target})
            assert not still_there.is_error
            done = await alice.call_tool(
                "delete_appointment", {"appointment_id": target, "confirmation_token": token.group(1)}
            )
            assert not done.is_error, text_of(done)


async def test_passthrough_mode_uses_the_callers_bearer_as_user_token() -> None:
    async with (
        running_server(http_auth="passthrough", http_keys=None) as base,
        mcp_client(base, SECOND_USER_TOKEN) as frontdesk,
    ):
        refused = await frontdesk.call_tool("list_services", {"location_id": DUBAI_LOCATION_ID})
        allowed = await frontdesk.call_tool("list_services", {"location_id": NEW_YORK_LOCATION_ID})
    assert refused.is_error
    assert not allowed.is_error
    # A bearer Altegio does not accept never reaches the tools: tests/test_http_modes.py.


def test_http_mode_refuses_to_start_without_keys() -> None:
    settings = Settings(partner_token=SecretStr("p"), sandbox=False)
    with pytest.raises(ValueError, match="ALTEGIO_HTTP_KEYS"):
        build_http_app(
            settings,
            upstream=Upstream(settings, httpx.MockTransport(lambda _r: httpx.Response(500)), None, "t"),
        )


async def test_previews_never_show_another_callers_series(monkeypatch: pytest.MonkeyPatch) -> None:
    """Bob, who sees only New York, asks to change and delete Alice's Dubai series: the previews come
    from reads made as Bob (a 403), never from anything the server saw while serving Alice."""
    from datetime import UTC, datetime

    from altegio_mcp.operations import recurring

    monkeypatch.setattr(recurring, "utc_now", lambda: datetime(2026, 11, 27, 12, tzinfo=UTC))
    create = {
        "location_id": DUBAI_LOCATION_ID,
        "schedule_id": 32,
        "client_id": 5102,
        "schedule_day_ids": [321, 322],
    }
    async with running_server() as base:
        async with mcp_client(base, ALICE) as alice:
            made = await alice.call_tool("create_recurring_appointments", create)
            assert made.structured_content is not None, text_of(made)
            series = {
                "location_id": DUBAI_LOCATION_ID,
                "schedule_id": 32,
                "client_schedule_id": made.structured_content["client_schedule_id"],
            }
            dates = [d for day in made.structured_content["days"] for d in day["upcoming"]]
            assert dates
        async with mcp_client(base, BOB) as bob:
            change = await bob.call_tool(
                "update_recurring_appointments", {**series, "schedule_day_ids": [321]}
            )
            delete = await bob.call_tool("delete_recurring_appointments", series)
    for result in (change, delete):
        text = text_of(result)
        # Refused, or held for confirmation (a result, not an error): either way nothing of Alice's.
        assert result.is_error or awaits_confirmation(result), text
        assert "5102" not in text, text
        assert not any(d[:10] in text for d in dates), text
    assert "403" in text_of(change) or "access" in text_of(change).lower(), text_of(change)
