"""What a server does before its first tool call: publish tools from the schema cache, load nothing else.

`altegio_mcp/schema_cache.json` holds every tool's `tools/list` form, generated from the operation
declarations; a server lists tools from it and builds a tool (argument model, handler) on the
tool's first call. These tests keep the cache equal to a fresh generation, the lazily listed tools
equal to the built ones, and the start free of the modules it no longer needs (no timings).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from typing import Any

import pytest
from mcp.types import ListToolsResult

from altegio_mcp import schema_cache
from altegio_mcp.operations import ALL_OPERATIONS, DEFAULT_TOOLSETS
from altegio_mcp.selection import select_operations
from altegio_mcp.server import AltegioServer, LazyToolManager, build_server, sandbox_upstream
from altegio_mcp.settings import Settings
from tests.harness import mock_session

pytestmark = pytest.mark.anyio

SELECTIONS: list[dict[str, Any]] = [
    {},
    {"toolsets": ["all"]},
    {"toolsets": ["default"], "read_only": True},
    {"toolsets": ["all"], "read_only": True},
    {"toolsets": ["api", "visits"]},
    {"toolsets": ["default"], "tools": ["call_api_operation"], "exclude_tools": ["whoami"]},
]


def test_schema_cache_equals_a_fresh_generation() -> None:
    fresh = schema_cache.render(schema_cache.generate())
    current = schema_cache.CACHE_FILE.read_text(encoding="utf-8")
    assert fresh == current, (
        f"{schema_cache.CACHE_FILE.name} is stale: an operation declaration changed. "
        f"Run `{schema_cache.REGENERATE}` and commit the result."
    )


@pytest.mark.parametrize("overrides", SELECTIONS, ids=json.dumps)
def test_selection_from_the_cache_matches_the_declarations(overrides: dict[str, Any]) -> None:
    settings = Settings(**overrides)
    from_cache = select_operations(schema_cache.load(), settings, DEFAULT_TOOLSETS)
    from_declarations = select_operations(ALL_OPERATIONS, settings, DEFAULT_TOOLSETS)
    assert [(t.name, t.kind) for t in from_cache] == [(op.name, op.kind) for op in from_declarations]


def _wire(server: AltegioServer) -> str:
    import anyio

    listed = anyio.run(server.mcp.list_tools)
    return ListToolsResult(tools=listed).model_dump_json(by_alias=True, exclude_none=True)


@pytest.mark.parametrize("overrides", SELECTIONS, ids=json.dumps)
def test_listed_from_the_cache_is_byte_identical_to_the_built_tools(overrides: dict[str, Any]) -> None:
    settings = Settings(sandbox=True, **overrides)
    lazy = build_server(settings, upstream=sandbox_upstream(settings))
    from_cache = _wire(lazy)
    built = build_server(settings, upstream=sandbox_upstream(settings))
    manager = built.mcp._tool_manager  # pyright: ignore[reportPrivateUsage]
    assert isinstance(manager, LazyToolManager)
    tools = manager.list_tools()  # builds every tool from its declaration
    assert tools and all(manager.built(tool.name) is tool for tool in tools)
    assert _wire(built) == from_cache


async def test_a_tool_is_built_on_its_first_call_only() -> None:
    async with mock_session(lambda _r: pytest.fail("no HTTP expected"), toolsets=["default"]) as s:
        manager = s.server.mcp._tool_manager  # pyright: ignore[reportPrivateUsage]
        assert isinstance(manager, LazyToolManager)
        listed = await s.client.list_tools()
        assert len(listed.tools) > 10
        assert not any(manager.built(tool.name) for tool in listed.tools)
        result = await s.call("list_appointments", {"location_id": "one"})
        assert result.is_error and "location_id" in result.content[0].model_dump()["text"]
        assert [tool.name for tool in listed.tools if manager.built(tool.name)] == ["list_appointments"]


# Modules a server must not load before its first tool call (each costs start-up time).
NOT_AT_START = (
    "httpx",
    "keyring",
    "jsonschema",
    "altegio_mcp.client",
    "altegio_mcp.tools",
    "altegio_mcp.operations.registry",
    "altegio_mcp.operations.base",
    "altegio_mcp.sandbox.app",
    "altegio_mcp.schema",
)

PROBE = textwrap.dedent(
    """
    import json, sys
    import anyio
    from mcp import Client
    from altegio_mcp.cli import _parser, settings_from
    from altegio_mcp.server import build_server

    async def main():
        server = build_server(settings_from(_parser().parse_args(sys.argv[1:])))
        async with Client(server.mcp) as client:
            listed = await client.list_tools()
            await client.list_prompts()
            await client.list_resource_templates()
        loaded = [name for name in json.loads(sys.stdin.read()) if name in sys.modules]
        print(json.dumps({"tools": len(listed.tools), "loaded": loaded}))

    anyio.run(main)
    """
)


@pytest.mark.parametrize("args", [["serve", "--sandbox"], ["serve"]], ids=" ".join)
def test_start_loads_only_what_tools_list_needs(args: list[str], tmp_path: Any) -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "ALTEGIO_PARTNER_TOKEN": "partner",
        "ALTEGIO_USER_TOKEN": "user",
    }
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        input=json.dumps(NOT_AT_START),
        capture_output=True,
        text=True,
        env=env,
        check=True,
        timeout=120,
    )
    report = json.loads(done.stdout)
    assert report["tools"] > 10
    assert report["loaded"] == []
