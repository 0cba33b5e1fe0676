"""The connection guard in process: header deadline, idle-first shedding, 503 when all are busy, quiet logs."""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from altegio_mcp.serving import MIN_CONNECTIONS, ConnectionGuard, ServeOptions, guarded_server
from tests.flood import free_port

pytestmark = pytest.mark.anyio


async def ok(_request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


async def slow(_request: Request) -> PlainTextResponse:
    await anyio.sleep(3)
    return PlainTextResponse("slow")


APP = Starlette(routes=[Route("/ok", ok), Route("/slow", slow)])


@asynccontextmanager
async def guarded(header_timeout: float) -> AsyncIterator[tuple[int, ConnectionGuard]]:
    port = free_port()
    options = ServeOptions(
        host="127.0.0.1",
        port=port,
        header_timeout=header_timeout,
        max_connections=MIN_CONNECTIONS,
        access_log=False,
        log_level="WARNING",
    )
    server = guarded_server(APP, options)
    async with anyio.create_task_group() as tg:
        tg.start_soon(server.serve)
        with anyio.fail_after(10):
            while not server.started:  # noqa: ASYNC110 - uvicorn exposes a flag, not an event
                await anyio.sleep(0.01)
        try:
            yield port, server.guard
        finally:
            server.should_exit = True


def idle_sockets(port: int, count: int) -> list[socket.socket]:
    socks: list[socket.socket] = []
    for _ in range(count):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.setblocking(False)
        socks.append(s)
    return socks


def closed_by_server(socks: list[socket.socket]) -> int:
    closed = 0
    for s in socks:
        try:
            closed += s.recv(1, socket.MSG_PEEK) == b""
        except BlockingIOError:
            pass
        except OSError:
            closed += 1
    return closed


async def test_idle_sockets_are_shed_and_timed_out_while_callers_are_served() -> None:
    async with guarded(header_timeout=1.0) as (port, guard), httpx.AsyncClient() as http:
        socks = idle_sockets(port, 3 * MIN_CONNECTIONS)
        await anyio.sleep(0.3)
        answer = await http.get(f"http://127.0.0.1:{port}/ok")
        assert answer.status_code == 200
        early = closed_by_server(socks)
        assert early >= 2 * MIN_CONNECTIONS - 2  # the oldest idle ones made room for newer ones
        await anyio.sleep(1.5)
        assert closed_by_server(socks) == len(socks)  # the rest hit the header deadline
        slow_header = socket.create_connection(("127.0.0.1", port), timeout=5)
        slow_header.setblocking(False)
        started = time.monotonic()
        closed = False
        for ch in b"GET /ok HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100:  # dribbling does not help
            try:
                slow_header.send(bytes([ch]))
                await anyio.sleep(0.05)
                closed = slow_header.recv(1, socket.MSG_PEEK) == b""
            except BlockingIOError:
                continue
            except OSError:
                closed = True
            if closed:
                break
        assert closed
        assert time.monotonic() - started < 3
        for s in [*socks, slow_header]:
            s.close()
    assert guard.totals.get("evicted idle", 0) >= 2 * MIN_CONNECTIONS - 2
    assert guard.totals.get("closed after the header timeout", 0) >= 1


async def test_when_every_connection_is_busy_a_newcomer_gets_503() -> None:
    async with (
        guarded(header_timeout=5.0) as (port, guard),
        httpx.AsyncClient(limits=httpx.Limits(max_connections=None), timeout=10) as http,
    ):
        statuses: list[int] = []
        async with anyio.create_task_group() as tg:
            for _ in range(MIN_CONNECTIONS):
                tg.start_soon(http.get, f"http://127.0.0.1:{port}/slow")
            await anyio.sleep(1)
            async with httpx.AsyncClient() as fresh:
                busy = await fresh.get(f"http://127.0.0.1:{port}/ok")
                statuses.append(busy.status_code)
                assert busy.headers["retry-after"] == "1"
        assert statuses == [503]
        after = await http.get(f"http://127.0.0.1:{port}/ok")
        assert after.status_code == 200
    assert guard.totals.get("refused with 503 (every connection busy)", 0) >= 1


async def test_out_of_descriptor_accept_errors_make_one_line(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    guard = ConnectionGuard(max_connections=100, header_timeout=10)
    loop = asyncio.get_running_loop()
    for _ in range(1000):
        guard.exception_handler(
            loop,
            {"message": "socket.accept() out of system resource", "exception": OSError(errno.EMFILE, "x")},
        )
    await anyio.sleep(0.05)
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 1
    assert "1000 accept failures" in lines[0]
    assert not [r for r in caplog.records if r.exc_info]
