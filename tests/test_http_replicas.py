"""Two stateless replicas behind a round-robin balancer: the 2026-07-28 confirmation form still works.

The form's round trip carries sealed request state; when the retry lands on the other replica, that
replica must be able to open it. With `ALTEGIO_CONFIRM_SECRET` set, replicas share the key.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import httpx2
import pytest
from mcp import Client, MCPError
from mcp.client.streamable_http import streamable_http_client
from pydantic import SecretStr

from tests.harness import text_of
from tests.test_http import ALICE, running_server
from tests.test_http_modes import answer_with, first_appointment

pytestmark = pytest.mark.anyio


class RoundRobin(httpx2.AsyncBaseTransport):
    """Sends each request to the next replica in turn, like a load balancer without stickiness."""

    def __init__(self, bases: list[str]) -> None:
        self.ports = itertools.cycle([int(base.rsplit(":", 1)[1]) for base in bases])
        self.inner = httpx2.AsyncHTTPTransport()
        self.sent: list[int] = []

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        port = next(self.ports)
        self.sent.append(port)
        request.url = request.url.copy_with(port=port)
        request.headers["host"] = f"127.0.0.1:{port}"
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


@asynccontextmanager
async def replicas(secret: str | None) -> AsyncIterator[list[str]]:
    overrides: dict[str, Any] = {"confirm_secret": SecretStr(secret)} if secret else {}
    async with AsyncExitStack() as stack:
        yield [await stack.enter_async_context(running_server(**overrides)) for _ in range(2)]


async def delete_through(bases: list[str], asked: list[str]) -> RoundRobin:
    """Delete one appointment through the balancer as a 2026-07-28 client that accepts the form."""
    balancer = RoundRobin(bases)
    async with (
        httpx2.AsyncClient(transport=balancer, headers={"Authorization": f"Bearer {ALICE}"}) as http,
        Client(
            streamable_http_client(f"{bases[0]}/mcp", http_client=http),
            elicitation_callback=answer_with("accept", asked),
        ) as alice,
    ):
        target = await first_appointment(alice)
        result = await alice.call_tool("delete_appointment", {"appointment_id": target})
    # Each replica has its own sandbox here, so the effect is read from the answer, not re-read.
    assert not result.is_error, text_of(result)
    return balancer


async def test_form_round_trip_across_replicas_with_a_shared_secret() -> None:
    asked: list[str] = []
    async with replicas("shared-confirm-secret-0123456789") as bases:
        balancer = await delete_through(bases, asked)
    assert len(set(balancer.sent)) == 2  # both replicas served requests
    assert len(asked) == 1


async def test_without_a_shared_secret_the_other_replica_cannot_open_the_state() -> None:
    failure: BaseException | None = None
    async with replicas(None) as bases:
        try:
            await delete_through(bases, [])
        except Exception as exc:
            failure = exc
    while isinstance(failure, BaseExceptionGroup) and failure.exceptions:
        failure = failure.exceptions[0]
    assert isinstance(failure, MCPError)
    assert "requestState" in failure.message
