"""Ways to drive the server through a real MCP client session in tests.

`mock_session(handler)` runs the server against an `httpx.MockTransport` (exact upstream answers,
for edge cases); `sandbox_session()` runs it against the embedded emulator in process, with the
seed anchored on a fixed date so every run sees the same data.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

import httpx
from mcp import Client
from mcp.types import CallToolResult, TextContent
from pydantic import SecretStr

from altegio_mcp.server import SANDBOX_BASE_URL, AltegioServer, Upstream, build_server
from altegio_mcp.settings import Settings
from tests.conftest import CANARY_PARTNER, CANARY_USER

if TYPE_CHECKING:
    from altegio_mcp.sandbox import Sandbox

TODAY = date(2026, 11, 27)
# "Now" for mock sessions: before every date the documented examples and mock tests book.
MOCK_NOW = datetime(2026, 1, 1, tzinfo=UTC)
FAST = {
    "rate_per_second": 10_000.0,
    "rate_per_minute": 1_000_000,
    "audit": False,
    "write_settle_seconds": 0.0,
}


def mock_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "partner_token": SecretStr(CANARY_PARTNER),
        "user_token": SecretStr(CANARY_USER),
        "base_url": "https://api.example.test/api/v1",
        "location_id": 1,
        "toolsets": ["all"],
        **FAST,
    }
    values.update(overrides)
    return Settings(**values)


def sandbox_settings(sandbox: Sandbox, **overrides: Any) -> Settings:
    from altegio_mcp.sandbox import DEMO_PARTNER_TOKEN, DEMO_USER_TOKEN, NEW_YORK_LOCATION_ID

    values: dict[str, Any] = {
        "partner_token": SecretStr(DEMO_PARTNER_TOKEN),
        "user_token": SecretStr(DEMO_USER_TOKEN),
        "base_url": SANDBOX_BASE_URL,
        "location_id": NEW_YORK_LOCATION_ID,
        "toolsets": ["all"],
        **FAST,
    }
    values.update(overrides)
    return Settings(**values)


@dataclass(slots=True)
class Session:
    client: Client
    server: AltegioServer
    sandbox: Sandbox | None = None

    async def call(self, tool: str, arguments: dict[str, Any] | None = None) -> CallToolResult:
        return await self.client.call_tool(tool, arguments or {})


def text_of(result: CallToolResult) -> str:
    return "\n".join(block.text for block in result.content if isinstance(block, TextContent))


def awaits_confirmation(result: CallToolResult) -> bool:
    """A confirmation request: a normal result (not an error) whose text starts "Not done yet" and
    whose structured content carries the preview, the token and its expiry."""
    structured = result.structured_content or {}
    payload = structured.get("confirmation") or {}
    return (
        not result.is_error
        and text_of(result).startswith("Not done yet: needs the person's confirmation.")
        and structured.get("done") is False
        and bool(payload.get("preview"))
        and bool(payload.get("token"))
        and "T" in str(payload.get("expires_at"))
        and f'confirmation_token="{payload.get("token")}"' in text_of(result)
    )


@asynccontextmanager
async def mock_session(
    handler: Callable[[httpx.Request], httpx.Response],
    client_options: dict[str, Any] | None = None,
    server_options: dict[str, Any] | None = None,
    **overrides: Any,
) -> AsyncIterator[Session]:
    settings = mock_settings(**overrides)
    server = build_server(
        settings,
        upstream=Upstream(settings, httpx.MockTransport(handler), None, "test"),
        **(server_options or {}),
    )
    server.runtime.clock = lambda: MOCK_NOW
    async with Client(server.mcp, **(client_options or {})) as client:
        yield Session(client, server)


@asynccontextmanager
async def sandbox_session(
    sandbox: Sandbox | None = None, client_options: dict[str, Any] | None = None, **overrides: Any
) -> AsyncIterator[Session]:
    from altegio_mcp.sandbox import SandboxConfig, create_sandbox

    sandbox = sandbox or create_sandbox(SandboxConfig(today=TODAY))
    settings = sandbox_settings(sandbox, **overrides)
    server = build_server(
        settings, upstream=Upstream(settings, sandbox.transport(), None, "sandbox", sandbox)
    )
    async with Client(server.mcp, **(client_options or {})) as client:
        yield Session(client, server, sandbox)
