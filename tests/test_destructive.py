"""Every destructive operation, against the sandbox: the first call changes nothing; the audit trail.

The case table must cover every operation declared destructive, so a new one cannot be added
without proving here that its first call leaves the upstream untouched.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from altegio_mcp.audit import audited_writes, read_audit
from altegio_mcp.operations import ALL_OPERATIONS
from altegio_mcp.sandbox import DEMO_PARTNER_TOKEN, DEMO_USER_TOKEN, NEW_YORK_LOCATION_ID
from tests.harness import awaits_confirmation, sandbox_session, text_of

pytestmark = pytest.mark.anyio

# Seeded sandbox ids (see altegio_mcp/sandbox/seed_data.py): appointment 600001 with visit 700001;
# visit 700002 paid in full (payments 800001, 800002); visit 700003 part paid; client series 4401 on
# schedule 31 with days 311 and 312.
CASES: dict[str, list[dict[str, Any]]] = {
    "call_api_operation": [
        {"operation": "DELETE /client/{location_id}/{id}", "path": {"id": 5003}},
        {
            "operation": "DELETE /clients/{location_id}/clients/{client_id}/comments/{comment_id}",
            "path": {"client_id": 5001, "comment_id": 920001},
        },
    ],
    "delete_appointment": [{"appointment_id": 600001}],
    "delete_recurring_appointments": [{"schedule_id": 31, "client_schedule_id": 4401}],
    "update_recurring_appointments": [
        {"schedule_id": 31, "client_schedule_id": 4401, "schedule_day_ids": [311]}
    ],
    "update_visit": [
        {"visit_id": 700003, "appointment_id": 600003, "fast_payment": "cash"},
        {"visit_id": 700003, "appointment_id": 600003, "new_payments": [{"account_id": 81001, "amount": 25}]},
        {"visit_id": 700002, "appointment_id": 600002, "delete_payment_ids": [800001]},
        {"visit_id": 700001, "appointment_id": 600001, "status": "no-show"},
    ],
}
DESTRUCTIVE = sorted(op.name for op in ALL_OPERATIONS if op.kind == "destructive")


def test_every_destructive_operation_has_cases() -> None:
    assert sorted(CASES) == DESTRUCTIVE


@pytest.mark.parametrize(
    ("tool", "arguments"),
    [(tool, args) for tool, cases in CASES.items() for args in cases],
    ids=lambda value: value if isinstance(value, str) else "",
)
async def test_first_call_changes_nothing_then_the_token_does_it(
    tool: str, arguments: dict[str, Any]
) -> None:
    async with sandbox_session() as s:
        assert s.sandbox is not None
        before = s.sandbox.state.fingerprint()
        s.sandbox.requests.clear()
        first = await s.call(tool, arguments)
        assert awaits_confirmation(first)
        text = text_of(first)
        assert text.startswith("Not done yet")
        assert s.sandbox.state.fingerprint() == before
        assert [r.method for r in s.sandbox.requests if r.method != "GET"] == []
        token = re.search(r'confirmation_token="([^"]+)"', text)
        assert token, text
        second = await s.call(tool, {**arguments, "confirmation_token": token.group(1)})
        assert not second.is_error, text_of(second)
        assert s.sandbox.state.fingerprint() != before


async def test_the_audit_trail_holds_exactly_the_writes_performed(tmp_path: Path) -> None:
    audit_file = tmp_path / "audit.jsonl"
    async with sandbox_session(audit=True, audit_log=audit_file) as s:
        free = await s.call(
            "list_free_times",
            {"team_member_id": 2101, "service_ids": [4101], "date": "2026-11-27"},
        )
        assert free.structured_content is not None
        slots = [item["datetime"] for item in free.structured_content["items"]]
        booked = await s.call(
            "create_appointment",
            {"team_member_id": 2101, "service_ids": [4101], "client_id": 5002, "datetime": slots[0]},
        )
        assert not booked.is_error, text_of(booked)
        assert booked.structured_content is not None
        new_id = booked.structured_content["appointment"]["id"]
        busy = await s.call(
            "create_appointment",
            {"team_member_id": 2101, "service_ids": [4101], "client_id": 5003, "datetime": slots[0]},
        )
        assert busy.is_error
        moved = await s.call("update_appointment", {"appointment_id": new_id, "datetime": slots[-1]})
        assert not moved.is_error, text_of(moved)
        await s.call("list_appointments", {"start_date": "2026-11-27", "end_date": "2026-11-27"})
        preview = await s.call("delete_appointment", {"appointment_id": new_id})
        token = re.search(r'confirmation_token="([^"]+)"', text_of(preview))
        assert token
        bad = await s.call(
            "create_appointment", {"team_member_id": -1, "service_ids": [], "datetime": "soon"}
        )
        assert bad.is_error
        deleted = await s.call(
            "delete_appointment", {"appointment_id": new_id, "confirmation_token": token.group(1)}
        )
        assert not deleted.is_error, text_of(deleted)

    raw = audit_file.read_text(encoding="utf-8")
    lines = raw.splitlines()
    assert all(json.loads(line) for line in lines)
    # Two lines per write: the intent (before sending) and its outcome.
    assert [e["event"] for e in read_audit(audit_file)] == ["intent", "outcome"] * 4
    entries = audited_writes(audit_file)
    summary = [(e["tool"], e["request"].split()[0], e["outcome"], e["confirmation"]) for e in entries]
    assert summary == [
        ("create_appointment", "POST", "done", "not-needed"),
        ("create_appointment", "POST", "error: ValidationFailed", "not-needed"),
        ("update_appointment", "PUT", "done", "not-needed"),
        ("delete_appointment", "DELETE", "done", "token"),
    ]
    assert entries[3]["target_id"] == str(new_id)
    assert entries[3]["location_id"] == NEW_YORK_LOCATION_ID
    assert "confirmation_token" not in entries[3]["arguments"]
    for secret in (DEMO_USER_TOKEN, DEMO_PARTNER_TOKEN, token.group(1)):
        assert secret not in raw
    assert audit_file.stat().st_mode & 0o077 == 0


def test_a_torn_last_line_leaves_earlier_lines_readable(tmp_path: Path) -> None:
    from altegio_mcp.audit import AuditLog

    path = tmp_path / "audit.jsonl"
    log = AuditLog(path)
    for n in range(3):
        ident = log.intent(
            tool="create_comment",
            caller="t",
            request="POST /comments/1/2",
            location_id=1,
            target_id=str(n),
            arguments={"text": f"hello {n}", "user_token": "secret"},
            confirmation=None,
        )
        if n < 2:
            log.outcome(ident, tool="create_comment", outcome="done")
    with path.open("a", encoding="utf-8") as handle:
        handle.write('{"time": "2026-11-27T12:00:00", "tool": "crea')  # a crash mid-write
    entries = audited_writes(path)
    assert [e["target_id"] for e in entries] == ["0", "1", "2"]
    assert [e["outcome"] for e in entries] == ["done", "done", "in flight"]
    assert all("user_token" not in e["arguments"] for e in entries)


def test_an_unwritable_audit_stops_the_write_but_not_its_outcome(tmp_path: Path) -> None:
    """No intent line, no write; a failed outcome line never breaks a call that already happened."""
    from altegio_mcp.audit import AuditLog, AuditUnavailable

    blocked = tmp_path / "file"
    blocked.write_text("not a directory")
    log = AuditLog(blocked / "audit.jsonl")
    with pytest.raises(AuditUnavailable):
        log.intent(
            tool="x",
            caller="t",
            request="POST /x",
            location_id=None,
            target_id=None,
            arguments={},
            confirmation=None,
        )
    log.outcome("abc", tool="x", outcome="done")
    assert log.failures == 2


async def test_an_unwritable_audit_sends_nothing(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a directory")
    async with sandbox_session(audit=True, audit_log=blocked / "audit.jsonl") as s:
        assert s.sandbox is not None
        result = await s.call("add_client_comment", {"client_id": 5007, "text": "never sent"})
        assert result.is_error and "audit trail could not be written" in text_of(result), text_of(result)
        assert [r for r in s.sandbox.requests if r.method == "POST"] == []
