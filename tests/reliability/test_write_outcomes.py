"""Every write, judged by its effect upstream under faults: exactly one effect and a true answer.

For each write operation the sandbox loses the answer in three ways:

- `drop_after_commit`: Altegio saves the change, then the connection drops;
- a late commit over a real socket: Altegio saves it after the client's timeout has passed;
- a 502 before anything is saved, then normal service.

A write its operation declares safe to re-send is re-sent and succeeds. Any other write is never
re-sent: the server reads the target back and answers done (a normal result, or "Done, once"), not
done ("Not done … safe to call again") or unknown. The upstream state is then counted: one effect
(or none, with a true "not done").
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from mcp import Client

from altegio_mcp.operations import ALL_OPERATIONS, recurring, support
from altegio_mcp.operations.base import Operation
from altegio_mcp.sandbox import Sandbox, SandboxConfig, create_sandbox
from altegio_mcp.server import Upstream, build_server
from tests.harness import TODAY, Session, sandbox_session, sandbox_settings, text_of
from tests.reliability.conftest import serve_asgi

pytestmark = pytest.mark.anyio

NY = 1001
MEMBER = 2101
SERVICE = 4101
CLIENT = 5007
MASTERCLASS = 31  # Mon/Wed/Sat 18:00 group class; days 311, 312, 313
SETTINGS: dict[str, Any] = {"confirm": "never-ask", "allow_unconfirmed": True, "toolsets": ["all"]}


@dataclass(frozen=True, slots=True)
class Case:
    tool: str
    method: str
    path: str  # regex over the request path of the write
    prepare: Callable[[Sandbox], dict[str, Any]]
    effects: Callable[[Sandbox, dict[str, Any]], int]
    asks_again: bool = False  # no read exists: the read-back repeats the (harmless) request


def _future_appointment(sandbox: Sandbox) -> Any:
    now = sandbox.state.now()
    return next(
        a
        for a in sorted(sandbox.state.appointments(NY), key=lambda a: a.id)
        if a.start > now and a.client_id and not a.activity_id and a.staff_id == MEMBER
    )


def _free_start(sandbox: Sandbox) -> str:
    """An hour on a day far ahead with nothing booked for the team member (the sandbox checks hours)."""
    from datetime import timedelta

    state = sandbox.state
    tz = state.locations_by_id[NY].tz
    day = (state.now() + timedelta(days=7)).astimezone(tz).date()
    busy = {
        a.start.astimezone(tz).hour
        for a in state.appointments(NY)
        if a.staff_id == MEMBER and a.start.astimezone(tz).date() == day
    }
    hour = next(h for h in range(11, 17) if h not in busy and h + 1 not in busy)
    return f"{day.isoformat()}T{hour:02d}:00:00"


def _create_appointment(sandbox: Sandbox) -> dict[str, Any]:
    start = _free_start(sandbox)
    return {"team_member_id": MEMBER, "service_ids": [SERVICE], "client_id": CLIENT, "datetime": start}


def _bookings(sandbox: Sandbox, args: dict[str, Any]) -> int:
    tz = sandbox.state.locations_by_id[NY].tz
    want = args["datetime"]
    return sum(
        1
        for a in sandbox.state.appointments(NY)
        if a.staff_id == MEMBER and a.start.astimezone(tz).replace(tzinfo=None).isoformat() == want
    )


def _visit(sandbox: Sandbox) -> dict[str, Any]:
    state = sandbox.state
    visit = next(
        v
        for v in sorted(state.visits_by_id.values(), key=lambda v: v.id)
        if v.location_id == NY and state.appointments_of_visit(v.id)
    )
    record = state.appointments_of_visit(visit.id)[0]
    account = state.locations_by_id[NY].cash_account_id
    return {
        "visit_id": visit.id,
        "appointment_id": record.id,
        "new_payments": [{"account_id": account, "amount": 10.37}],
    }


def _payments(sandbox: Sandbox, args: dict[str, Any]) -> int:
    visit = sandbox.state.visits_by_id[args["visit_id"]]
    return sum(1 for p in visit.payments if round(p.amount, 2) == 10.37)


def _seeded_series(sandbox: Sandbox) -> Any:
    return next(x for x in sandbox.state.client_schedules_by_id.values() if x.schedule_id == MASTERCLASS)


def _events_ahead(sandbox: Sandbox) -> list[Any]:
    """Future occurrences of the New York group class, soonest first."""
    state = sandbox.state
    now = state.now()
    return sorted(
        (e for e in state.schedule_events_by_id.values() if e.schedule_id == MASTERCLASS and e.start > now),
        key=lambda e: e.start,
    )


def _group_booking(sandbox: Sandbox) -> dict[str, Any]:
    """A future group-class booking and another future class to move it to."""
    events = _events_ahead(sandbox)
    booking = next(
        a
        for e in events
        for a in sandbox.state.appointments(NY)
        if a.activity_id == e.activity_id and not a.deleted
    )
    other = next(e.activity_id for e in events if e.activity_id != booking.activity_id)
    return {"appointment_id": booking.id, "to_event_id": other}


def _event_seats(sandbox: Sandbox, args: dict[str, Any]) -> int:
    return sum(
        1
        for a in sandbox.state.appointments(NY)
        if a.activity_id == args["event_id"] and a.client_id == args["client_id"] and not a.deleted
    )


CASES = [
    Case(
        "book_group_event",
        "POST",
        r"/events/\d+/appointments$",
        lambda s: {"event_id": _events_ahead(s)[0].activity_id, "client_id": 5011},
        _event_seats,
    ),
    Case(
        "move_event_booking",
        "PATCH",
        r"/events/\d+/appointments/\d+$",
        _group_booking,
        lambda s, a: int(s.state.appointments_by_id[a["appointment_id"]].activity_id == a["to_event_id"]),
    ),
    Case("create_appointment", "POST", r"/records/1001$", _create_appointment, _bookings),
    Case(
        "update_appointment",
        "PUT",
        r"/record/1001/\d+$",
        lambda s: {"appointment_id": _future_appointment(s).id, "comment": "moved by fault test"},
        lambda s, a: int(s.state.appointments_by_id[a["appointment_id"]].comment == "moved by fault test"),
    ),
    Case(
        "delete_appointment",
        "DELETE",
        r"/record/1001/\d+$",
        lambda s: {"appointment_id": _future_appointment(s).id},
        lambda s, a: int(s.state.appointments_by_id[a["appointment_id"]].deleted),
    ),
    Case(
        "create_client",
        "POST",
        r"/clients/1001$",
        lambda _s: {"name": "Fault Test", "phone": "+1 212 555 0199"},
        lambda s, _a: sum(1 for c in s.state.clients(NY) if re.sub(r"\D", "", c.phone) == "12125550199"),
    ),
    Case(
        "update_client",
        "PUT",
        r"/client/1001/\d+$",
        lambda _s: {"client_id": CLIENT, "surname": "Faultproof"},
        lambda s, _a: int(s.state.clients_by_id[CLIENT].surname == "Faultproof"),
    ),
    Case(
        "add_client_comment",
        "POST",
        r"/clients/1001/clients/\d+/comments$",
        lambda _s: {"client_id": CLIENT, "text": "Prefers mornings (fault test)"},
        lambda s, _a: sum(
            1 for c in s.state.client_comments_by_id.values() if c.text == "Prefers mornings (fault test)"
        ),
    ),
    Case(
        "create_comment",
        "POST",
        r"/comments/1001/\d+$",
        lambda _s: {
            "team_member_id": MEMBER,
            "rating": 5,
            "text": "Lovely cut (fault test)",
            "author_name": "Ann",
        },
        lambda s, _a: sum(1 for r in s.state.reviews_by_id.values() if r.text == "Lovely cut (fault test)"),
    ),
    Case("update_visit", "PUT", r"/visits/\d+/\d+$", _visit, _payments),
    Case(
        "create_recurring_appointments",
        "POST",
        r"/schedules/31/client_schedules$",
        lambda _s: {
            "location_id": NY,
            "schedule_id": MASTERCLASS,
            "client_id": 5001,
            "schedule_day_ids": [313],
        },
        lambda s, _a: sum(
            1
            for x in s.state.client_schedules_by_id.values()
            if x.client_id == 5001 and x.schedule_id == MASTERCLASS
        ),
    ),
    Case(
        "update_recurring_appointments",
        "PATCH",
        r"/client_schedules/\d+$",
        lambda s: {
            "location_id": NY,
            "schedule_id": MASTERCLASS,
            "client_schedule_id": _seeded_series(s).id,
            "schedule_day_ids": [311],
        },
        lambda s, a: int(s.state.client_schedules_by_id[a["client_schedule_id"]].day_ids == [311]),
    ),
    Case(
        "delete_recurring_appointments",
        "DELETE",
        r"/client_schedules/\d+$",
        lambda s: {"location_id": NY, "schedule_id": MASTERCLASS, "client_schedule_id": _seeded_series(s).id},
        lambda s, a: int(a["client_schedule_id"] not in s.state.client_schedules_by_id),
        asks_again=True,
    ),
    # The api toolset's dynamic call: a catalogued delete no typed tool covers, read back after a
    # lost answer through the catalogued read of the same path.
    Case(
        "call_api_operation",
        "DELETE",
        r"/client/1001/\d+$",
        lambda _s: {"operation": "DELETE /client/{location_id}/{id}", "path": {"id": 5003}},
        lambda s, _a: int(s.state.client(5003) is None),
    ),
]
OPS: dict[str, Operation[Any, Any]] = {op.name: op for op in ALL_OPERATIONS}


def test_every_write_operation_has_a_fault_case() -> None:
    writes = {op.name for op in ALL_OPERATIONS if not op.read_only}
    assert writes <= {c.tool for c in CASES}, writes - {c.tool for c in CASES}


@pytest.fixture(autouse=True)
def _sandbox_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Operations that compare with "now" use the sandbox's fixed day, as the sandbox does."""
    clock = create_sandbox(SandboxConfig(today=TODAY)).now
    monkeypatch.setattr(recurring, "utc_now", clock)
    monkeypatch.setattr(support, "utc_now", clock)


def writes_sent(sandbox: Sandbox, case: Case) -> int:
    return sum(1 for r in sandbox.requests if r.method == case.method and re.search(case.path, r.path))


def assert_true_answer(case: Case, result: Any, effects: int) -> None:
    text = text_of(result)
    assert "Traceback" not in text
    if effects == 0:
        assert result.is_error and "Not done" in text, text
    elif result.is_error:
        assert "Done, once" in text, text
    else:
        assert "Not done" not in text and "Unknown" not in text, text


@asynccontextmanager
async def over_socket(sandbox: Sandbox, **overrides: Any) -> AsyncIterator[Session]:
    async with serve_asgi(sandbox.app, lifespan="off") as base:
        settings = sandbox_settings(sandbox, **{**SETTINGS, "base_url": f"{base}/api/v1", **overrides})
        server = build_server(settings, upstream=Upstream(settings, None, None, "sandbox", sandbox))
        async with Client(server.mcp) as client:
            yield Session(client, server, sandbox)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.tool)
async def test_answer_lost_after_the_commit(case: Case) -> None:
    sandbox = create_sandbox(SandboxConfig(today=TODAY))
    async with sandbox_session(sandbox, **SETTINGS) as session:
        args = case.prepare(sandbox)
        before = case.effects(sandbox, args)
        sandbox.faults.script(kind="drop_after_commit", method=case.method, path_pattern=case.path)
        result = await session.call(case.tool, args)
    effects = case.effects(sandbox, args) - before
    assert effects == 1, text_of(result)
    assert_true_answer(case, result, effects)
    # Re-sent only when the operation says that is safe.
    resent = OPS[case.tool].resend_safe or case.asks_again
    assert writes_sent(sandbox, case) == (2 if resent else 1), text_of(result)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.tool)
async def test_a_commit_later_than_the_timeout(case: Case) -> None:
    sandbox = create_sandbox(SandboxConfig(today=TODAY))
    async with over_socket(sandbox, timeout=0.3, write_settle_seconds=1.5) as session:
        args = case.prepare(sandbox)
        before = case.effects(sandbox, args)
        sandbox.faults.script(kind="delay", seconds=0.8, method=case.method, path_pattern=case.path)
        result = await session.call(case.tool, args)
    effects = case.effects(sandbox, args) - before
    assert effects == 1, text_of(result)
    assert_true_answer(case, result, effects)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.tool)
async def test_a_502_then_normal_service(case: Case) -> None:
    sandbox = create_sandbox(SandboxConfig(today=TODAY))
    async with sandbox_session(sandbox, **SETTINGS) as session:
        args = case.prepare(sandbox)
        before = case.effects(sandbox, args)
        sandbox.faults.script(kind="status", status=502, method=case.method, path_pattern=case.path)
        result = await session.call(case.tool, args)
        effects = case.effects(sandbox, args) - before
        assert effects == (1 if OPS[case.tool].resend_safe or case.asks_again else 0), text_of(result)
        assert_true_answer(case, result, effects)
        if effects == 0:  # "safe to call again" is true: calling again does it, once
            again = await session.call(case.tool, args)
            assert not again.is_error, text_of(again)
            assert case.effects(sandbox, args) - before == 1
