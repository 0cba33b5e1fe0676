"""The contract file itself: it loads lazily, holds facts only, and finds operations by path shape."""

from __future__ import annotations

import re
import subprocess
import sys
from typing import Any

from altegio_mcp import contract

FORMATS = {
    "YYYY-MM-DD",
    "DD.MM.YYYY",
    "YYYY-MM-DD HH:MM:SS",
    "YYYY-MM-DDTHH:MM:SS",
    "iso-datetime",
    "HH:MM",
    "email",
    "phone-digits-or-empty",
    "hex-color-no-hash",
}
PARAM_KEYS = {
    "name",
    "type",
    "required",
    "nullable",
    "format",
    "enum",
    "items",
    "fields",
    "aliases",
    "deprecated",
    "tolerated",
}


OP_KEYS = {
    "path",
    "query",
    "body",
    "examples",
    "response_data",
    "response_attributes",
    "required_standard",
    "required_group_event",
    "body_example",
}
IDENTIFIER = re.compile(r"[A-Za-z0-9_.\-\[\]]+")


def _walk(params: list[dict[str, Any]], where: str) -> list[str]:
    errors: list[str] = []
    for p in params:
        extra = set(p) - PARAM_KEYS
        if extra:
            errors.append(f"{where}.{p.get('name')}: unexpected keys {sorted(extra)}")
        if p.get("format") is not None and p["format"] not in FORMATS:
            errors.append(f"{where}.{p['name']}: unknown format {p['format']}")
        if not set(p["type"].split("|")) <= {"integer", "number", "string", "boolean", "array", "object"}:
            errors.append(f"{where}.{p['name']}: unknown type {p['type']}")
        errors.extend(_walk(p.get("fields", []) or [], f"{where}.{p['name']}"))
    return errors


def test_every_parameter_uses_the_fixed_vocabulary_and_no_description_text() -> None:
    raw = contract.raw_contract()
    errors: list[str] = []
    for version in ("v1", "v2"):
        for key, op in raw[version]["operations"].items():
            assert set(op) <= OP_KEYS, key
            assert all(IDENTIFIER.fullmatch(name) for name in op.get("response_data", [])), key
            for part in ("path", "query", "body"):
                errors.extend(_walk(op.get(part) or [], f"{version} {key} {part}"))
    assert errors == []


def test_operations_are_found_by_path_shape_or_by_concrete_path() -> None:
    op = contract.find("PUT", "/record/{location_id}/{appointment_id}")
    assert op is not None
    assert op.path == "/record/{location_id}/{record_id}"
    partner = contract.find("GET", "/records/partner")
    assert partner is not None
    assert partner.path == "/records/partner"
    schedule = contract.find("GET", "/company/7/staff/schedule")
    assert schedule is not None
    assert schedule.path.endswith("/staff/schedule")
    assert contract.find("GET", "/v2/locations/{location_id}/events") is not None
    v2 = contract.find("PATCH", "/locations/1/events/2/appointments/3", "v2")
    assert v2 is not None
    assert [p.name for p in v2.body or ()][:1] == ["reschedule_activity_id"]
    assert contract.find("GET", "/nothing/here") is None


def test_the_server_does_not_read_the_contract_at_start_up() -> None:
    code = (
        "import sys, altegio_mcp.server, altegio_mcp.tools, altegio_mcp.operations;"
        "print('altegio_mcp.contract' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
