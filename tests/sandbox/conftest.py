"""Shared fixtures of the sandbox tests: a fixed anchor day, a controllable clock, a seeded sandbox
and an in-process client authenticated as the demo user."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Protocol

import httpx
import pytest

from altegio_mcp.sandbox import (
    DEMO_PARTNER_TOKEN,
    DEMO_USER_TOKEN,
    Sandbox,
    SandboxConfig,
    create_sandbox,
)

ANCHOR = date(2026, 11, 27)
NOON_UTC = datetime(2026, 11, 27, 12, tzinfo=UTC)
BASE_URL = "http://sandbox.local/api/v1"
ACCEPT = "application/vnd.api.v2+json"


class Clock:
    """A settable "now" for the sandbox (tests never sleep)."""

    def __init__(self, start: datetime) -> None:
        self.current = start

    def __call__(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> None:
        self.current += timedelta(**delta)


class Connect(Protocol):
    def __call__(
        self, sandbox: Sandbox, *, partner: str | None = ..., user: str | None = ...
    ) -> httpx.AsyncClient: ...


def _connect(
    sandbox: Sandbox, *, partner: str | None = DEMO_PARTNER_TOKEN, user: str | None = DEMO_USER_TOKEN
) -> httpx.AsyncClient:
    """An in-process client; `partner=None` sends no Authorization, `user=None` sends the partner token only."""
    headers = {"Accept": ACCEPT}
    if partner is not None:
        headers["Authorization"] = f"Bearer {partner}" if user is None else f"Bearer {partner}, User {user}"
    return httpx.AsyncClient(transport=sandbox.transport(), base_url=BASE_URL, headers=headers)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def clock() -> Clock:
    return Clock(NOON_UTC)


@pytest.fixture
def sandbox(clock: Clock) -> Sandbox:
    return create_sandbox(SandboxConfig(today=ANCHOR, clock=clock))


@pytest.fixture
def connect() -> Connect:
    return _connect


@pytest.fixture
async def client(sandbox: Sandbox, anyio_backend: str) -> AsyncIterator[httpx.AsyncClient]:
    async with _connect(sandbox) as api:
        yield api
