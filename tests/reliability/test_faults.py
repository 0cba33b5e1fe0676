"""Upstream faults through the MCP client: reads recover within the retry budget, writes are never
retried blindly, and every failure is an `is_error` text a model can act on.

The server's `AltegioClient` runs on a fake clock (`fake_time`), so a `Retry-After: 2` or an
exponential backoff costs no real time; only the timeout tests, which need a real socket, wait
(a few tens of milliseconds per attempt).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from email.utils import format_datetime
from typing import Any

import pytest
from mcp import Client

from altegio_mcp.sandbox import FaultKind, Sandbox, SandboxConfig, create_sandbox
from altegio_mcp.server import Upstream, build_server
from tests.harness import TODAY, Session, sandbox_session, sandbox_settings, text_of
from tests.reliability.conftest import (
    NOW,
    SESSION_SETTINGS,
    FakeTime,
    Tally,
    assert_written_for_a_model,
    canonical_arguments,
    serve_asgi,
    tool_catalogue,
)

pytestmark = pytest.mark.anyio

RECORD = "/api/v1/record/1001/600038"
MAX_RETRIES = 3
# Reads the client cannot retry because Altegio's API sends them as POST (a search body).
READ_BY_POST = {"search_clients", "list_client_visits"}


def new_sandbox() -> Sandbox:
    return create_sandbox(SandboxConfig(today=TODAY))


def attempts(sandbox: Sandbox, method: str, path: str) -> list[int | None]:
    """Statuses answered to each request for exactly this method and path (None: dropped)."""
    return [r.status for r in sandbox.requests if r.method == method and r.path == path]


def retries_of(session: Session) -> int:
    return session.server.runtime.client.stats.retries


def exactly(path: str) -> str:
    return re.escape(path) + "$"


@asynccontextmanager
async def faulty_session(sandbox: Sandbox, *tools: str, **overrides: Any) -> AsyncIterator[Session]:
    """A session serving only `tools` (building every tool's schemas costs ~0.2 s per server)."""
    only = {"toolsets": [], "tools": [*tools, "get_location"]}
    async with sandbox_session(sandbox, **{**SESSION_SETTINGS, **only, **overrides}) as session:
        yield session


# --- 429 and Retry-After ------------------------------------------------------------------------------


async def test_429_storm_with_retry_after_seconds_recovers(fake_time: FakeTime, tally: Tally) -> None:
    sandbox = new_sandbox()
    sandbox.faults.script(
        kind="status", status=429, retry_after=2, times=3, method="GET", path_pattern=exactly(RECORD)
    )
    async with faulty_session(sandbox, "get_appointment") as session:
        result = await session.call("get_appointment", {"appointment_id": 600038})
        retried = retries_of(session)
    assert not result.is_error, text_of(result)
    assert attempts(sandbox, "GET", RECORD) == [429, 429, 429, 200]
    assert fake_time.sleeps == [2.0, 2.0, 2.0]
    assert retried == 3
    tally.add("faults.requests_retried", retried)
    tally.add("faults.cases")


async def test_429_with_retry_after_http_date_recovers(fake_time: FakeTime, tally: Tally) -> None:
    sandbox = new_sandbox()
    when = format_datetime(NOW + timedelta(seconds=7), usegmt=True)
    sandbox.faults.script(kind="status", status=429, retry_after=when, times=2, path_pattern=exactly(RECORD))
    async with faulty_session(sandbox, "get_appointment") as session:
        result = await session.call("get_appointment", {"appointment_id": 600038})
        tally.add("faults.requests_retried", retries_of(session))
    assert not result.is_error, text_of(result)
    assert attempts(sandbox, "GET", RECORD) == [429, 429, 200]
    assert fake_time.sleeps == [7.0, 7.0]
    tally.add("faults.cases")


async def test_429_storm_longer_than_the_budget_fails_cleanly(fake_time: FakeTime, tally: Tally) -> None:
    sandbox = new_sandbox()
    sandbox.faults.script(kind="status", status=429, retry_after=1, times=50, path_pattern=exactly(RECORD))
    async with faulty_session(sandbox, "get_appointment") as session:
        result = await session.call("get_appointment", {"appointment_id": 600038})
        tally.add("faults.requests_retried", retries_of(session))
    assert result.is_error
    assert attempts(sandbox, "GET", RECORD) == [429] * (1 + MAX_RETRIES)
    text = text_of(result)
    assert_written_for_a_model(text)
    assert "rate limit" in text
    assert "Wait about 1 s" in text
    tally.add("faults.cases")


async def test_retry_after_beyond_the_cap_is_not_waited_for(fake_time: FakeTime, tally: Tally) -> None:
    sandbox = new_sandbox()
    sandbox.faults.script(kind="status", status=429, retry_after=600, times=5, path_pattern=exactly(RECORD))
    async with faulty_session(sandbox, "get_appointment", retry_max_wait=30.0) as session:
        result = await session.call("get_appointment", {"appointment_id": 600038})
    assert result.is_error
    assert attempts(sandbox, "GET", RECORD) == [429]
    assert fake_time.sleeps == []
    assert "Wait about 600 s" in text_of(result)
    assert_written_for_a_model(text_of(result))
    tally.add("faults.cases")


# --- 5xx ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "waits"),
    [(502, [0.5, 1.0]), (503, [1.0, 1.0]), (504, [0.5, 1.0])],  # the sandbox's 503 carries Retry-After: 1
)
async def test_5xx_burst_on_a_read_recovers(
    status: int, waits: list[float], fake_time: FakeTime, tally: Tally
) -> None:
    sandbox = new_sandbox()
    sandbox.faults.script(kind="status", status=status, times=2, path_pattern=exactly(RECORD))
    async with faulty_session(sandbox, "get_appointment") as session:
        result = await session.call("get_appointment", {"appointment_id": 600038})
        tally.add("faults.requests_retried", retries_of(session))
    assert not result.is_error, text_of(result)
    assert attempts(sandbox, "GET", RECORD) == [status, status, 200]
    assert fake_time.sleeps == waits
    tally.add("faults.cases")


async def test_500_is_not_retried_and_explained(fake_time: FakeTime, tally: Tally) -> None:
    sandbox = new_sandbox()
    sandbox.faults.script(kind="status", status=500, times=5, path_pattern=exactly(RECORD))
    async with faulty_session(sandbox, "get_appointment") as session:
        result = await session.call("get_appointment", {"appointment_id": 600038})
    assert result.is_error
    assert attempts(sandbox, "GET", RECORD) == [500]
    assert_written_for_a_model(text_of(result))
    assert "HTTP 500" in text_of(result)
    tally.add("faults.cases")


async def test_5xx_storm_on_a_read_stops_at_the_budget(fake_time: FakeTime, tally: Tally) -> None:
    sandbox = new_sandbox()
    sandbox.faults.script(kind="status", status=503, times=50, path_pattern=exactly(RECORD))
    async with faulty_session(sandbox, "get_appointment") as session:
        result = await session.call("get_appointment", {"appointment_id": 600038})
        tally.add("faults.requests_retried", retries_of(session))
    assert result.is_error
    assert attempts(sandbox, "GET", RECORD) == [503] * (1 + MAX_RETRIES)
    assert_written_for_a_model(text_of(result))
    tally.add("faults.cases")


# --- broken answers -----------------------------------------------------------------------------------


async def test_dropped_connections_on_a_read_recover(fake_time: FakeTime, tally: Tally) -> None:
    sandbox = new_sandbox()
    sandbox.faults.script(kind="drop", times=2, path_pattern=exactly(RECORD))
    async with faulty_session(sandbox, "get_appointment") as session:
        result = await session.call("get_appointment", {"appointment_id": 600038})
        tally.add("faults.requests_retried", retries_of(session))
    assert not result.is_error, text_of(result)
    assert attempts(sandbox, "GET", RECORD) == [None, None, 200]
    tally.add("faults.cases")


async def test_malformed_json_on_a_read_recovers(fake_time: FakeTime, tally: Tally) -> None:
    sandbox = new_sandbox()
    sandbox.faults.script(kind="malformed_json", times=1, path_pattern=exactly(RECORD))
    async with faulty_session(sandbox, "get_appointment") as session:
        result = await session.call("get_appointment", {"appointment_id": 600038})
        tally.add("faults.requests_retried", retries_of(session))
    assert not result.is_error, text_of(result)
    assert attempts(sandbox, "GET", RECORD) == [200, 200]
    tally.add("faults.cases")


async def test_malformed_json_storm_fails_cleanly(fake_time: FakeTime, tally: Tally) -> None:
    sandbox = new_sandbox()
    sandbox.faults.script(kind="malformed_json", times=50, path_pattern=exactly(RECORD))
    async with faulty_session(sandbox, "get_appointment") as session:
        result = await session.call("get_appointment", {"appointment_id": 600038})
    assert result.is_error
    assert len(attempts(sandbox, "GET", RECORD)) == 1 + MAX_RETRIES
    assert "not valid JSON" in text_of(result)
    assert_written_for_a_model(text_of(result))
    tally.add("faults.cases")


async def test_success_false_inside_200_is_an_error_not_a_retry(fake_time: FakeTime, tally: Tally) -> None:
    sandbox = new_sandbox()
    sandbox.faults.script(
        kind="success_false_200",
        times=5,
        path_pattern=exactly(RECORD),
        message="Record is locked by another user.",
    )
    async with faulty_session(sandbox, "get_appointment") as session:
        result = await session.call("get_appointment", {"appointment_id": 600038})
    assert result.is_error
    assert attempts(sandbox, "GET", RECORD) == [200]
    text = text_of(result)
    assert "Record is locked by another user." in text
    assert_written_for_a_model(text)
    tally.add("faults.cases")


async def test_receipt_answering_json_instead_of_pdf(fake_time: FakeTime, tally: Tally) -> None:
    sandbox = new_sandbox()
    receipt = "/api/v1/attendance/receipt_print/700038"
    sandbox.faults.script(kind="json_instead_of_pdf", times=5, path_pattern=exactly(receipt))
    async with faulty_session(sandbox, "get_visit_receipt") as session:
        broken = await session.call("get_visit_receipt", {"visit_id": 700038})
        sandbox.faults.clear()
        fine = await session.call("get_visit_receipt", {"visit_id": 700038})
    assert broken.is_error
    assert "application/pdf" in text_of(broken)
    assert_written_for_a_model(text_of(broken))
    assert broken.structured_content is None
    assert not fine.is_error, text_of(fine)
    tally.add("faults.cases")


# --- every read recovers, every write is sent once -----------------------------------------------------


# Tools that answer from the server's own data and never contact Altegio.
LOCAL_TOOLS = {"search_api_operations", "describe_api_operation"}


def read_tools() -> list[Any]:
    params: list[Any] = []
    for tool in sorted(tool_catalogue().values(), key=lambda t: t.name):
        if not tool.read_only or tool.name in LOCAL_TOOLS:
            continue
        params.append(pytest.param(tool.name, id=tool.name))
    return params


def write_tools() -> list[str]:
    """Writes whose operation does not declare re-sending safe (the others are retried like reads)."""
    from altegio_mcp.operations import ALL_OPERATIONS

    unsafe = {op.name for op in ALL_OPERATIONS if not op.read_only and not op.resend_safe}
    return sorted(t.name for t in tool_catalogue().values() if not t.read_only and t.name in unsafe)


@pytest.mark.parametrize("tool_name", read_tools())
async def test_every_read_recovers_from_a_503_burst(
    tool_name: str, fake_time: FakeTime, tally: Tally
) -> None:
    """Learn which requests a read makes, then fail each of them twice with 503: it must still answer."""
    sandbox = new_sandbox()
    tool = tool_catalogue()[tool_name]
    async with faulty_session(sandbox, tool_name) as session:
        args = canonical_arguments(tool, sandbox)
        await session.call("get_location", {})  # warm the location cache so both runs send the same
        mark = len(sandbox.requests)
        baseline = await session.call(tool_name, args)
        if baseline.is_error and tool_name not in READ_BY_POST:
            pytest.skip(f"no working arguments known for {tool_name}: {text_of(baseline)[:200]}")
        calls = list(dict.fromkeys((r.method, r.path) for r in list(sandbox.requests)[mark:]))
        assert calls, f"{tool_name} sent nothing"
        for method, path in calls:
            sandbox.faults.script(
                kind="status", status=503, retry_after=0, times=2, method=method, path_pattern=exactly(path)
            )
        mark = len(sandbox.requests)
        again = await session.call(tool_name, args)
        retried = retries_of(session)
    assert not again.is_error, text_of(again)
    replay = Counter((r.method, r.path) for r in list(sandbox.requests)[mark:])
    for call in calls:
        assert replay[call] == 3, (call, replay)
    tally.add("faults.requests_retried", retried)
    tally.add("faults.cases")


@pytest.mark.parametrize("kind", ["status-503", "status-429", "drop"])
@pytest.mark.parametrize("tool_name", write_tools())
async def test_writes_are_never_retried_blindly(
    tool_name: str, kind: str, fake_time: FakeTime, tally: Tally
) -> None:
    """Every POST and PATCH fails; no write is repeated unless the server looked first (a lookup between)."""
    sandbox = new_sandbox()
    tool = tool_catalogue()[tool_name]
    fault: FaultKind = "drop" if kind == "drop" else "status"
    status = int(kind.split("-")[1]) if kind != "drop" else 503
    for method in ("POST", "PATCH"):
        sandbox.faults.script(kind=fault, status=status, retry_after=1, times=100, method=method)
    async with faulty_session(sandbox, tool_name, confirm="never-ask", allow_unconfirmed=True) as session:
        result = await session.call(tool_name, canonical_arguments(tool, sandbox))
    log = [(r.method, r.path) for r in sandbox.requests]
    # Searches are reads sent as POST (retried like GETs); everything else POSTed or PATCHed is a write.
    writes = [
        (i, call)
        for i, call in enumerate(log)
        if call[0] in {"POST", "PATCH"} and not call[1].endswith("/search")
    ]
    for n, (index, call) in enumerate(writes):
        earlier = [i for i, c in writes[:n] if c == call]
        if earlier:
            between = log[earlier[-1] + 1 : index]
            assert between, f"{call} repeated with no lookup in between: {log}"
            tally.add("faults.writes_resent_after_lookup")
    assert max(Counter(c for _, c in writes).values(), default=0) <= 2, log
    if writes:
        tally.add("faults.write_tools_exercised")
        assert result.is_error, text_of(result)
        assert_written_for_a_model(text_of(result))
    tally.add("faults.cases")


# --- timeouts (a real socket: ASGITransport has no timeouts) -------------------------------------------


@asynccontextmanager
async def socket_session(sandbox: Sandbox, **overrides: Any) -> AsyncIterator[Session]:
    async with serve_asgi(sandbox.app, lifespan="off") as base:
        only = {"toolsets": [], "tools": ["get_location", "get_appointment", "create_comment"]}
        settings = sandbox_settings(
            sandbox, **{**SESSION_SETTINGS, **only, "base_url": f"{base}/api/v1", **overrides}
        )
        server = build_server(settings, upstream=Upstream(settings, None, None, "sandbox", sandbox))
        async with Client(server.mcp) as client:
            yield Session(client, server, sandbox)


async def test_timeouts_on_a_read_recover_and_on_a_write_are_not_retried(
    fake_time: FakeTime, tally: Tally
) -> None:
    sandbox = new_sandbox()
    review = "/api/v1/comments/1001/2101"
    async with socket_session(sandbox, timeout=0.05) as session:
        await session.call("get_location", {})
        sandbox.faults.script(kind="delay", seconds=0.15, times=2, method="GET", path_pattern=exactly(RECORD))
        read = await session.call("get_appointment", {"appointment_id": 600038})
        tally.add("faults.requests_retried", retries_of(session))
        sandbox.faults.script(
            kind="delay", seconds=0.15, times=1, method="POST", path_pattern=exactly(review)
        )
        write = await session.call("create_comment", canonical_arguments(tool_catalogue()["create_comment"]))
    assert not read.is_error, text_of(read)
    assert len(attempts(sandbox, "GET", RECORD)) == 3
    assert write.is_error
    assert len(attempts(sandbox, "POST", review)) == 1
    text = text_of(write)
    assert "did not answer within 0.05 s" in text
    assert "Unknown whether it happened" in text and "list_comments" in text
    assert_written_for_a_model(text)
    tally.add("faults.cases", 2)
