"""Concurrency: many tool calls at once, in one session, across sessions and across HTTP callers.

Results must answer their own request (no cross-talk), concurrent writes must all land (no lost
writes), two HTTP callers with different keys must never see each other's identity, and the
client-side rate limiter must space concurrent calls exactly as configured.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.types import CallToolResult
from pydantic import SecretStr

from altegio_mcp.http import build_http_app
from altegio_mcp.sandbox import (
    DEMO_PARTNER_TOKEN,
    DEMO_USER_TOKEN,
    DUBAI_LOCATION_ID,
    NEW_YORK_LOCATION_ID,
    SECOND_USER_TOKEN,
    Sandbox,
    SandboxConfig,
    create_sandbox,
)
from altegio_mcp.server import SANDBOX_BASE_URL, Upstream, build_server
from altegio_mcp.settings import Settings
from tests.harness import FAST, TODAY, Session, sandbox_session, sandbox_settings, text_of
from tests.reliability.conftest import SESSION_SETTINGS, FakeTime, Tally, free_port, serve_asgi

pytestmark = pytest.mark.anyio

ALICE = "alice-reliability-key-0001"
BOB = "bob-reliability-key-0002"


def new_sandbox() -> Sandbox:
    return create_sandbox(SandboxConfig(today=TODAY))


async def gather(calls: list[tuple[Session, str, dict[str, Any]]]) -> list[CallToolResult]:
    """Run every call at once; results come back in the order of `calls`."""
    results: list[CallToolResult | None] = [None] * len(calls)

    async def run(index: int, session: Session, tool: str, args: dict[str, Any]) -> None:
        results[index] = await session.call(tool, args)

    async with anyio.create_task_group() as tg:
        for index, (session, tool, args) in enumerate(calls):
            tg.start_soon(run, index, session, tool, args)
    assert all(r is not None for r in results)
    return [r for r in results if r is not None]


def mixed_reads(sandbox: Sandbox, count: int) -> list[tuple[str, dict[str, Any], str, int]]:
    """(tool, args, structured key, expected id): reads whose answer names what was asked for."""
    appointments = sorted(a.id for a in sandbox.state.appointments(NEW_YORK_LOCATION_ID))
    clients = sorted(c.id for c in sandbox.state.clients(NEW_YORK_LOCATION_ID))
    members = sorted(m.id for m in sandbox.state.team_members(NEW_YORK_LOCATION_ID))
    plan: list[tuple[str, dict[str, Any], str, int]] = []
    for n in range(count):
        kind = n % 3
        if kind == 0:
            ident = appointments[n % len(appointments)]
            plan.append(("get_appointment", {"appointment_id": ident}, "appointment", ident))
        elif kind == 1:
            ident = clients[n % len(clients)]
            plan.append(("get_client", {"client_id": ident}, "client", ident))
        else:
            ident = members[n % len(members)]
            plan.append(("get_team_member", {"team_member_id": ident}, "team_member", ident))
    return plan


def answered_id(result: CallToolResult, key: str) -> int:
    assert not result.is_error, text_of(result)
    assert result.structured_content is not None
    return int(result.structured_content[key]["id"])


async def test_50_concurrent_calls_in_one_session_answer_their_own_request(tally: Tally) -> None:
    sandbox = new_sandbox()
    async with sandbox_session(sandbox, **SESSION_SETTINGS) as session:
        plan = mixed_reads(sandbox, 50)
        results = await gather([(session, tool, args) for tool, args, _, _ in plan])
    for (tool, _args, key, expected), result in zip(plan, results, strict=True):
        assert answered_id(result, key) == expected, tool
        assert f"#{expected}" in text_of(result)
    tally.add("concurrency.calls", len(plan))


async def test_50_concurrent_calls_across_sessions(tally: Tally) -> None:
    """Five servers (five sessions) share one upstream; each call still answers only itself."""
    sandbox = new_sandbox()
    only = {"toolsets": [], "tools": ["get_appointment", "get_client", "get_team_member"]}
    async with AsyncExitStack() as stack:
        sessions = [
            await stack.enter_async_context(sandbox_session(sandbox, **{**SESSION_SETTINGS, **only}))
            for _ in range(5)
        ]
        plan = mixed_reads(sandbox, 50)
        results = await gather([(sessions[n % 5], tool, args) for n, (tool, args, _, _) in enumerate(plan)])
    for (_tool, _args, key, expected), result in zip(plan, results, strict=True):
        assert answered_id(result, key) == expected
    tally.add("concurrency.calls", len(plan))


async def test_concurrent_in_memory_clients_of_one_server(tally: Tally) -> None:
    """Several MCP clients attached to the same server object at once, each calling concurrently."""
    sandbox = new_sandbox()
    settings = sandbox_settings(sandbox, **{**SESSION_SETTINGS, "toolsets": [], "tools": ["get_appointment"]})
    server = build_server(
        settings, upstream=Upstream(settings, sandbox.transport(), None, "sandbox", sandbox)
    )
    plan = [p for p in mixed_reads(sandbox, 60) if p[0] == "get_appointment"]
    async with AsyncExitStack() as stack:
        clients = [await stack.enter_async_context(Client(server.mcp)) for _ in range(4)]
        sessions = [Session(c, server, sandbox) for c in clients]
        results = await gather([(sessions[n % 4], tool, args) for n, (tool, args, _, _) in enumerate(plan)])
    for (_tool, _args, key, expected), result in zip(plan, results, strict=True):
        assert answered_id(result, key) == expected
    tally.add("concurrency.calls", len(plan))


async def free_slots(session: Session, count: int) -> list[tuple[int, str]]:
    """(team member, start) pairs on the next weekdays, two hours apart, so no two overlap."""
    slots: list[tuple[int, str]] = []
    for day in ("2026-11-30", "2026-12-01", "2026-12-02", "2026-12-03", "2026-12-04"):
        for member in (2101, 2103):
            listed = await session.call(
                "list_free_times", {"team_member_id": member, "date": day, "service_ids": [4101]}
            )
            assert listed.structured_content is not None, text_of(listed)
            last_hour = -10
            for item in listed.structured_content["items"]:
                start = str(item["datetime"])
                hour = int(start[11:13])
                if start[14:16] == "00" and hour >= last_hour + 2:
                    slots.append((member, start))
                    last_hour = hour
    assert len(slots) >= count, slots
    return slots[:count]


async def test_20_concurrent_bookings_on_free_slots_all_land(fake_time: FakeTime, tally: Tally) -> None:
    sandbox = new_sandbox()
    async with sandbox_session(sandbox, **SESSION_SETTINGS) as session:
        slots = await free_slots(session, 20)
        before = len(sandbox.state.appointments(NEW_YORK_LOCATION_ID))
        clients = sorted(c.id for c in sandbox.state.clients(NEW_YORK_LOCATION_ID))
        calls = [
            (
                session,
                "create_appointment",
                {"team_member_id": member, "service_ids": [4101], "datetime": start, "client_id": clients[n]},
            )
            for n, (member, start) in enumerate(slots)
        ]
        results = await gather(calls)
    made: list[int] = []
    for (member, start), result in zip(slots, results, strict=True):
        assert not result.is_error, text_of(result)
        assert result.structured_content is not None
        appointment = result.structured_content["appointment"]
        assert appointment["start"] == start
        assert appointment["team_member"]["id"] == member
        made.append(int(appointment["id"]))
    assert len(set(made)) == 20
    assert len(sandbox.state.appointments(NEW_YORK_LOCATION_ID)) == before + 20
    assert all(sandbox.state.appointments_by_id[i].api_id for i in made)
    tally.add("concurrency.writes", 20)


# --- two HTTP callers --------------------------------------------------------------------------------


@asynccontextmanager
async def http_server(sandbox: Sandbox) -> AsyncIterator[str]:
    port = free_port()
    settings = Settings(
        partner_token=SecretStr(DEMO_PARTNER_TOKEN),
        base_url=SANDBOX_BASE_URL,
        http_keys=SecretStr(f"{ALICE}={DEMO_USER_TOKEN},{BOB}={SECOND_USER_TOKEN}"),
        http_port=port,
        location_id=NEW_YORK_LOCATION_ID,
        toolsets=[],
        tools=["whoami", "list_services", "get_location"],
        confirm_secret=SecretStr("reliability"),
        **FAST,
    )
    built = build_http_app(
        settings, upstream=Upstream(settings, sandbox.transport(), None, "sandbox", sandbox), port=port
    )
    async with serve_asgi(built.app, port=port, lifespan="on") as base:
        yield base


@asynccontextmanager
async def http_client(base: str, key: str) -> AsyncIterator[Client]:
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {key}"}, timeout=30)
    async with http, Client(streamable_http_client(f"{base}/mcp", http_client=http)) as client:
        yield client


async def test_two_http_callers_never_see_each_others_identity(tally: Tally) -> None:
    sandbox = new_sandbox()
    async with http_server(sandbox) as base, http_client(base, ALICE) as alice, http_client(base, BOB) as bob:
        who = {"alice": alice, "bob": bob}
        order = ["alice", "bob"] * 20
        results: list[tuple[str, str, CallToolResult]] = []

        async def ask(name: str, tool: str, args: dict[str, Any]) -> None:
            results.append((name, tool, await who[name].call_tool(tool, args)))

        async with anyio.create_task_group() as tg:
            for n, name in enumerate(order):
                if (n // 2) % 2:
                    tg.start_soon(ask, name, "list_services", {"location_id": DUBAI_LOCATION_ID})
                else:
                    tg.start_soon(ask, name, "whoami", {})
    assert len(results) == len(order)
    labels: dict[str, set[str]] = {"alice": set(), "bob": set()}
    for name, tool, result in results:
        if tool == "whoami":
            assert not result.is_error, text_of(result)
            assert result.structured_content is not None
            labels[name].add(str(result.structured_content["user"]))
            locations = {loc["id"] for loc in result.structured_content["locations"]}
            assert (DUBAI_LOCATION_ID in locations) == (name == "alice"), (name, locations)
        else:
            # Only Alice's Altegio user may manage the Dubai location.
            assert result.is_error == (name == "bob"), (name, text_of(result))
        for token in (DEMO_USER_TOKEN, SECOND_USER_TOKEN, ALICE, BOB):
            assert token not in text_of(result)
    assert len(labels["alice"]) == 1
    assert len(labels["bob"]) == 1
    assert labels["alice"] != labels["bob"]
    tally.add("concurrency.http_calls", len(results))


# --- the client-side rate limit ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("per_second", "per_minute", "calls", "spacing"),
    [(5.0, 1000, 15, 0.2), (1000.0, 20, 30, 3.0)],
    ids=["5-per-second", "20-per-minute"],
)
async def test_concurrent_calls_are_spaced_by_the_limiter(
    per_second: float, per_minute: int, calls: int, spacing: float, frozen_time: FakeTime, tally: Tally
) -> None:
    """The clock stands still, so every call's wait is what the limiter computed for it."""
    sandbox = new_sandbox()
    limits = {"rate_per_second": per_second, "rate_per_minute": per_minute}
    async with sandbox_session(sandbox, **{**SESSION_SETTINGS, **limits}) as session:
        await session.call("get_location", {})  # takes one token and fills the location cache
        frozen_time.sleeps.clear()
        plan = mixed_reads(sandbox, calls)
        results = await gather([(session, tool, args) for tool, args, _, _ in plan])
        waited = session.server.runtime.client.limiter.waited
    for (_tool, _args, key, expected), result in zip(plan, results, strict=True):
        assert answered_id(result, key) == expected
    burst = min(per_second, per_minute) - 1  # what is left of the bucket after the warm-up call
    queued = calls - int(burst)
    assert sorted(frozen_time.sleeps) == pytest.approx([spacing * k for k in range(1, queued + 1)])
    assert waited == pytest.approx(sum(frozen_time.sleeps))
    tally.add("concurrency.rate_limited_calls", calls)


async def test_a_session_ending_does_not_break_another_session_of_the_same_server() -> None:
    sandbox = new_sandbox()
    settings = sandbox_settings(sandbox, **{**SESSION_SETTINGS, "toolsets": [], "tools": ["get_appointment"]})
    server = build_server(
        settings, upstream=Upstream(settings, sandbox.transport(), None, "sandbox", sandbox)
    )
    async with Client(server.mcp) as staying:
        async with Client(server.mcp) as leaving:
            assert not (await leaving.call_tool("get_appointment", {"appointment_id": 600038})).is_error
        result = await staying.call_tool("get_appointment", {"appointment_id": 600038})
    assert not result.is_error, text_of(result)
