"""Contract tests: each emulated operation, called as documented, answers the documented shape.

The fixtures in `contract/` hold, per operation, a request shaped as in Altegio's documentation and
the documented example response (types as the documented schema declares them). A response
conforms when every documented key is present with a compatible JSON type; `nullable` lists
paths the documentation allows to be null and `optional` paths that depend on the data.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import httpx
import pytest

from altegio_mcp.sandbox import Sandbox

Connect = Callable[..., httpx.AsyncClient]

CONTRACT_DIR = Path(__file__).parent / "contract"
FIXTURES = sorted(CONTRACT_DIR.glob("*.json"))


def load(path: Path) -> dict[str, Any]:
    return cast(dict[str, Any], json.loads(path.read_text(encoding="utf-8")))


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def conformance_errors(
    example: object, actual: object, path: str, nullable: set[str], optional: set[str]
) -> list[str]:
    """Differences between a documented example and an actual JSON value (empty when they conform)."""
    if example is None or (path in optional and actual is None):
        return []
    if actual is None:
        return (
            []
            if path in nullable
            else [f"{path}: null where the documentation shows {type(example).__name__}"]
        )
    empty: tuple[object, ...] = ({}, [])
    if example in empty and actual in empty:
        return []
    if isinstance(example, dict):
        if not isinstance(actual, dict):
            return [f"{path}: expected an object, got {type(actual).__name__}"]
        errors: list[str] = []
        example_map = cast(dict[str, object], example)
        actual_map = cast(dict[str, object], actual)
        for key, value in example_map.items():
            child = f"{path}.{key}" if path else key
            if key not in actual_map:
                if child not in optional:
                    errors.append(f"{child}: missing")
                continue
            errors.extend(conformance_errors(value, actual_map[key], child, nullable, optional))
        return errors
    if isinstance(example, list):
        if not isinstance(actual, list):
            return [f"{path}: expected an array, got {type(actual).__name__}"]
        example_items = cast(list[object], example)
        actual_items = cast(list[object], actual)
        if not example_items:
            return []
        errors = []
        for item in actual_items[:5]:
            errors.extend(conformance_errors(example_items[0], item, f"{path}[]", nullable, optional))
        return errors
    if isinstance(example, bool):
        return [] if isinstance(actual, bool) else [f"{path}: expected a boolean, got {actual!r}"]
    if _is_number(example):
        return [] if _is_number(actual) else [f"{path}: expected a number, got {actual!r}"]
    if isinstance(example, str):
        return [] if isinstance(actual, str) else [f"{path}: expected a string, got {actual!r}"]
    return [f"{path}: unexpected example type {type(example).__name__}"]


def test_checker_flags_drift() -> None:
    example: dict[str, object] = {
        "data": [{"id": 1, "name": "x", "tags": [], "owner": {"id": 2}}],
        "meta": [],
    }
    good: dict[str, object] = {
        "data": [{"id": 7, "name": "y", "tags": ["a"], "owner": {"id": 3}, "extra": True}],
        "meta": {},
    }
    bad: dict[str, object] = {"data": [{"id": "7", "tags": "none", "owner": None}], "meta": []}
    assert conformance_errors(example, good, "", set(), set()) == []
    assert conformance_errors(example, bad, "", set(), set()) == [
        "data[].id: expected a number, got '7'",
        "data[].name: missing",
        "data[].tags: expected an array, got str",
        "data[].owner: null where the documentation shows dict",
    ]


def test_every_fixture_names_its_operation() -> None:
    assert len(FIXTURES) >= 35
    operations = {load(path)["operation"] for path in FIXTURES}
    assert len(operations) == len(FIXTURES)


@pytest.mark.anyio
@pytest.mark.parametrize("fixture", FIXTURES, ids=[p.stem for p in FIXTURES])
async def test_operation_matches_documented_shape(sandbox: Sandbox, connect: Connect, fixture: Path) -> None:
    spec = load(fixture)
    request = spec["request"]
    async with connect(sandbox) as api:
        response = await api.request(
            request["method"], request["path"], params=request["query"] or None, json=request["json"]
        )
    assert response.status_code == spec["status"], response.text
    if spec["status"] == 204:
        assert response.content == b""
        return
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["success"] is True
    data = body["data"]
    if isinstance(data, list):
        assert data, f"{spec['operation']} returned no items to check"
    errors = conformance_errors(spec["example"], body, "", set(spec["nullable"]), set(spec["optional"]))
    assert errors == [], f"{spec['operation']} ({spec['source']})"


@pytest.mark.anyio
async def test_dates_are_location_local_with_offsets(sandbox: Sandbox, connect: Connect) -> None:
    async with connect(sandbox) as api:
        response = await api.get("/record/1001/600001")
    data = response.json()["data"]
    assert data["datetime"] == "2026-11-27T10:00:00-05:00"
    assert data["date"] == "2026-11-27 10:00:00"
    assert httpx.URL(data["short_link"]).scheme == "https"
    assert len(data["create_date"]) == len("2026-01-16T20:35:11-0500")
