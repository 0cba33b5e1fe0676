"""What moved onto the state store, seen through real MCP sessions on both backends: used
confirmation tokens, idempotency keys of creates, the resource cache; and Redis going away."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import anyio
import pytest
from mcp import Client

from altegio_mcp.sandbox import NEW_YORK_LOCATION_ID, SandboxConfig, create_sandbox
from altegio_mcp.sandbox.app import Sandbox
from altegio_mcp.server import Upstream, build_server
from tests.harness import TODAY, Session, sandbox_settings, text_of
from tests.redis_server import RedisServer
from tests.test_confirmation import token_in

pytestmark = pytest.mark.anyio

SECRET = "wiring-test-secret-0123456789abcdef"
APPOINTMENT = 600038
BOOKING: dict[str, Any] = {
    "team_member_id": 2101,
    "service_ids": [4101],
    "datetime": "2026-11-30T12:00:00",
    "client_id": 5007,
}
UNREACHABLE = "shared state store is unreachable"


@pytest.fixture(params=["sqlite", "redis"])
def backend(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Settings that put two servers of one test on one store (the test's SQLite file or Redis)."""
    if request.param == "redis":
        return {"redis_url": request.getfixturevalue("redis_url")}
    return {}


@asynccontextmanager
async def servers(sandbox: Sandbox, count: int, **overrides: Any) -> AsyncIterator[list[Session]]:
    """`count` independent servers (as replicas would be) on one upstream, each with a session."""
    async with AsyncExitStack() as stack:
        sessions: list[Session] = []
        for _ in range(count):
            settings = sandbox_settings(sandbox, confirm_secret=SECRET, **overrides)
            server = build_server(
                settings, upstream=Upstream(settings, sandbox.transport(), None, "sandbox", sandbox)
            )
            client = await stack.enter_async_context(Client(server.mcp))
            sessions.append(Session(client, server, sandbox))
        yield sessions


def new_sandbox() -> Sandbox:
    return create_sandbox(SandboxConfig(today=TODAY))


async def test_a_token_used_on_one_server_is_refused_on_another(backend: dict[str, Any]) -> None:
    sandbox = new_sandbox()
    async with servers(sandbox, 2, **backend) as (one, two):
        assert two.server.runtime.state.backend == ("redis" if backend else "sqlite")
        token = token_in(text_of(await one.call("delete_appointment", {"appointment_id": APPOINTMENT})))
        done = await two.call(
            "delete_appointment", {"appointment_id": APPOINTMENT, "confirmation_token": token}
        )
        assert not done.is_error, text_of(done)
        replay = await one.call(
            "delete_appointment", {"appointment_id": APPOINTMENT, "confirmation_token": token}
        )
    assert replay.is_error and "already used" in text_of(replay)
    assert len(sandbox.requests.find("DELETE", f"/{APPOINTMENT}")) == 1


async def test_a_token_used_before_a_restart_is_refused_after_it() -> None:
    """Embedded backend: the server is built, used, shut down and built again on the same file."""
    sandbox = new_sandbox()
    async with servers(sandbox, 1) as (before,):
        token = token_in(text_of(await before.call("delete_appointment", {"appointment_id": APPOINTMENT})))
        done = await before.call(
            "delete_appointment", {"appointment_id": APPOINTMENT, "confirmation_token": token}
        )
        assert not done.is_error, text_of(done)
    async with servers(sandbox, 1) as (after,):
        replay = await after.call(
            "delete_appointment", {"appointment_id": APPOINTMENT, "confirmation_token": token}
        )
    assert replay.is_error and "already used" in text_of(replay)


async def test_an_identical_create_in_flight_elsewhere_is_awaited_not_sent_again(
    backend: dict[str, Any],
) -> None:
    """Server one's POST is slow upstream; the same create reaches server two meanwhile. Two
    never sends: it waits for one's claim to settle, then returns what one booked."""
    sandbox = new_sandbox()
    sandbox.faults.script(kind="delay", method="POST", path_pattern=r"/records/\d+$", seconds=1.0)
    answers: dict[str, str] = {}
    async with servers(sandbox, 2, **backend) as (one, two):
        arguments = {**BOOKING, "save_if_busy": True}

        async def book(name: str, session: Session, delay: float) -> None:
            await anyio.sleep(delay)
            result = await session.call("create_appointment", arguments)
            assert not result.is_error, text_of(result)
            answers[name] = text_of(result)

        async with anyio.create_task_group() as tg:
            tg.start_soon(book, "one", one, 0.0)
            tg.start_soon(book, "two", two, 0.3)
    posts = sandbox.requests.find("POST", "/records/")
    assert len([p for p in posts if re.search(r"/records/\d+$", p.path)]) == 1
    booked = [a for a in sandbox.state.appointments() if a.api_id and a.api_id.startswith("mcp-")]
    assert len(booked) == 1
    assert "already existed" in answers["two"]
    assert str(booked[0].id) in answers["one"] and str(booked[0].id) in answers["two"]


async def test_a_create_repeated_on_another_server_returns_the_first(backend: dict[str, Any]) -> None:
    """The model's retry lands on another replica (the first answer never reached it): the key's
    `done` record sends it to look the client up instead of posting again."""
    sandbox = new_sandbox()
    async with servers(sandbox, 2, **backend) as (one, two):
        arguments = {"name": "Lost Answer", "phone": "+12125550177"}
        first = await one.call("create_client", arguments)
        assert not first.is_error, text_of(first)
        retry = await two.call("create_client", arguments)
    assert not retry.is_error, text_of(retry)
    assert "not created again" in text_of(retry)
    creates = [r for r in sandbox.requests.find("POST") if re.search(r"/clients/\d+$", r.path)]
    assert len(creates) == 1
    assert len([c for c in sandbox.state.clients_by_id.values() if c.phone.endswith("2125550177")]) == 1


async def test_redis_going_away_fails_writes_closed_and_keeps_reads() -> None:
    redis = RedisServer()
    redis.start()
    sandbox = new_sandbox()
    try:
        async with servers(sandbox, 1, redis_url=redis.url) as (session,):
            assert not (await session.call("get_appointment", {"appointment_id": APPOINTMENT})).is_error
            token = token_in(
                text_of(await session.call("delete_appointment", {"appointment_id": APPOINTMENT}))
            )
            redis.stop()
            read = await session.call("get_appointment", {"appointment_id": APPOINTMENT})
            assert not read.is_error, text_of(read)
            create = await session.call("create_appointment", BOOKING)
            confirm = await session.call(
                "delete_appointment", {"appointment_id": APPOINTMENT, "confirmation_token": token}
            )
            update = await session.call("update_appointment", {"appointment_id": APPOINTMENT, "comment": "x"})
            for refused in (create, confirm, update):
                assert refused.is_error and UNREACHABLE in text_of(refused), text_of(refused)
                assert "Nothing was sent to Altegio" in text_of(refused)
            assert sandbox.requests.find("POST", "/records/") == []
            assert sandbox.requests.find("DELETE") == []
            assert sandbox.requests.find("PUT") == []
            redis.start()
            again = await session.call(
                "delete_appointment", {"appointment_id": APPOINTMENT, "confirmation_token": token}
            )
            assert not again.is_error, text_of(again)
    finally:
        redis.cleanup()


async def test_resource_cache_is_shared_through_the_store(backend: dict[str, Any]) -> None:
    sandbox = new_sandbox()
    async with servers(sandbox, 2, **backend) as (one, two):
        uri = f"altegio://locations/{NEW_YORK_LOCATION_ID}/team"
        first = await one.client.read_resource(uri)
        reads = len(sandbox.requests)
        second = await two.client.read_resource(uri)
    assert len(sandbox.requests) == reads
    assert first.contents == second.contents
