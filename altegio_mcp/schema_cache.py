"""The published form of every tool, generated once from the operation declarations.

A server answers `tools/list` on every start, but deriving the answer (importing ~20 operation
modules, building an argument model and two JSON schemas per tool) costs more than the MCP SDK's
own start. So the answer is generated ahead of time into `schema_cache.json`, which holds, per
operation and per read-only variant, exactly what `tools/list` publishes (name, title,
description, input and output schema, annotations) plus what tool selection reads (toolset, core,
kind). A server starts from this file and imports an operation's declaration only when the tool
is first called (`server.LazyTools`).

Regenerate it after changing a declaration (a test fails until you do):

    python -m altegio_mcp.schema_cache            # rewrite schema_cache.json
    python -m altegio_mcp.schema_cache --check    # exit 1 when it is stale
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from altegio_mcp.operations.base import Operation

CACHE_FILE = Path(__file__).with_name("schema_cache.json")
REGENERATE = "python -m altegio_mcp.schema_cache"
FORMAT = 1

JsonObject = dict[str, Any]


@dataclass(frozen=True, slots=True)
class CachedTool:
    """One tool as `tools/list` publishes it (`wire`), with what selection needs to pick it."""

    name: str
    toolset: str
    core: bool
    kind: str
    wire: JsonObject
    read_only_variant: CachedTool | None = None

    @property
    def read_only(self) -> bool:
        return self.kind == "read"


def _entry(data: JsonObject) -> CachedTool:
    variant = data.get("read_only_variant")
    return CachedTool(
        name=cast(str, data["name"]),
        toolset=cast(str, data["toolset"]),
        core=cast(bool, data["core"]),
        kind=cast(str, data["kind"]),
        wire=cast(JsonObject, data["tool"]),
        read_only_variant=_entry(cast(JsonObject, variant)) if variant else None,
    )


@cache
def load() -> tuple[CachedTool, ...]:
    """Every operation's tool, in declaration order (`ALL_OPERATIONS`), read from the cache file."""
    document = cast(JsonObject, json.loads(CACHE_FILE.read_text(encoding="utf-8")))
    if document.get("format") != FORMAT:
        raise RuntimeError(f"{CACHE_FILE.name} has an unknown format; run `{REGENERATE}`")
    return tuple(_entry(cast(JsonObject, item)) for item in document["tools"])


# --- generation (imports every declaration) --------------------------------------------------------


def _describe(op: Operation[Any, Any]) -> JsonObject:
    from mcp.types import Tool as MCPTool

    from altegio_mcp.schema import compact_schema
    from altegio_mcp.tools import annotations_for, argument_model, tool_output_schema

    tool = MCPTool(
        name=op.name,
        title=op.title,
        description=op.description,
        input_schema=compact_schema(argument_model(op)),
        output_schema=tool_output_schema(op),
        annotations=annotations_for(op),
    )
    entry: JsonObject = {
        "name": op.name,
        "toolset": op.toolset,
        "core": op.core,
        "kind": op.kind,
        "tool": tool.model_dump(mode="json", by_alias=True, exclude_none=True),
    }
    if op.read_only_variant is not None:
        entry["read_only_variant"] = _describe(op.read_only_variant)
    return entry


def generate() -> JsonObject:
    """The cache document, freshly derived from the operation declarations."""
    from altegio_mcp.operations import ALL_OPERATIONS
    from altegio_mcp.tools import prime_tool_output_schemas

    variants = [op.read_only_variant for op in ALL_OPERATIONS if op.read_only_variant is not None]
    prime_tool_output_schemas([*ALL_OPERATIONS, *variants])
    return {
        "format": FORMAT,
        "generated_by": REGENERATE,
        "tools": [_describe(op) for op in ALL_OPERATIONS],
    }


def render(document: JsonObject) -> str:
    """The file's text: one key per line, so a changed declaration shows as a readable diff."""
    return json.dumps(document, indent=1, ensure_ascii=False) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    fresh = render(generate())
    current = CACHE_FILE.read_text(encoding="utf-8") if CACHE_FILE.exists() else ""
    if "--check" in args:
        if fresh != current:
            sys.stderr.write(f"{CACHE_FILE.name} is stale: run `{REGENERATE}`\n")
            return 1
        return 0
    if fresh != current:
        CACHE_FILE.write_text(fresh, encoding="utf-8")
        sys.stdout.write(f"wrote {CACHE_FILE}\n")
    else:
        sys.stdout.write(f"{CACHE_FILE.name} is up to date\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
