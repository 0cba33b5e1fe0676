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
    readme_with_table,
    replace_between,
    settings_table,
    tool_table,
)
from altegio_mcp.operations import ALL_OPERATIONS, DEFAULT_TOOLSETS
from altegio_mcp.settings import Settings
from altegio_mcp.tools import OperationTool, select_operations
from tests.harness import mock_session

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


async def test_default_tool_list_fits_the_budget() -> None:
    """The default tools/list is read by the model on every turn: at most 25,000 bytes on the wire."""
    async with mock_session(lambda _r: pytest.fail("no HTTP expected"), toolsets=["default"]) as s:
        listed = await s.client.list_tools()
    wire = listed.model_dump_json(by_alias=True, exclude_none=True)
    assert len(listed.tools) < 40
    assert len(wire.encode()) <= 25_000, len(wire.encode())
