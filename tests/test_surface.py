"""The tool surface as the model sees it: names, annotations, schemas, filters, snapshot, README table.

The snapshot (`tests/snapshots/tools.json`) pins every tool's name, title, description,
annotations and schemas. After an intended change, regenerate it with
`UPDATE_SNAPSHOTS=1 .venv/bin/pytest tests/test_surface.py` and review the diff.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from altegio_mcp.docs import (
    SETTINGS_END,
    SETTINGS_START,
    TABLE_END,
    TABLE_START,
    model_facing_bytes,
    readme_with_table,
    replace_between,
    settings_table,
    tool_table,
)
from altegio_mcp.operations import ALL_OPERATIONS, DEFAULT_TOOLSETS
from altegio_mcp.settings import Settings
from altegio_mcp.tools import OperationTool, select_operations
from tests.harness import mock_session, sandbox_session

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parent.parent
SNAPSHOT = Path(__file__).parent / "snapshots" / "tools.json"
NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")

# reference.md §5: operations that delete, cascade or move money must be confirmed by the person.
MUST_CONFIRM = {
    "delete_appointment",
    "delete_recurring_appointments",
    "update_recurring_appointments",
    "update_visit",
}
# POST endpoints that only read (search bodies).
READ_BY_POST = {"search_clients", "list_client_visits"}


def _no_refs(node: Any) -> bool:
    if isinstance(node, dict):
        return "$ref" not in node and "$defs" not in node and all(_no_refs(v) for v in node.values())
    if isinstance(node, list):
        return all(_no_refs(v) for v in node)
    return True


async def _tools_json(**overrides: Any) -> list[dict[str, Any]]:
    async with mock_session(lambda _r: pytest.fail("no HTTP expected"), **overrides) as s:
        listed = await s.client.list_tools()
    return [tool.model_dump(mode="json", by_alias=True, exclude_none=True) for tool in listed.tools]


async def test_every_tool_is_declared_once_and_wrapped() -> None:
    names = [op.name for op in ALL_OPERATIONS]
    assert len(names) == len(set(names))
    async with mock_session(lambda _r: pytest.fail("no HTTP expected")) as s:
        tools = s.server.mcp._tool_manager.list_tools()  # pyright: ignore[reportPrivateUsage]
    assert {t.name for t in tools} == set(names)
    assert all(isinstance(t, OperationTool) for t in tools)


@pytest.mark.parametrize("op", ALL_OPERATIONS, ids=lambda op: op.name)
def test_declaration_is_consistent(op: Any) -> None:
    assert NAME.match(op.name)
    assert op.description and len(op.description) <= 300
    assert op.title
    if op.method == "GET":
        assert op.kind == "read"
    elif op.name in READ_BY_POST:
        assert op.kind == "read" and op.method == "POST" and op.is_idempotent
    else:
        assert op.kind in {"write", "destructive"}
    if op.method == "DELETE" or op.name in MUST_CONFIRM:
        assert op.kind == "destructive"
        assert op.confirmation is not None
    if op.kind == "destructive":
        assert op.confirmation is not None


async def test_annotations_and_schemas_on_the_wire() -> None:
    by_name = {op.name: op for op in ALL_OPERATIONS}
    for tool in await _tools_json(toolsets=["all"]):
        op = by_name[tool["name"]]
        hints = tool["annotations"]
        for key in ("readOnlyHint", "destructiveHint", "idempotentHint", "openWorldHint"):
            assert isinstance(hints.get(key), bool), (tool["name"], key)
        assert hints["readOnlyHint"] is (op.kind == "read")
        if op.kind == "read":
            assert hints["destructiveHint"] is False
        if op.kind == "destructive":
            assert hints["destructiveHint"] is True
            assert "confirmation_token" in tool["inputSchema"]["properties"]
        assert tool["inputSchema"]["type"] == "object"
        assert _no_refs(tool["inputSchema"]), tool["name"]
        assert "outputSchema" in tool


async def test_read_only_drops_every_write_tool() -> None:
    tools = await _tools_json(toolsets=["all"], read_only=True, tools=["create_appointment"])
    assert tools
    assert all(t["annotations"]["readOnlyHint"] for t in tools)
    assert "create_appointment" not in {t["name"] for t in tools}


def test_toolset_filters() -> None:
    default = select_operations(ALL_OPERATIONS, Settings(), DEFAULT_TOOLSETS)
    assert len(default) < 40
    assert all(op.core for op in default)
    assert {op.toolset for op in default} == set(DEFAULT_TOOLSETS)
    everything_in_visits = select_operations(ALL_OPERATIONS, Settings(toolsets=["visits"]), DEFAULT_TOOLSETS)
    assert "get_visit_receipt" in {op.name for op in everything_in_visits}
    only = select_operations(ALL_OPERATIONS, Settings(toolsets=["appointments"]), DEFAULT_TOOLSETS)
    assert {op.toolset for op in only} == {"appointments"}
    plus = select_operations(
        ALL_OPERATIONS,
        Settings(toolsets=["appointments"], tools=["whoami"], exclude_tools=["delete_appointment"]),
        DEFAULT_TOOLSETS,
    )
    names = {op.name for op in plus}
    assert "whoami" in names
    assert "delete_appointment" not in names
    with pytest.raises(ValueError, match="unknown toolset"):
        select_operations(ALL_OPERATIONS, Settings(toolsets=["nope"]), DEFAULT_TOOLSETS)
    with pytest.raises(ValueError, match="unknown tool"):
        select_operations(ALL_OPERATIONS, Settings(tools=["drop_database"]), DEFAULT_TOOLSETS)


async def test_snapshot_of_the_whole_surface() -> None:
    current = await _tools_json(toolsets=["all"])
    rendered = json.dumps(current, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.parent.mkdir(exist_ok=True)
        SNAPSHOT.write_text(rendered, encoding="utf-8")
    assert SNAPSHOT.exists(), "no snapshot yet: run with UPDATE_SNAPSHOTS=1"
    assert rendered == SNAPSHOT.read_text(encoding="utf-8"), (
        "the tool surface changed: review it, then run UPDATE_SNAPSHOTS=1 pytest tests/test_surface.py"
    )


def test_readme_tables_are_current() -> None:
    """The tool table and the ALTEGIO_* table are generated from the declarations and `Settings`."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert TABLE_START in readme and TABLE_END in readme
    assert SETTINGS_START in readme and SETTINGS_END in readme
    expected = readme_with_table(readme, tool_table(list(ALL_OPERATIONS), DEFAULT_TOOLSETS))
    expected = replace_between(expected, SETTINGS_START, SETTINGS_END, settings_table())
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        (ROOT / "README.md").write_text(expected, encoding="utf-8")
        readme = expected
    assert readme == expected, (
        "README tool table is stale: run UPDATE_SNAPSHOTS=1 pytest tests/test_surface.py"
    )


async def test_tool_list_is_reachable_through_a_client() -> None:
    async with mock_session(lambda _r: pytest.fail("no HTTP expected")) as s:
        assert isinstance(s.client, Client)
        assert len((await s.client.list_tools()).tools) == len(ALL_OPERATIONS)


def test_server_manifest_matches_the_package() -> None:
    import tomllib

    from altegio_mcp import __version__

    manifest = json.loads((ROOT / "server.json").read_text(encoding="utf-8"))
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert manifest["version"] == project["version"] == __version__
    package = manifest["packages"][0]
    assert package["identifier"] == project["name"]
    assert package["version"] == project["version"]
    assert f"mcp-name: {manifest['name']}" in (ROOT / "README.md").read_text(encoding="utf-8")
    from altegio_mcp.settings import Settings

    for variable in package["environmentVariables"]:
        assert variable["name"].removeprefix("ALTEGIO_").lower() in Settings.model_fields


# The operations of the seed page (appointments, visits, reviews, recurring series): all 15 are in
# the default set, with the booking essentials and whoami.
SEED_OPERATIONS = {
    "list_appointments",
    "get_appointment",
    "create_appointment",
    "update_appointment",
    "delete_appointment",
    "list_partner_appointments",
    "get_visit",
    "get_visit_details",
    "update_visit",
    "get_visit_receipt",
    "list_comments",
    "create_comment",
    "create_recurring_appointments",
    "update_recurring_appointments",
    "delete_recurring_appointments",
}
BOOKING_ESSENTIALS = {
    "whoami",
    "list_services",
    "list_team_members",
    "search_clients",
    "create_client",
    "list_free_times",
}
PER_TOOL_BUDGET = 650
DEFAULT_SET_BUDGET = 20_000


async def test_default_set_fits_the_model_facing_budget() -> None:
    """What the model reads on every turn (name, description, inputSchema) stays small: at most
    650 bytes per tool on average over the default set and 20 kB in all. Output schemas go to the
    client, not the model, and are left out (they are complete instead)."""
    wire = await _tools_json(toolsets=["default"])
    names = {t["name"] for t in wire}
    assert names >= SEED_OPERATIONS, SEED_OPERATIONS - names
    assert names >= BOOKING_ESSENTIALS, BOOKING_ESSENTIALS - names
    sizes = {t["name"]: model_facing_bytes(t) for t in wire}
    total = sum(sizes.values())
    assert total <= DEFAULT_SET_BUDGET, total
    assert total / len(wire) <= PER_TOOL_BUDGET, (
        total / len(wire),
        sorted(sizes.items(), key=lambda kv: -kv[1]),
    )


def _incomplete_nodes(node: Any, where: str = "$") -> list[str]:
    """Object nodes without properties (or a schema for extra keys), arrays without items."""
    if isinstance(node, list):
        return [p for i, item in enumerate(node) for p in _incomplete_nodes(item, f"{where}[{i}]")]
    if not isinstance(node, dict):
        return []
    problems: list[str] = []
    kind = node.get("type")
    bare = "properties" not in node and not isinstance(node.get("additionalProperties"), dict)
    if kind == "object" and "anyOf" not in node and bare:
        problems.append(where)
    if kind == "array" and "items" not in node:
        problems.append(where)
    for key, value in node.items():
        if key == "properties":
            for name, prop in value.items():
                problems += _incomplete_nodes(prop, f"{where}.{name}")
        elif isinstance(value, dict | list):
            problems += _incomplete_nodes(value, f"{where}.{key}")
    return problems


async def test_output_schemas_are_complete() -> None:
    """Every object is described to the bottom: nested objects, item schemas, required fields."""
    for tool in await _tools_json(toolsets=["all"]):
        schema = tool["outputSchema"]
        assert schema["type"] == "object"
        assert _incomplete_nodes(schema) == [], tool["name"]
        shapes = schema.get("anyOf", [schema])
        assert "properties" in shapes[0] and "required" in shapes[0], tool["name"]
    by_name = {t["name"]: t for t in await _tools_json(toolsets=["all"])}
    item = by_name["list_appointments"]["outputSchema"]["properties"]["items"]["items"]
    assert "id" in item["required"] and item["properties"]["start"]["type"] == "string"
    assert item["properties"]["client"]["type"] == "object"


async def test_every_in_memory_result_is_checked_against_its_output_schema() -> None:
    """The SDK client of tests/harness.py validates every non-error result against the published
    output schema; a result that does not fit it fails the call (so every test checks its results)."""
    async with sandbox_session(toolsets=["default"]) as s:
        tool = s.server.mcp._tool_manager.get_tool("whoami")  # pyright: ignore[reportPrivateUsage]
        assert tool is not None
        tool.fn_metadata.output_schema = {
            "type": "object",
            "properties": {"user": {"type": "integer"}},
            "required": ["user"],
        }
        with pytest.raises(RuntimeError, match="Invalid structured content"):
            await s.call("whoami")
