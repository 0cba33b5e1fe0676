"""HTTP hardening: the streamable HTTP server as `altegio-mcp serve --http` runs it (the uvicorn
configuration is taken from `serve_http` itself), on 127.0.0.1, under hostile requests.

Oversized bodies, invalid JSON-RPC, wrong content types, missing or wrong credentials and foreign
Host/Origin headers are refused with a clean 4xx (never a 500 or a traceback), slow clients do not
hold up others, and after every test the server still answers a real MCP call.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx
import httpx2
import pytest
import uvicorn
from anyio.abc import SocketStream
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from pydantic import SecretStr

from altegio_mcp import http as http_module
from altegio_mcp.sandbox import DEMO_USER_TOKEN
from altegio_mcp.settings import Settings
from tests.harness import FAST, text_of
from tests.reliability.conftest import Tally, free_port, running

pytestmark = pytest.mark.anyio

KEY = "hardening-key-0123456789"
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
HEADERS = {
    "Accept": "application/json, text/event-stream",
    "Content-Type": "application/json",
    "Authorization": f"Bearer {KEY}",
}


def production_config(monkeypatch: pytest.MonkeyPatch, port: int) -> uvicorn.Config:
    """The uvicorn configuration `serve_http` builds, captured instead of run (demo data, one key)."""
    settings = Settings(
        sandbox=True,
        http_port=port,
        http_keys=SecretStr(f"{KEY}={DEMO_USER_TOKEN}"),
        toolsets=["account"],
        confirm_secret=SecretStr("hardening"),
        **FAST,
    )
    captured: list[uvicorn.Config] = []

    def capture(self: uvicorn.Server, *_args: Any, **_kwargs: Any) -> None:
        captured.append(self.config)

    with monkeypatch.context() as patch:
        patch.setattr(uvicorn.Server, "run", capture)
        assert http_module.serve_http(settings) == 0
    assert len(captured) == 1
    return captured[0]


@asynccontextmanager
async def production_server(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[tuple[str, uvicorn.Config]]:
    port = free_port()
    config = production_config(monkeypatch, port)
    assert config.host == "127.0.0.1"
    async with running(uvicorn.Server(config)):
        yield f"http://127.0.0.1:{port}", config


async def still_serving(base: str) -> None:
    """Health answers, and a real MCP session can call a tool."""
    async with httpx.AsyncClient(base_url=base, timeout=5) as http:
        assert (await http.get("/health")).status_code == 200
    client_http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {KEY}"}, timeout=10)
    async with client_http, Client(streamable_http_client(f"{base}/mcp", http_client=client_http)) as client:
        result = await client.call_tool("whoami", {})
    assert not result.is_error, text_of(result)


def assert_clean_refusal(response: httpx.Response, statuses: set[int]) -> None:
    assert response.status_code in statuses, (response.status_code, response.text[:300])
    assert "Traceback" not in response.text
    assert 'File "' not in response.text


# --- bodies ---------------------------------------------------------------------------------------------


async def test_oversized_bodies_get_413(monkeypatch: pytest.MonkeyPatch, tally: Tally) -> None:
    big_call = {
        "jsonrpc": "2.0",
        "id": 2,
        "method": "tools/call",
        "params": {"name": "whoami", "arguments": {"padding": "A" * (http_module.MAX_BODY_BYTES + 10)}},
    }

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(http_module.MAX_BODY_BYTES // 65536 + 2):
            yield b"A" * 65536

    async with (
        production_server(monkeypatch) as (base, _),
        httpx.AsyncClient(base_url=base, timeout=10) as http,
    ):
        sized = await http.post("/mcp", content=json.dumps(big_call).encode(), headers=HEADERS)
        assert_clean_refusal(sized, {413})
        streamed = await http.post("/mcp", content=chunks(), headers=HEADERS)  # chunked: no Content-Length
        assert_clean_refusal(streamed, {413})
        await still_serving(base)
    tally.add("http.cases", 2)


INVALID_BODIES = {
    "not-json": b"{not json",
    "empty": b"",
    "null": b"null",
    "junk-array": b'[1, 2, {"a": 3}]',
    "no-method": b'{"jsonrpc": "2.0", "id": 1}',
    "params-not-object": b'{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": "x"}',
    "arguments-not-object": b'{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "whoami", "arguments": [1]}}',
    "unknown-method": b'{"jsonrpc": "2.0", "id": 1, "method": "nope/nope"}',
    "bad-utf8": b'{"jsonrpc": "2.0", "id": 1, "method": "\xff\xfe"}',
    "deep-nesting": b'{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": '
    + b"[" * 50_000
    + b"]" * 50_000
    + b"}",
    "huge-id": b'{"jsonrpc": "2.0", "id": ' + b"9" * 5000 + b', "method": "tools/list"}',
    "wrong-version": b'{"jsonrpc": "1.0", "id": 1, "method": "tools/list"}',
}


async def test_invalid_jsonrpc_bodies_are_refused_cleanly(
    monkeypatch: pytest.MonkeyPatch, tally: Tally
) -> None:
    async with (
        production_server(monkeypatch) as (base, _),
        httpx.AsyncClient(base_url=base, timeout=10) as http,
    ):
        for name, body in INVALID_BODIES.items():
            response = await http.post("/mcp", content=body, headers=HEADERS)
            assert_clean_refusal(response, {200, 400})
            payload = response.json()
            assert "error" in payload, (name, payload)
            tally.add("http.cases")
        await still_serving(base)


async def test_wrong_content_type_and_accept(monkeypatch: pytest.MonkeyPatch, tally: Tally) -> None:
    body = json.dumps(INIT).encode()
    async with (
        production_server(monkeypatch) as (base, _),
        httpx.AsyncClient(base_url=base, timeout=10) as http,
    ):
        for content_type in (
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
        ):
            response = await http.post(
                "/mcp", content=body, headers={**HEADERS, "Content-Type": content_type}
            )
            assert_clean_refusal(response, {400, 415})
            tally.add("http.cases")
        await still_serving(base)


# --- who may call -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer",
        "Bearer wrong-key",
        "Basic aGFyZGVuaW5nOmtleQ==",
        f"bearer{KEY}",
        "Bearer " + "k" * 5000,
    ],
    ids=["none", "empty", "scheme-only", "wrong", "basic", "no-space", "oversized"],
)
async def test_unauthenticated_requests_get_401(
    authorization: str | None, monkeypatch: pytest.MonkeyPatch, tally: Tally
) -> None:
    headers = {k: v for k, v in HEADERS.items() if k != "Authorization"}
    if authorization is not None:
        headers["Authorization"] = authorization
    async with (
        production_server(monkeypatch) as (base, _),
        httpx.AsyncClient(base_url=base, timeout=10) as http,
    ):
        response = await http.post("/mcp", json=INIT, headers=headers)
        assert_clean_refusal(response, {401})
        assert "Bearer" in response.headers.get("www-authenticate", "")
        assert KEY not in response.text
    tally.add("http.cases")


async def test_foreign_host_and_origin_are_refused(monkeypatch: pytest.MonkeyPatch, tally: Tally) -> None:
    async with (
        production_server(monkeypatch) as (base, config),
        httpx.AsyncClient(base_url=base, timeout=10) as http,
    ):
        for host in ("evil.example", f"evil.example:{config.port}", "127.0.0.1.evil.example", "localhost:1"):
            response = await http.post("/mcp", json=INIT, headers={**HEADERS, "Host": host})
            assert_clean_refusal(response, {421})
            tally.add("http.cases")
        for origin in ("http://evil.example", "null", f"http://127.0.0.1:{config.port}.evil.example"):
            response = await http.post("/mcp", json=INIT, headers={**HEADERS, "Origin": origin})
            assert_clean_refusal(response, {403})
            tally.add("http.cases")
        await still_serving(base)


# --- slow clients ------------------------------------------------------------------------------------------


async def stalled(port: int, payload: bytes) -> SocketStream:
    stream = await anyio.connect_tcp("127.0.0.1", port)
    if payload:
        await stream.send(payload)
    return stream


def request_head(port: int, length: int) -> bytes:
    return (
        f"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {KEY}\r\n"
        f"Content-Type: application/json\r\nAccept: application/json, text/event-stream\r\n"
        f"Content-Length: {length}\r\n\r\n"
    ).encode()


async def test_slow_clients_do_not_block_others(monkeypatch: pytest.MonkeyPatch, tally: Tally) -> None:
    """Clients that send nothing, half a header, or headers and half a body, then stall."""
    async with production_server(monkeypatch) as (base, config):
        port = config.port
        streams = [
            await stalled(port, b""),
            await stalled(port, b"POST /mcp HTTP/1.1\r\nHost: 127.0.0"),
            await stalled(port, request_head(port, 500)),
            await stalled(port, request_head(port, 500) + b'{"jsonrpc": "2.0", "id": 1, '),
        ]
        try:
            with anyio.fail_after(5):
                for _ in range(3):
                    await still_serving(base)
        finally:
            for stream in streams:
                await stream.aclose()
        await still_serving(base)
    tally.add("http.cases", len(streams))


async def test_idle_connections_cannot_lock_out_callers(monkeypatch: pytest.MonkeyPatch) -> None:
    async with production_server(monkeypatch) as (base, config):
        limit = config.limit_concurrency or 256
        streams = [await stalled(config.port, b"") for _ in range(limit)]
        try:
            async with httpx.AsyncClient(base_url=base, timeout=5) as http:
                response = await http.post("/mcp", json=INIT, headers=HEADERS)
        finally:
            for stream in streams:
                await stream.aclose()
    assert response.status_code == 200, response.status_code
