"""Where the start of `altegio-mcp serve --sandbox` goes, timed in a fresh interpreter.

`run.py` runs this file as a subprocess (imports must be cold) and reads one JSON object from its
stdout. The phases follow `cli.cmd_serve`: the SDK import that any MCP server pays, the project's
own imports, the sandbox seed, `build_server` (with the time spent in argument models, schema
compaction, handler signatures and the SDK's `Tool.from_function` separated), and the
`tools/list` answer. A second, profiled `build_server` shows which functions the schema work is in.
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
SCHEMA_FUNCTIONS = ("compact_schema", "output_schema", "prime_tool_output_schemas")


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


def schema_label(name: str) -> Callable[..., str]:
    """`compact_schema (serialization)`: the function's name and, when given, its mode."""

    def label(*_args: object, **kwargs: object) -> str:
        return f"{name} ({kwargs['mode']})" if "mode" in kwargs else name

    return label


def ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def main() -> None:
    phases: dict[str, float] = {}
    mark = time.perf_counter()

    def phase(name: str) -> None:
        nonlocal mark
        now = time.perf_counter()
        phases[name] = ms(now - mark)
        mark = now

    import mcp.server  # noqa: F401 - the import the bare-SDK baseline pays too

    phase("import mcp.server (bare-SDK baseline pays this too)")
    import altegio_mcp.cli

    phase("import altegio_mcp.cli (beyond the SDK)")
    import altegio_mcp.server as server_module

    phase("import altegio_mcp.server + operations")
    import altegio_mcp.sandbox  # noqa: F401 - imported by sandbox_upstream at start

    phase("import altegio_mcp.sandbox")
    from altegio_mcp import tools
    from altegio_mcp.settings import Settings

    settings = Settings(sandbox=True)
    upstream = server_module.sandbox_upstream(settings)
    phase("create sandbox (seed data)")

    # Each wrapper only if the name still exists: tools.py is being worked on.
    wrap(tools, "argument_model", "argument models (create_model)")
    for name in SCHEMA_FUNCTIONS:
        wrap(tools, name, schema_label(name))
    wrap(tools.ToolFactory, "_handler", "handler signatures")
    wrap(tools.ToolFactory, "build", lambda _self, op: f"op:{op.name}")
    wrap(server_module, "load_prompt_files", "prompt files")
    started = time.perf_counter()
    built = server_module.build_server(settings, upstream=upstream)
    build_total = time.perf_counter() - started
    phase("build_server")

    import anyio
    from mcp.types import ListToolsResult

    listed = anyio.run(built.mcp.list_tools)
    wire = ListToolsResult(tools=listed).model_dump_json(by_alias=True, exclude_none=True)
    phase("tools/list: build and serialize the answer")

    per_op = {key[3:]: value for key, value in spent.items() if key.startswith("op:")}
    inner = {key: value for key, value in spent.items() if not key.startswith("op:")}
    tool_building = sum(per_op.values())
    accounted = sum(v for k, v in inner.items() if k != "prompt files")
    build: dict[str, float] = {key: ms(value) for key, value in sorted(inner.items(), key=lambda kv: -kv[1])}
    build["Tool.from_function and the rest of ToolFactory.build"] = ms(tool_building - accounted)
    build["MCPServer() and the rest of build_server"] = ms(
        build_total - tool_building - inner.get("prompt files", 0.0)
    )
    slowest = sorted(per_op.items(), key=lambda kv: -kv[1])[:5]
    result: dict[str, Any] = {
        "phases_ms": phases,
        "total_ms": round(sum(phases.values()), 2),
        "build_server_ms": ms(build_total),
        "build_server_split_ms": build,
        "tools": len(listed),
        "tools_list_bytes": len(wire.encode()),
        "slowest_tools_ms": {name: ms(value) for name, value in slowest},
        "build_server_profile": profile_build(server_module, settings, upstream),
    }
    sys.stdout.write(json.dumps(result) + "\n")


def profile_build(server_module: Any, settings: Any, upstream: Any) -> list[dict[str, Any]] | None:
    """The top functions by self time in a second `build_server`, if pyinstrument is installed."""
    if importlib.util.find_spec("pyinstrument") is None:
        return None
    # Optional dev tool, loaded by name so the benchmarks still type-check where it is missing.
    pyinstrument = importlib.import_module("pyinstrument")
    profiler = pyinstrument.Profiler(interval=0.0002, async_mode="disabled")
    profiler.start()
    for _ in range(3):
        server_module.build_server(settings, upstream=upstream)
    session = profiler.stop()
    from bench_samples import top_functions

    return top_functions(session, per=3, limit=10)


if __name__ == "__main__":
    main()
