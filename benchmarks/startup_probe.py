"""Where the start of `altegio-mcp serve --sandbox` goes, timed in a fresh interpreter.

`run.py` runs this file as a subprocess (imports must be cold) and reads one JSON object from its
stdout. The phases follow `cli.cmd_serve` up to the `tools/list` answer: the SDK import that any
MCP server pays, the project's own imports, the settings, `build_server` (tools come from the schema
cache) and the answer. Then what the first tool call pays on top, because the start leaves it for
later: importing the operation declarations, building the tool, seeding the sandbox and opening
the Altegio client (the HTTP stack). A second, profiled `build_server` shows where its time goes.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")

spent: defaultdict[str, float] = defaultdict(float)


def timed(label: str | Callable[..., str], fn: Callable[P, R]) -> Callable[P, R]:
    """`fn`, adding its wall time to `spent[label]` (a callable label is given the call's arguments)."""

    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        started = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            key = label if isinstance(label, str) else label(*args, **kwargs)
            spent[key] += time.perf_counter() - started

    return wrapper


def wrap(owner: object, attribute: str, label: str | Callable[..., str]) -> None:
    """Replace `owner.attribute` with a timed version of itself, if it exists."""
    if hasattr(owner, attribute):
        setattr(owner, attribute, timed(label, getattr(owner, attribute)))


def ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def main() -> None:
    phases: dict[str, float] = {}
    first_call: dict[str, float] = {}
    mark = time.perf_counter()

    def phase(name: str, into: dict[str, float] = phases) -> None:
        nonlocal mark
        now = time.perf_counter()
        into[name] = ms(now - mark)
        mark = now

    import mcp.server  # noqa: F401 - the import the bare-SDK baseline pays too

    phase("import mcp.server (bare-SDK baseline pays this too)")
    from altegio_mcp import cli

    phase("import altegio_mcp.cli (beyond the SDK)")
    settings = cli.settings_from(cli._parser().parse_args(["serve", "--sandbox"]))  # pyright: ignore[reportPrivateUsage]
    phase("settings from the command line and environment")
    import altegio_mcp.server as server_module

    phase("import altegio_mcp.server")
    from altegio_mcp import schema_cache

    wrap(schema_cache, "load", "schema cache: read")
    wrap(server_module, "select_operations", "select the served tools")
    wrap(server_module, "LazyTools", "published tools (from the cache)")
    wrap(server_module, "sandbox_upstream", "sandbox upstream (demo settings; no seed)")
    started = time.perf_counter()
    built = server_module.build_server(settings)
    build_total = time.perf_counter() - started
    phase("build_server")

    import anyio
    from mcp.types import ListToolsResult

    listed = anyio.run(built.mcp.list_tools)
    wire = ListToolsResult(tools=listed).model_dump_json(by_alias=True, exclude_none=True)
    phase("tools/list: build and serialize the answer")

    # What the first tools/call pays on top.
    from altegio_mcp.client import AltegioClient  # noqa: F401 - timed

    phase("import the Altegio client (httpx)", first_call)
    from altegio_mcp.operations import ALL_OPERATIONS  # noqa: F401 - timed

    phase("import the operation declarations", first_call)
    manager = built.mcp._tool_manager  # pyright: ignore[reportPrivateUsage]
    tool_times: dict[str, float] = {}
    for tool in listed:
        tool_started = time.perf_counter()
        manager.get_tool(tool.name)
        tool_times[tool.name] = time.perf_counter() - tool_started
    first = listed[0].name
    first_call[f"build the first tool ({first}; loads the policy wrapper)"] = ms(tool_times[first])
    mark = time.perf_counter()
    built.upstream.transport  # noqa: B018 - creates the sandbox: seed data and routes
    phase("seed the sandbox", first_call)

    inner = {key: value for key, value in spent.items()}
    build: dict[str, float] = {key: ms(value) for key, value in sorted(inner.items(), key=lambda kv: -kv[1])}
    build["MCPServer() and the rest of build_server"] = ms(build_total - sum(inner.values()))
    slowest = sorted(tool_times.items(), key=lambda kv: -kv[1])[:5]
    result: dict[str, Any] = {
        "phases_ms": phases,
        "total_ms": round(sum(phases.values()), 2),
        "first_call_ms": first_call,
        "build_server_ms": ms(build_total),
        "build_server_split_ms": build,
        "tools": len(listed),
        "tools_list_bytes": len(wire.encode()),
        "slowest_tools_ms": {name: ms(value) for name, value in slowest},
        "build_server_profile": profile_build(server_module, settings),
    }
    sys.stdout.write(json.dumps(result) + "\n")


def profile_build(server_module: Any, settings: Any) -> list[dict[str, Any]] | None:
    """The top functions by self time in a second `build_server`, if pyinstrument is installed."""
    if importlib.util.find_spec("pyinstrument") is None:
        return None
    # Optional dev tool, loaded by name so the benchmarks still type-check where it is missing.
    pyinstrument = importlib.import_module("pyinstrument")
    profiler = pyinstrument.Profiler(interval=0.0002, async_mode="disabled")
    profiler.start()
    for _ in range(3):
        server_module.build_server(settings)
    session = profiler.stop()
    from bench_samples import top_functions

    return top_functions(session, per=3, limit=10)


if __name__ == "__main__":
    main()
