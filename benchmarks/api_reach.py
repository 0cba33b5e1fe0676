"""Figures for the `api` toolset: reach, its weight in `tools/list`, and a scripted sandbox run.

    .venv/bin/python benchmarks/api_reach.py

Prints how many catalogued operations the model can reach (through a typed tool or
`call_api_operation`) out of the official list, the bytes the three tools add to `tools/list`, and
how many operations and tags a scripted search → describe → call run reaches in the embedded
sandbox (the run of tests/operations/test_api_sandbox.py). Nothing here asserts a figure.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from altegio_mcp import catalog
from altegio_mcp.catalog.check import official_list
from altegio_mcp.operations.api import refusal_reason, typed_tool_for
from tests.harness import sandbox_session
from tests.operations.test_api_sandbox import SCRIPT


async def tools_bytes(toolsets: list[str]) -> int:
    async with sandbox_session(toolsets=toolsets) as s:
        listed = await s.client.list_tools()
    tools = [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in listed.tools]
    return len(json.dumps(tools, separators=(",", ":")).encode())


async def scripted_run() -> tuple[int, int, int]:
    reached: set[str] = set()
    tags: set[str] = set()
    async with sandbox_session(toolsets=["api"]) as s:
        for query, tag, operation, path, params in SCRIPT:
            await s.call("search_api_operations", {"query": query, "tag": tag})
            await s.call("describe_api_operation", {"operation": operation})
            out = await s.call("call_api_operation", {"operation": operation, "path": path, "query": params})
            if not out.is_error:
                reached.add(operation)
                tags.add(tag)
    return len(SCRIPT), len(reached), len(tags)


async def main() -> None:
    ops = catalog.operations()
    v1 = [op for op in ops if op.version == "v1"]
    typed = [op for op in v1 if typed_tool_for(op)]
    dynamic = [op for op in ops if refusal_reason(op) is None]
    refused = [op for op in ops if refusal_reason(op) is not None and not typed_tool_for(op)]
    full = sum(op.facts == "full" for op in ops)
    listed = len(official_list())
    v1_reachable = len(typed) + sum(1 for op in dynamic if op.version == "v1")
    print(
        f"catalog: {len(ops)} operations ({len(v1)} v1 of {listed} listed, {len(ops) - len(v1)} v2), "
        f"{len(catalog.excluded())} excluded; full facts {full}, partial {len(ops) - full}"
    )
    print(
        f"v1 reachable: {v1_reachable}/{listed} ({len(typed)} by typed tools, "
        f"{v1_reachable - len(typed)} by call_api_operation)"
    )
    print(
        f"v2 reachable by call_api_operation: {sum(1 for op in dynamic if op.version == 'v2')}/"
        f"{len(ops) - len(v1)}"
    )
    print("not callable: " + ", ".join(op.id for op in refused))
    api_only = await tools_bytes(["api"])
    everything = await tools_bytes(["all"])
    print(f"tools/list bytes: api toolset {api_only}; all toolsets {everything}")
    steps, reached, tags = await scripted_run()
    print(f"scripted sandbox run: {reached} operations across {tags} tags reached in {steps} steps")


if __name__ == "__main__":
    anyio.run(main)
