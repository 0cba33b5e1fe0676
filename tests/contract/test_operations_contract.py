"""Every operation the server calls, against Altegio's published contract (altegio_mcp/contract).

Each tool is called through a real MCP session against the sandbox with every argument it takes
(arguments that exclude each other get one call each), and the requests the sandbox received are
read back from its request log:

- every official query parameter and body field of the tool's operation either reached the wire
  (under its official name, or a name of its documented alias family) or is declared in the
  operation's `omitted`, with a reason; a declared omission is never sent, and never stale;
- every request the server sent, to any endpoint (pre-reads included), matches an operation of
  the contract and passes `check_request`: no undeclared parameter, official formats, required
  fields present.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, cast

import anyio
import pytest

from altegio_mcp import contract
from altegio_mcp.contract.check import check_request, names_of
from altegio_mcp.operations import ALL_OPERATIONS
from altegio_mcp.operations.base import Operation
from altegio_mcp.sandbox import RequestRecord
from altegio_mcp.sandbox.constants import BASE_PATH
from tests.harness import TODAY, Session, sandbox_session, text_of

LATER = TODAY + timedelta(days=3)

# Seed ids that exist in the sandbox (location New York).
BY_NAME: dict[str, Any] = {
    "location_id": 1001,
    "team_member_id": 2101,
    "team_member_ids": [2101],
    "service_id": 4101,
    "service_ids": [4101],
    "category_id": 3101,
    "client_id": 5002,
    "client_ids": [5002],
    "appointment_id": 600001,
    "visit_id": 700002,
    "schedule_id": 31,
    "day_id": 311,
    "schedule_day_ids": [311],
    "client_schedule_id": 4401,
    "entity_id": 880001,
    "entity_type": "activity",
    "page": 1,
    "count": 5,
    "rating": 5,
    "client_phone": "+13155550175",
    "phone": "+13155550175",
    "client_email": "contract@example.com",
    "email": "contract@example.com",
    "client_name": "Contract Test",
    "name": "Contract",
    "author_name": "Contract",
    "surname": "Test",
    "query": "Smith",
    "text": "Contract test",
    "comment": "Contract test",
    "birth_date": "1990-05-17",
}

# Every rarely used appointment field (an object the schema summarises in one line).
EXTRAS = {
    "tags": [67345],
    "color": "f44336",
    "sms_hours": 6,
    "email_hours": 24,
    "break_minutes": 5,
    "custom_fields": {"contract_field": 1},
}

# Per tool: argument sets that exclude each other (each set gets its own call), and overrides.
VARIANTS: dict[str, list[dict[str, Any]]] = {
    "create_appointment": [
        {
            "client_name": None,
            "client_phone": None,
            "client_email": None,
            "idempotency_key": "contract-1",
            "extras": {**EXTRAS, "attendance": "confirmed"},
        },
        {"client_id": None, "idempotency_key": "contract-2"},
    ],
    "list_appointments": [
        {
            "filters": {
                "created_from": "2026-11-01",
                "created_to": "2026-11-27",
                "changed_after": "2026-11-01T00:00:00",
                "changed_before": "2026-11-27T00:00:00",
                "created_by": 1,
                "finance": True,
                "consumables": True,
            }
        }
    ],
    "update_appointment": [{"extras": EXTRAS, "service_ids": [{"id": 4101, "cost": 80, "amount": 1}]}],
    "get_visit_details": [{"appointment_id": 600002}],
    "update_visit": [
        {
            "appointment_id": 600003,
            "visit_id": 700003,
            "new_payments": [{"account_id": 81001, "amount": 10}],
            "prices": [{"id": 4102, "discount": 10}],
            "goods": [
                {
                    "good_id": 1,
                    "storage_id": 1,
                    "amount": 1,
                    "price": 10,
                    "discount": 0,
                    "team_member_id": 2101,
                }
            ],
        }
    ],
    "get_visit_receipt": [{"visit_id": 700002}],
    "list_bookable_dates": [{"date_from": None, "date_to": None}, {"date": None}],
    "list_client_visits": [{"client_phone": None, "cursor": None}, {"client_id": None, "cursor": None}],
    "update_client": [{"client_id": 5002}],
    "list_locations": [{"my": True}, {"my": False}],
    # Group events (Business Management v2): an upcoming event, and a booking in one.
    "book_group_event": [
        {"event_id": 880005, "client_name": None, "client_phone": None},
        {"event_id": 880005, "client_id": None},
    ],
    "move_event_booking": [{"appointment_id": 600008, "to_event_id": 880005}],
}


@dataclass
class Sent:
    """What one tool sent to its own operation's endpoint, over all its calls."""

    names: set[str] = field(default_factory=set[str])
    requests: list[RequestRecord] = field(default_factory=list[RequestRecord])
    errors: list[str] = field(default_factory=list[str])


def _schema_value(name: str, schema: dict[str, Any]) -> Any:
    if name in BY_NAME:
        return BY_NAME[name]
    options = cast(list[dict[str, Any]], schema.get("anyOf", [schema]))
    main = next((o for o in options if o.get("type") != "null"), options[0])
    if "enum" in main:
        return main["enum"][0]
    kind = main.get("type")
    fmt = main.get("format")
    if kind == "string" and fmt == "date":
        return (LATER if "end" in name or "to" in name else TODAY + timedelta(days=1)).isoformat()
    if kind == "string" and fmt == "date-time":
        return f"{(TODAY + timedelta(days=1)).isoformat()}T10:00:00"
    if kind == "boolean":
        return True
    if kind == "integer":
        minimum = main.get("minimum", main.get("exclusiveMinimum", 0) + 1)
        return max(1, int(minimum))
    if kind == "number":
        return 1
    if kind == "array":
        items = cast(dict[str, Any], main.get("items", {}))
        return [_schema_value(name, items)] if items else []
    if kind == "object":
        return {}
    return "contract test"


def _arguments(tool_schema: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    props = cast(dict[str, dict[str, Any]], tool_schema.get("properties", {}))
    args: dict[str, Any] = {}
    for name, schema in props.items():
        if name in {"confirmation_token", "detail"}:
            continue
        if name in overrides:
            if overrides[name] is not None:
                args[name] = overrides[name]
            continue
        args[name] = _schema_value(name, schema)
    return args


def _op_of(operation: Operation[Any, Any]) -> contract.ContractOperation | None:
    return contract.find(operation.method, operation.path)


def _split(record: RequestRecord) -> tuple[str, contract.Version, str]:
    """(version-relative path, version) of a logged request."""
    path = record.path
    for prefix, version in ((BASE_PATH, "v1"), ("/api/v2", "v2")):
        if path.startswith(prefix):
            return path[len(prefix) :] or "/", cast(contract.Version, version), prefix
    return path, "v1", ""


def _wire_names(op: contract.ContractOperation, record: RequestRecord) -> set[str]:
    """Official names (not aliases) of the query parameters and body fields a request carried."""
    names: set[str] = set()
    body = record.json if isinstance(record.json, dict) else {}
    for param in (*op.query, *(op.body or ())):
        wire = names_of(param, op.version)
        if any(n in record.query for n in wire) or any(n in body for n in wire):
            names.add(param.name)
    return names


async def _call(session: Session, tool: str, args: dict[str, Any]) -> str:
    result = await session.call(tool, args)
    text = text_of(result)
    token = re.search(r'confirmation_token="([^"]+)"', text)
    if token:
        result = await session.call(tool, {**args, "confirmation_token": token.group(1)})
        text = text_of(result)
    return text


def _operations() -> Iterator[Operation[Any, Any]]:
    # The `api` toolset's dynamic tools are no single operation: tests/operations/test_api.py and the
    # catalog tests hold them to the catalog instead.
    yield from (op for op in ALL_OPERATIONS if op.toolset != "api")


@pytest.fixture(scope="module")
def sent(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Sent]:
    """Each tool called with every argument; what reached the sandbox, per tool.

    A module fixture is set up before the per-test isolation, so it gets a state dir of its own:
    otherwise the create keys of one run would be found by the next one.
    """
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_STATE_HOME", str(tmp_path_factory.mktemp("contract-state")))
        return anyio.run(_collect)


async def _collect() -> dict[str, Sent]:
    out: dict[str, Sent] = {}
    async with sandbox_session() as session:
        assert session.sandbox is not None
        tools = {t.name: t for t in (await session.client.list_tools()).tools}
        for operation in _operations():
            tool = tools[operation.name]
            mine = Sent()
            out[operation.name] = mine
            target = _op_of(operation)
            session.sandbox.reset()  # each tool sees the seed, whatever the tools before it did
            for overrides in VARIANTS.get(operation.name, [{}]):
                session.sandbox.requests.clear()
                args = _arguments(dict(tool.input_schema), overrides)
                text = await _call(session, operation.name, args)
                for record in session.sandbox.requests:
                    rel, version, _ = _split(record)
                    op = contract.find(record.method, rel, version)
                    if op is None:
                        mine.errors.append(f"{record.method} {record.path}: not in the contract")
                        continue
                    problems = check_request(op, rel, record.query, record.json)
                    mine.errors.extend(
                        f"{record.method} {record.path}: {p.status} {p.message}" for p in problems
                    )
                    if target is not None and op.key == target.key:
                        mine.requests.append(record)
                        mine.names |= _wire_names(op, record)
                if target is not None and not any(
                    contract.find(r.method, _split(r)[0], _split(r)[1]) == target
                    for r in session.sandbox.requests
                ):
                    mine.errors.append(f"the call sent nothing to {target.key}: {text[:300]}")
    return out


@pytest.mark.parametrize("operation", list(_operations()), ids=lambda o: o.name)
def test_every_operation_is_in_the_contract(operation: Operation[Any, Any]) -> None:
    assert _op_of(operation) is not None, f"{operation.method} {operation.path} is not in altegio.json"


@pytest.mark.parametrize("operation", list(_operations()), ids=lambda o: o.name)
def test_every_request_conforms(operation: Operation[Any, Any], sent: dict[str, Sent]) -> None:
    assert sent[operation.name].errors == []


@pytest.mark.parametrize("operation", list(_operations()), ids=lambda o: o.name)
def test_every_official_parameter_is_exposed_or_declared_left_out(
    operation: Operation[Any, Any], sent: dict[str, Sent]
) -> None:
    op = _op_of(operation)
    assert op is not None
    official = {p.name for p in (*op.query, *(op.body or ())) if not _tolerated(p)}
    exposed = sent[operation.name].names
    omitted = set(operation.omitted)
    assert sorted(official - exposed - omitted) == [], "official parameters neither sent nor declared omitted"
    assert sorted(exposed & omitted) == [], "declared omitted but sent"
    assert sorted(omitted - official) == [], "declared omitted but not an official parameter"
    assert all(reason.strip() for reason in operation.omitted.values())


def _tolerated(param: contract.Param) -> bool:
    return param.tolerated


def test_login_sends_the_official_auth_body() -> None:
    """`login` (POST /auth, partner token) is the one call no tool makes."""
    from pydantic import SecretStr

    from altegio_mcp.client import AltegioClient
    from altegio_mcp.credentials import sign_in
    from altegio_mcp.sandbox import DEMO_LOGIN, DEMO_PASSWORD, SandboxConfig, create_sandbox
    from tests.harness import sandbox_settings

    sandbox = create_sandbox(SandboxConfig(today=TODAY))

    async def run() -> None:
        settings = sandbox_settings(sandbox, user_token=None)
        async with AltegioClient(settings, transport=sandbox.transport()) as client:
            await sign_in(client, DEMO_LOGIN, SecretStr(DEMO_PASSWORD))

    anyio.run(run)
    [record] = sandbox.requests.find("POST", "/auth")
    op = contract.find("POST", "/auth")
    assert op is not None
    assert check_request(op, "/auth", record.query, record.json) == []
    assert _wire_names(op, record) == {"login", "password"}
    assert record.status in {200, 201}
