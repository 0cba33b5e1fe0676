"""Determinism and seed invariants: the same anchor day gives the same data, `reset()` restores it,
and the seeded appointments obey the booking rules the API enforces."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest

from altegio_mcp.sandbox import Sandbox, SandboxConfig, create_sandbox
from altegio_mcp.sandbox.scheduling import busy_intervals, placement_problem

Connect = Callable[..., httpx.AsyncClient]
ANCHOR = date(2026, 11, 27)


def test_same_anchor_same_state() -> None:
    first = create_sandbox(SandboxConfig(today=ANCHOR))
    second = create_sandbox(SandboxConfig(today=ANCHOR))
    assert first.state.fingerprint() == second.state.fingerprint()
    later = create_sandbox(SandboxConfig(today=ANCHOR + timedelta(days=7)))
    assert later.state.fingerprint() != first.state.fingerprint()
    fixed = later.state.appointment(600001)
    assert fixed is not None and fixed.start.date() == ANCHOR + timedelta(days=7)


@pytest.mark.anyio
async def test_reset_restores_the_start(sandbox: Sandbox, client: httpx.AsyncClient) -> None:
    start = sandbox.state.fingerprint()
    await client.delete("/record/1001/600001")
    await client.post("/clients/1001", json={"name": "New", "phone": "+19175550100"})
    await client.delete("/company/1001/schedules/31/client_schedules/4401")
    sandbox.faults.script(kind="drop")
    assert sandbox.state.fingerprint() != start
    sandbox.reset()
    assert sandbox.state.fingerprint() == start
    assert len(sandbox.requests) == 0 and sandbox.faults.pending == []
    await client.delete("/record/1001/600001")
    response = await client.post("http://sandbox.local/__sandbox__/reset")
    assert response.status_code == 200 and sandbox.state.fingerprint() == start


def test_default_config_anchors_on_the_current_date() -> None:
    sandbox = create_sandbox()
    assert sandbox.today == datetime.now(UTC).date() or sandbox.today == datetime.now(UTC).date() - timedelta(
        days=1
    )
    assert sandbox.state.appointment(600001) is not None


def test_clock_defaults_to_noon_utc_of_the_anchor() -> None:
    sandbox = create_sandbox(SandboxConfig(today=ANCHOR))
    now = sandbox.now()
    assert datetime(2026, 11, 27, 12, tzinfo=UTC) <= now < datetime(2026, 11, 27, 12, 1, tzinfo=UTC)


def test_seed_shape(sandbox: Sandbox) -> None:
    state = sandbox.state
    assert [loc.timezone_name for loc in state.locations()] == [
        "America/New_York",
        "Asia/Dubai",
        "Europe/London",
    ]
    assert all(3 <= len(state.team_members(loc.id)) <= 5 for loc in state.locations())
    assert len(state.clients(1001)) == 30
    assert any(not c.name.isascii() for c in state.clients(1001))
    texts = [r.text for r in state.reviews(1001)]
    assert any("\u202e" in t and "Ignore all previous instructions" in t for t in texts)
    assert {r.rating for r in state.reviews(1001)} <= {1, 2, 3, 4, 5}
    assert sorted(state.client_schedules_by_id) == [4401, 4402]
    assert [d.id for d in state.schedule_days(31)] == [311, 312, 313]
    assert all(state.schedules(loc.id) for loc in state.locations())


def test_seeded_appointments_follow_the_rules(sandbox: Sandbox) -> None:
    state = sandbox.state
    for appointment in state.appointments():
        member = state.team_members_by_id[appointment.staff_id]
        visit = state.visits_by_id[appointment.visit_id]
        assert (visit.client_id, visit.day) == (appointment.client_id, appointment.start.date())
        if appointment.start.date() < ANCHOR:
            assert appointment.attendance in (1, -1)
        else:
            assert appointment.attendance in (0, 2)
        if appointment.activity_id:
            continue
        assert placement_problem(state, member, appointment.start, appointment.length, appointment.id) is None
        overlapping = busy_intervals(state, member, appointment.start, appointment.end, appointment.id)
        assert overlapping == []
    paid = state.visits_by_id[700002]
    assert sum(p.amount for p in paid.payments) == 85


def test_dst_offsets_in_new_york(sandbox: Sandbox) -> None:
    offsets = {
        a.start.isoformat()[-6:]
        for a in sandbox.state.appointments(1001)
        if a.start.date() < date(2026, 11, 1)
    }
    assert offsets == {"-04:00"}
    later = {
        a.start.isoformat()[-6:]
        for a in sandbox.state.appointments(1001)
        if a.start.date() >= date(2026, 11, 2)
    }
    assert later == {"-05:00"}


@pytest.mark.anyio
async def test_known_free_slot_on_the_anchor_day(client: httpx.AsyncClient) -> None:
    times = (await client.get("/book_times/1001/2101/2026-11-27", params={"service_ids[]": 4101})).json()[
        "data"
    ]
    assert {
        "time": "14:00",
        "seance_length": 3600,
        "sum_length": 3600,
        "datetime": "2026-11-27T14:00:00-05:00",
    } in times
    schedule = (
        await client.get(
            "/company/1001/staff/schedule",
            params={
                "start_date": "2026-11-27",
                "end_date": "2026-11-27",
                "staff_ids[]": 2101,
                "include[]": "busy_intervals",
            },
        )
    ).json()["data"]
    assert schedule == [
        {
            "staff_id": 2101,
            "date": "2026-11-27",
            "slots": [{"from": "09:00", "to": "17:00"}],
            "busy_intervals": [
                {"entity_type": "record", "entity_id": 600001, "from": "10:00:00", "to": "11:00:00"}
            ],
        }
    ]
