"""No duplicate writes: a create whose answer is lost is looked up before it is sent again.

The sandbox's `drop_after_commit` fault saves the booking and then cuts the connection, the way a
proxy or a flaky network loses an answer after the work is done; `drop` cuts it before anything is
saved. `create_appointment` (api_id) and `create_client` (the phone, one client per phone) must end
with exactly one record either way, and fail cleanly, without a duplicate, when every attempt drops.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from mcp import Client

from altegio_mcp.sandbox import FaultKind, Sandbox, SandboxConfig, create_sandbox
from altegio_mcp.server import Upstream, build_server
from tests.harness import TODAY, Session, sandbox_session, sandbox_settings, text_of
from tests.reliability.conftest import (
    SESSION_SETTINGS,
    FakeTime,
    Tally,
    assert_written_for_a_model,
    serve_asgi,
    tool_catalogue,
)

pytestmark = pytest.mark.anyio

LOCATION = 1001
MEMBER = 2101
SERVICE = 4101
CLIENT = 5007
DAY = "2026-11-30"
BOOKINGS = "/api/v1/records/1001"
CLIENTS = "/api/v1/clients/1001"
SERVED = tool_catalogue()  # read at collection: `tools/list` of an all-toolsets server
TOOLS = [t for t in ("create_appointment", "create_client", "list_free_times", "get_location") if t in SERVED]
needs_create_client = pytest.mark.skipif(
    "create_client" not in SERVED, reason="create_client is not served yet"
)


def new_sandbox() -> Sandbox:
    return create_sandbox(SandboxConfig(today=TODAY))


@asynccontextmanager
async def session_for(sandbox: Sandbox, **overrides: Any) -> AsyncIterator[Session]:
    only = {"toolsets": [], "tools": TOOLS}
    async with sandbox_session(sandbox, **{**SESSION_SETTINGS, **only, **overrides}) as session:
        yield session


def posts(sandbox: Sandbox, path: str) -> int:
    return sum(1 for r in sandbox.requests if r.method == "POST" and r.path == path)


def bookings_at(sandbox: Sandbox, start: str) -> list[int]:
    """Ids of live appointments of the team member that start at `start` (ISO, with offset)."""
    return [
        a.id
        for a in sandbox.state.appointments(LOCATION)
        if a.staff_id == MEMBER and a.start.isoformat(timespec="seconds") == start
    ]


def clients_with_phone(sandbox: Sandbox, phone: str) -> list[int]:
    digits = re.sub(r"\D", "", phone)
    return [c.id for c in sandbox.state.clients(LOCATION) if re.sub(r"\D", "", c.phone or "") == digits]


async def free_starts(session: Session, count: int) -> list[str]:
    listed = await session.call(
        "list_free_times", {"team_member_id": MEMBER, "date": DAY, "service_ids": [SERVICE]}
    )
    assert listed.structured_content is not None, text_of(listed)
    items: list[dict[str, Any]] = listed.structured_content["items"]
    # Every other hour-long slot, so no two bookings of the test overlap.
    starts = [str(i["datetime"]) for i in items if str(i["datetime"])[14:16] == "00"]
    assert len(starts) >= count, starts
    return starts[:count]


def booking(start: str, **extra: Any) -> dict[str, Any]:
    return {
        "team_member_id": MEMBER,
        "service_ids": [SERVICE],
        "datetime": start,
        "client_id": CLIENT,
        **extra,
    }


# --- create_appointment --------------------------------------------------------------------------------


async def test_lost_answer_after_commit_returns_the_first_booking(fake_time: FakeTime, tally: Tally) -> None:
    sandbox = new_sandbox()
    async with session_for(sandbox) as session:
        starts = await free_starts(session, 4)
        for start in starts:
            sandbox.faults.script(
                kind="drop_after_commit", method="POST", path_pattern=re.escape(BOOKINGS) + "$"
            )
            before = posts(sandbox, BOOKINGS)
            result = await session.call("create_appointment", booking(start))
            assert not result.is_error, text_of(result)
            assert posts(sandbox, BOOKINGS) - before == 1
            assert result.structured_content is not None
            made = bookings_at(sandbox, start)
            assert made == [result.structured_content["appointment"]["id"]]
            assert "not booked twice" in text_of(result)
            tally.add("idempotency.duplicates_prevented")
            tally.add("idempotency.cases")


@pytest.mark.parametrize("fault", ["drop", "malformed_json"])
async def test_failure_before_commit_is_reported_not_done_and_a_retry_books_once(
    fault: FaultKind, fake_time: FakeTime, tally: Tally
) -> None:
    """Never re-sent on its own: the read-back says "not done", and the model's own retry books once."""
    sandbox = new_sandbox()
    async with session_for(sandbox) as session:
        (start,) = await free_starts(session, 1)
        sandbox.faults.script(kind=fault, method="POST", path_pattern=re.escape(BOOKINGS) + "$")
        result = await session.call("create_appointment", booking(start))
        assert result.is_error and "Not done" in text_of(result), text_of(result)
        assert posts(sandbox, BOOKINGS) == 1 and bookings_at(sandbox, start) == []
        again = await session.call("create_appointment", booking(start))
    assert not again.is_error, text_of(again)
    assert posts(sandbox, BOOKINGS) == 2
    assert len(bookings_at(sandbox, start)) == 1
    tally.add("idempotency.cases")


async def test_two_drops_fail_cleanly_without_a_booking(fake_time: FakeTime, tally: Tally) -> None:
    sandbox = new_sandbox()
    async with session_for(sandbox) as session:
        (start,) = await free_starts(session, 1)
        sandbox.faults.script(kind="drop", times=2, method="POST", path_pattern=re.escape(BOOKINGS) + "$")
        result = await session.call("create_appointment", booking(start))
    assert result.is_error
    assert posts(sandbox, BOOKINGS) == 1
    assert bookings_at(sandbox, start) == []
    assert_written_for_a_model(text_of(result))
    tally.add("idempotency.cases")


async def test_commit_then_drop_then_drop_still_finds_the_booking(fake_time: FakeTime, tally: Tally) -> None:
    """The first POST was saved, its answer lost; the lookup finds it, so no second POST at all."""
    sandbox = new_sandbox()
    async with session_for(sandbox) as session:
        (start,) = await free_starts(session, 1)
        sandbox.faults.script(kind="drop_after_commit", method="POST", path_pattern=re.escape(BOOKINGS) + "$")
        sandbox.faults.script(kind="drop", method="POST", path_pattern=re.escape(BOOKINGS) + "$")
        result = await session.call("create_appointment", booking(start))
    assert not result.is_error, text_of(result)
    assert posts(sandbox, BOOKINGS) == 1
    assert len(bookings_at(sandbox, start)) == 1
    tally.add("idempotency.duplicates_prevented")
    tally.add("idempotency.cases")


@pytest.mark.parametrize("save_if_busy", [True, False])
async def test_a_repeated_call_with_the_same_key_books_once(save_if_busy: bool, fake_time: FakeTime) -> None:
    """The argument's description promises: "Same key on a retry = never booked twice"."""
    sandbox = new_sandbox()
    async with session_for(sandbox) as session:
        (start,) = await free_starts(session, 1)
        args = booking(start, idempotency_key="retry-key-1", save_if_busy=save_if_busy)
        first = await session.call("create_appointment", args)
        again = await session.call("create_appointment", args)
    assert not first.is_error, text_of(first)
    assert not again.is_error, text_of(again)
    assert first.structured_content is not None and again.structured_content is not None
    assert again.structured_content["appointment"]["id"] == first.structured_content["appointment"]["id"]
    assert len(bookings_at(sandbox, start)) == 1


async def test_a_slow_commit_after_a_timeout_is_not_booked_twice(fake_time: FakeTime) -> None:
    """A real socket: Altegio saves the booking 0.2 s after the client gave up at 0.05 s."""
    sandbox = new_sandbox()
    async with serve_asgi(sandbox.app, lifespan="off") as base:
        only = {"toolsets": [], "tools": TOOLS, "timeout": 0.05, "base_url": f"{base}/api/v1"}
        settings = sandbox_settings(sandbox, **{**SESSION_SETTINGS, **only})
        server = build_server(settings, upstream=Upstream(settings, None, None, "sandbox", sandbox))
        async with Client(server.mcp) as client:
            session = Session(client, server, sandbox)
            (start,) = await free_starts(session, 1)
            sandbox.faults.script(
                kind="delay", seconds=0.2, method="POST", path_pattern=re.escape(BOOKINGS) + "$"
            )
            await session.call("create_appointment", booking(start, save_if_busy=True))
    assert len(bookings_at(sandbox, start)) == 1, f"{posts(sandbox, BOOKINGS)} POSTs"


# --- create_client --------------------------------------------------------------------------------------


@needs_create_client
async def test_client_lost_answer_after_commit_returns_the_existing_client(
    fake_time: FakeTime, tally: Tally
) -> None:
    sandbox = new_sandbox()
    async with session_for(sandbox) as session:
        for n, phone in enumerate(["+12125550191", "+12125550192", "+12125550193"]):
            sandbox.faults.script(
                kind="drop_after_commit", method="POST", path_pattern=re.escape(CLIENTS) + "$"
            )
            result = await session.call("create_client", {"name": f"Lost Answer {n}", "phone": phone})
            assert not result.is_error, text_of(result)
            assert result.structured_content is not None
            assert clients_with_phone(sandbox, phone) == [result.structured_content["client"]["id"]]
            assert result.structured_content["created"] is False
            tally.add("idempotency.duplicates_prevented")
            tally.add("idempotency.cases")
    assert posts(sandbox, CLIENTS) == 3


@needs_create_client
async def test_client_drop_before_commit_is_not_done_then_created_once(
    fake_time: FakeTime, tally: Tally
) -> None:
    sandbox = new_sandbox()
    phone = "+12125550194"
    async with session_for(sandbox) as session:
        sandbox.faults.script(kind="drop", method="POST", path_pattern=re.escape(CLIENTS) + "$")
        first = await session.call("create_client", {"name": "Dropped Once", "phone": phone})
        assert first.is_error and "Not done" in text_of(first), text_of(first)
        result = await session.call("create_client", {"name": "Dropped Once", "phone": phone})
    assert not result.is_error, text_of(result)
    assert posts(sandbox, CLIENTS) == 2
    assert len(clients_with_phone(sandbox, phone)) == 1
    tally.add("idempotency.cases")


@needs_create_client
async def test_client_two_drops_fail_cleanly(fake_time: FakeTime, tally: Tally) -> None:
    sandbox = new_sandbox()
    phone = "+12125550195"
    async with session_for(sandbox) as session:
        sandbox.faults.script(kind="drop", times=2, method="POST", path_pattern=re.escape(CLIENTS) + "$")
        result = await session.call("create_client", {"name": "Dropped Twice", "phone": phone})
    assert result.is_error
    assert posts(sandbox, CLIENTS) == 1
    assert clients_with_phone(sandbox, phone) == []
    assert_written_for_a_model(text_of(result))
    tally.add("idempotency.cases")
