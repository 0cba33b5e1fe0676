"""Shared machinery of the reliability suite: fake time for the server's client, the tool catalogue
read from a real `tools/list`, a private state directory, and the tally of cases tried.

The tally is printed in pytest's terminal summary ("reliability tally"), so a CI log shows how many
cases each category exercised, and the figures behind the report, without any `print` in the tests.
"""

from __future__ import annotations

import functools
import socket
from collections import Counter
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import anyio
import httpx
import pytest
import uvicorn
from starlette.types import ASGIApp

import altegio_mcp.server as server_module
from altegio_mcp.client import AltegioClient
from altegio_mcp.settings import Settings
from tests.conftest import FakeClock

if TYPE_CHECKING:
    from altegio_mcp.sandbox import Sandbox

NOW = datetime(2026, 11, 27, 17, 0, tzinfo=UTC)
CONFIRM_SECRET = "reliability-suite-confirm-secret"


class Tally:
    """Counters for the run summary: cases tried per category and the figures the report quotes."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def add(self, key: str, amount: int = 1) -> None:
        self.counts[key] += amount


TALLY = Tally()


@pytest.fixture(scope="session")
def tally() -> Tally:
    return TALLY


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not TALLY.counts:
        return
    terminalreporter.section("reliability tally")
    for key, value in sorted(TALLY.counts.items()):
        terminalreporter.write_line(f"{key}: {value}")


@dataclass(slots=True)
class FakeTime:
    """The clock the server's `AltegioClient` runs on: sleeps are recorded, never waited."""

    clock: FakeClock

    @property
    def sleeps(self) -> list[float]:
        return self.clock.sleeps


class FrozenClock(FakeClock):
    """A clock that never moves: sleeps are recorded only, so concurrent reservations all see one instant."""

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)


def _patch_client(monkeypatch: pytest.MonkeyPatch, clock: FakeClock) -> None:

    def factory(
        settings: Settings | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        state: object = None,
    ) -> AltegioClient:
        # No state store: the fake clock drives the in-process limiter. The shared limiter keeps
        # real (store) time and has tests of its own (tests/state).
        del state
        return AltegioClient(
            settings,
            transport=transport,
            clock=clock,
            sleep=clock.sleep,
            wall_clock=lambda: NOW,
            jitter=lambda: 0.0,
        )

    monkeypatch.setattr(server_module, "AltegioClient", factory)


@pytest.fixture
def fake_time(monkeypatch: pytest.MonkeyPatch) -> FakeTime:
    """`build_server` has no seam for the client's sleep/clock, so its `AltegioClient` is swapped
    for one built on a `FakeClock` (retry waits and rate-limit waits become instant)."""
    clock = FakeClock()
    _patch_client(monkeypatch, clock)
    return FakeTime(clock)


@pytest.fixture
def frozen_time(monkeypatch: pytest.MonkeyPatch) -> FakeTime:
    """Like `fake_time`, but the clock stands still: every wait the limiter computes is kept as is."""
    clock = FrozenClock()
    _patch_client(monkeypatch, clock)
    return FakeTime(clock)


@dataclass(frozen=True, slots=True)
class ToolInfo:
    name: str
    input_schema: dict[str, Any]
    output_schema: dict[str, Any] | None
    read_only: bool


SESSION_SETTINGS: dict[str, Any] = {
    "read_only": False,
    "tools": [],
    "exclude_tools": [],
    "toolsets": ["all"],
    "confirm_secret": CONFIRM_SECRET,
}


@functools.cache
def tool_catalogue() -> dict[str, ToolInfo]:
    """Every tool of an all-toolsets server, as `tools/list` reports it (read once per run)."""
    from tests.harness import sandbox_session

    async def listing() -> dict[str, ToolInfo]:
        async with sandbox_session(**SESSION_SETTINGS) as session:
            tools = (await session.client.list_tools()).tools
        return {
            tool.name: ToolInfo(
                tool.name,
                dict(tool.input_schema),
                dict(tool.output_schema) if tool.output_schema else None,
                bool(tool.annotations and tool.annotations.read_only_hint),
            )
            for tool in tools
        }

    # A worker thread of its own, so this also works when called from inside a running event loop.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(anyio.run, listing).result()


# Arguments that reach the upstream call of each known tool in a freshly seeded sandbox (anchored
# on 2026-11-27). Tools added later fall back to `canonical_arguments`.
KNOWN_ARGUMENTS: dict[str, dict[str, Any]] = {
    "get_appointment": {"appointment_id": 600038},
    "list_free_times": {"team_member_id": 2101, "date": "2026-11-30", "service_ids": [4101]},
    "get_team_schedule": {"start_date": "2026-11-30"},
    "list_working_dates": {"date": "2026-11-30"},
    "list_time_grid": {"team_member_id": 2101, "date": "2026-11-30"},
    "get_visit": {"visit_id": 700038},
    "get_visit_details": {"appointment_id": 600038, "visit_id": 700038},
    "get_visit_receipt": {"visit_id": 700038},
    "list_schedule_events": {"schedule_id": 31, "day_id": 311},
    "get_service": {"service_id": 4101},
    "get_team_member": {"team_member_id": 2101},
    "get_client": {"client_id": 5007},
    "list_client_comments": {"client_id": 5007},
    "list_client_visits": {"client_id": 5001},
    "create_appointment": {
        "team_member_id": 2101,
        "service_ids": [4101],
        "datetime": "2026-11-30T12:00:00",
        "client_id": 5007,
    },
    "update_appointment": {"appointment_id": 600038, "comment": "reliability"},
    "delete_appointment": {"appointment_id": 600038},
    "create_comment": {"team_member_id": 2101, "rating": 5, "text": "Lovely", "author_name": "Ann"},
    "update_visit": {"visit_id": 700038, "appointment_id": 600038, "comment": "reliability"},
    "create_recurring_appointments": {"schedule_id": 31, "client_id": 5007, "schedule_day_ids": [311]},
    "update_recurring_appointments": {"schedule_id": 31, "client_schedule_id": 1, "schedule_day_ids": [311]},
    "delete_recurring_appointments": {"schedule_id": 31, "client_schedule_id": 1},
    "create_client": {"name": "Reliability", "phone": "+12125550199"},
    "update_client": {"client_id": 5007, "surname": "Dubois"},
    "add_client_comment": {"client_id": 5007, "text": "Prefers tea"},
    # The api toolset: a catalogued write no typed tool covers (sent once, never re-sent).
    "call_api_operation": {
        "operation": "POST /goods_categories/{location_id}",
        "body": {"title": "Oils", "parent_category_id": 0},
    },
}
NAMED_IDS: dict[str, Any] = {
    "location_id": 1001,
    "team_member_id": 2101,
    "service_ids": [4101],
    "client_id": 5007,
    "appointment_id": 600038,
    "visit_id": 700038,
    "service_id": 4101,
}


def canonical_value(name: str, prop: dict[str, Any]) -> Any:
    """A plausible value for one argument, from its name and schema."""
    if name in NAMED_IDS:
        return NAMED_IDS[name]
    if "enum" in prop:
        return prop["enum"][0]
    kind, fmt = prop.get("type"), prop.get("format")
    if fmt == "date":
        return "2026-11-30"
    if fmt == "date-time":
        return "2026-11-30T10:00:00"
    if kind == "array":
        return [canonical_value(name, dict(prop.get("items", {})))]
    if kind == "string":
        return "+12125550199" if "phone" in name else "x" * max(1, int(prop.get("minLength", 1)))
    if kind == "boolean":
        return False
    return max(1, int(prop.get("minimum", 1)))


def canonical_arguments(tool: ToolInfo, sandbox: Sandbox | None = None) -> dict[str, Any]:
    """The known working arguments of a tool, else its required arguments with plausible values."""
    if tool.name in KNOWN_ARGUMENTS:
        return dict(KNOWN_ARGUMENTS[tool.name])
    if tool.name == "find_schedule" and sandbox is not None:
        return {"entity_id": sandbox.state.schedules_by_id[31].original_entity_id}
    props: dict[str, dict[str, Any]] = tool.input_schema.get("properties", {})
    required = set(tool.input_schema.get("required", []))
    return {name: canonical_value(name, prop) for name, prop in props.items() if name in required}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@asynccontextmanager
async def running(server: uvicorn.Server) -> AsyncIterator[None]:
    """Serve with uvicorn in the current event loop for the duration of the block."""
    async with anyio.create_task_group() as tg:
        tg.start_soon(server.serve)
        with anyio.fail_after(10):
            for _ in range(10_000):
                if server.started:
                    break
                await anyio.sleep(0.005)
        try:
            yield
        finally:
            server.should_exit = True


@asynccontextmanager
async def serve_asgi(app: ASGIApp, port: int | None = None, **options: Any) -> AsyncIterator[str]:
    """Run an ASGI app with uvicorn on 127.0.0.1 for the duration of the block; yields its base URL."""
    port = port or free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", **options)
    async with running(uvicorn.Server(config)):
        yield f"http://127.0.0.1:{port}"


MODEL_ADVICE = ("retry", "try again", "wait", "check", "call ", "ask ", "correct", "fix ", "use ", "renew")


def assert_written_for_a_model(text: str) -> None:
    """A failure text the model can act on: no stack trace, no exception dump, says what to do next."""
    assert "Error executing tool" not in text, f"SDK prefix in {text!r}"
    detail = text
    assert len(detail) > 20, f"no explanation: {text!r}"
    for marker in ("Traceback", 'File "', "httpx.", "Exception", "<class", "0x"):
        assert marker not in text, f"{marker!r} in {text!r}"
    lowered = detail.lower()
    assert any(word in lowered for word in MODEL_ADVICE), f"no next step in {text!r}"
