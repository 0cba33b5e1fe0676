"""Figures measured in this process against the embedded sandbox: per-call overhead (2), tool-list
footprint (3) and response compactness (4).

The server is built with `build_server` exactly as the tests build it (production-shaped settings,
the sandbox as the upstream transport, rate limits raised) and reached through the SDK's in-memory
`Client(server.mcp)`. Tools and appointment ids are discovered, never hard-coded, because the tool
surface keeps growing.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, cast

import anyio
import httpx
from bench_common import (
    TODAY,
    Figure,
    JsonDict,
    Row,
    Target,
    compact_json_bytes,
    ms_summary,
    pick_appointment,
    ratio,
    sandbox_settings,
    text_bytes,
)
from mcp import Client
from pydantic import JsonValue, TypeAdapter

from altegio_mcp.client import ACCEPT, AltegioAuth, AltegioClient
from altegio_mcp.docs import model_facing_bytes
from altegio_mcp.operations import ALL_OPERATIONS, DEFAULT_TOOLSETS
from altegio_mcp.sandbox import Sandbox, SandboxConfig, create_sandbox
from altegio_mcp.server import AltegioServer, Upstream, build_server
from altegio_mcp.settings import Settings

PER_CALL_TARGET = 1.5
MODEL_FACING_PER_TOOL = 650
MODEL_FACING_TOTAL = 20_000
COMPACTNESS_TARGET = 0.30
PAGE = 50

ANY_JSON = TypeAdapter(JsonValue)
TOOLSET_OF = {op.name: op.toolset for op in ALL_OPERATIONS}


@dataclass(slots=True)
class InProcess:
    client: Client
    server: AltegioServer
    sandbox: Sandbox
    settings: Settings


@asynccontextmanager
async def in_process(toolsets: Sequence[str] = ("default",), **overrides: Any) -> AsyncIterator[InProcess]:
    """A fresh sandbox seeded on `TODAY`, the server built on it, and an in-memory client."""
    sandbox = create_sandbox(SandboxConfig(today=TODAY))
    settings = sandbox_settings(toolsets, **overrides)
    server = build_server(
        settings, upstream=Upstream(settings, sandbox.transport(), None, "sandbox", sandbox)
    )
    async with Client(server.mcp, cache=None) as client:
        yield InProcess(client, server, sandbox, settings)


# --- 2: per-call overhead -------------------------------------------------------------------------

Call = Callable[[], Awaitable[object]]


async def interleaved(paths: Sequence[Call], calls: int, warmup: int) -> list[list[float]]:
    """Per-call seconds of each path, run in turns of blocks so machine drift hits all alike."""
    for _ in range(warmup):
        for path in paths:
            await path()
    samples: list[list[float]] = [[] for _ in paths]
    block = 100
    done = 0
    while done < calls:
        size = min(block, calls - done)
        turn = done // block
        order = [*range(len(paths))][turn % len(paths) :] + [*range(len(paths))][: turn % len(paths)]
        for index in order:
            call, sink = paths[index], samples[index]
            for _ in range(size):
                started = time.perf_counter()
                await call()
                sink.append(time.perf_counter() - started)
        done += size
    return samples


def mcp_call(client: Client, tool: str, arguments: dict[str, Any]) -> Call:
    async def call() -> object:
        result = await client.call_tool(tool, arguments)
        if result.is_error:
            raise RuntimeError(f"{tool} failed during the benchmark: {result.content!r}")
        return result

    return call


def bare_call(client: AltegioClient, path: str, params: dict[str, Any] | None = None) -> Call:
    async def call() -> object:
        return await client.request("GET", path, ANY_JSON, params=params)

    return call


async def _per_call(calls: int, list_calls: int) -> JsonDict:
    from minimal_server import server as minimal

    async with (
        in_process() as env,
        AltegioClient(env.settings, transport=env.sandbox.transport()) as bare,
        Client(minimal, cache=None) as floor,
    ):
        target = await pick_appointment(env.client)
        arguments = {"location_id": target.location_id, "appointment_id": target.appointment_id}
        via_mcp, via_bare, via_floor = await interleaved(
            [
                mcp_call(env.client, "get_appointment", arguments),
                bare_call(bare, f"/record/{target.location_id}/{target.appointment_id}"),
                mcp_call(floor, "ping", {}),
            ],
            calls,
            warmup=min(100, calls),
        )
        list_mcp, list_bare = await interleaved(
            [
                mcp_call(env.client, "list_appointments", {"location_id": target.location_id, "count": PAGE}),
                bare_call(bare, f"/records/{target.location_id}", {"page": 1, "count": PAGE}),
            ],
            list_calls,
            warmup=min(20, list_calls),
        )
    mcp, plain, sdk = ms_summary(via_mcp), ms_summary(via_bare), ms_summary(via_floor)
    lists, list_plain = ms_summary(list_mcp), ms_summary(list_bare)
    overhead = mcp["median_ms"] - plain["median_ms"]
    return {
        "target": {"location_id": target.location_id, "appointment_id": target.appointment_id},
        "get_appointment": {
            "mcp_in_memory": mcp,
            "bare_client": plain,
            "sdk_floor_ping": sdk,
            "ratio_median": ratio(mcp["median_ms"], plain["median_ms"]),
            "ratio_p95": ratio(mcp["p95_ms"], plain["p95_ms"]),
            "overhead_median_ms": round(overhead, 4),
            "overhead_beyond_sdk_floor_ms": round(overhead - sdk["median_ms"], 4),
        },
        f"list_appointments_count_{PAGE}": {
            "mcp_in_memory": lists,
            "bare_client": list_plain,
            "ratio_median": ratio(lists["median_ms"], list_plain["median_ms"]),
            "overhead_median_ms": round(lists["median_ms"] - list_plain["median_ms"], 4),
        },
    }


def per_call(calls: int, list_calls: int) -> Figure:
    data = anyio.run(_per_call, calls, list_calls)
    one = data["get_appointment"]
    many = data[f"list_appointments_count_{PAGE}"]
    mcp, plain = one["mcp_in_memory"], one["bare_client"]
    return Figure(
        "per_call",
        data,
        [
            Row(
                f"2 get_appointment, MCP in-memory (n={mcp['n']})",
                f"{mcp['median_ms']:.3f} ms median, p95 {mcp['p95_ms']:.3f} ms",
                f"bare AltegioClient {plain['median_ms']:.3f} / p95 {plain['p95_ms']:.3f} ms",
                one["ratio_median"],
                f"≤ {PER_CALL_TARGET}×",
                one["ratio_median"] <= PER_CALL_TARGET,
            ),
            Row(
                "  absolute MCP overhead per call",
                f"{one['overhead_median_ms']:.3f} ms (median); p95 ratio {one['ratio_p95']}×",
                f"SDK floor (bare-SDK ping, in-memory) {one['sdk_floor_ping']['median_ms']:.3f} ms; "
                f"beyond it {one['overhead_beyond_sdk_floor_ms']:.3f} ms",
            ),
            Row(
                f"  list_appointments count={PAGE} (n={many['mcp_in_memory']['n']})",
                f"{many['mcp_in_memory']['median_ms']:.2f} ms median",
                f"bare {many['bare_client']['median_ms']:.2f} ms",
                many["ratio_median"],
                "(info)",
                None,
            ),
        ],
    )


# --- 3: tool-list footprint -----------------------------------------------------------------------


def _without_descriptions(node: object, *, names: bool = False) -> object:
    """A schema with every `description` removed (property *names* called description are kept)."""
    if isinstance(node, list):
        return [_without_descriptions(item) for item in cast(list[object], node)]
    if not isinstance(node, dict):
        return node
    obj = cast(dict[str, object], node)
    if names:
        return {key: _without_descriptions(value) for key, value in obj.items()}
    return {
        key: _without_descriptions(value, names=key in {"properties", "patternProperties", "$defs"})
        for key, value in obj.items()
        if key != "description"
    }


def _footprint(wire: list[JsonDict]) -> JsonDict:
    total = compact_json_bytes({"tools": wire})
    parts = {
        "description": sum(len(str(t.get("description", "")).encode()) for t in wire),
        "inputSchema": sum(compact_json_bytes(t["inputSchema"]) for t in wire if "inputSchema" in t),
        "outputSchema": sum(compact_json_bytes(t["outputSchema"]) for t in wire if "outputSchema" in t),
        "annotations": sum(compact_json_bytes(t["annotations"]) for t in wire if "annotations" in t),
    }
    parts["names_titles_and_framing"] = total - sum(parts.values())
    lean_outputs = [
        {**t, "outputSchema": _without_descriptions(t["outputSchema"])} if "outputSchema" in t else t
        for t in wire
    ]
    no_outputs = [{k: v for k, v in t.items() if k != "outputSchema"} for t in wire]
    sizes = sorted(((compact_json_bytes(t), t) for t in wire), key=lambda pair: -pair[0])
    toolsets: dict[str, JsonDict] = {}
    for size, t in sizes:
        entry = toolsets.setdefault(
            TOOLSET_OF.get(str(t["name"]), "?"), {"tools": 0, "bytes": 0, "model_facing_bytes": 0}
        )
        entry["tools"] += 1
        entry["bytes"] += size
        entry["model_facing_bytes"] += model_facing_bytes(t)
    facing = sum(model_facing_bytes(t) for t in wire)
    return {
        "tools": len(wire),
        "bytes": total,
        "approx_tokens": total // 4,
        "bytes_per_tool": round(total / max(len(wire), 1)),
        "model_facing_bytes": facing,
        "model_facing_bytes_per_tool": round(facing / max(len(wire), 1)),
        "parts_bytes": parts,
        "what_if_bytes": {
            "outputSchema_without_descriptions": compact_json_bytes({"tools": lean_outputs}),
            "no_outputSchema": compact_json_bytes({"tools": no_outputs}),
        },
        "largest": [
            {
                "name": t["name"],
                "bytes": size,
                "inputSchema": compact_json_bytes(t.get("inputSchema")),
                "outputSchema": compact_json_bytes(t.get("outputSchema")),
                "description": len(str(t.get("description", "")).encode()),
            }
            for size, t in sizes[:5]
        ],
        "per_tool_bytes": {str(t["name"]): size for size, t in sizes},
        "by_toolset": dict(sorted(toolsets.items(), key=lambda kv: -kv[1]["bytes"])),
        "repeated_input_descriptions": _repeated_descriptions(wire),
        "annotation_titles_repeating_title_bytes": sum(
            len(json.dumps(t["title"], ensure_ascii=False).encode()) + len('"title":,')
            for t in wire
            if t.get("annotations", {}).get("title") == t.get("title") and "title" in t
        ),
    }


def _repeated_descriptions(wire: list[JsonDict]) -> list[JsonDict]:
    """Argument descriptions repeated across tools, by the bytes all their copies take."""
    seen: Counter[tuple[str, str]] = Counter()
    for t in wire:
        properties = cast(dict[str, JsonDict], t.get("inputSchema", {}).get("properties", {}))
        for name, prop in properties.items():
            if isinstance(prop.get("description"), str):
                seen[(name, prop["description"])] += 1
    repeated = [
        {"argument": name, "copies": copies, "bytes": copies * len(text.encode()), "description": text}
        for (name, text), copies in seen.items()
        if copies >= 3
    ]
    return sorted(repeated, key=lambda item: -item["bytes"])[:6]


async def _tool_list() -> JsonDict:
    data: JsonDict = {}
    for label, toolsets in (("default", ["default"]), ("all", ["all"])):
        async with in_process(toolsets) as env:
            listed = await env.client.list_tools()
        wire = [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in listed.tools]
        data[label] = _footprint(wire)
    return data


def tool_list() -> Figure:
    data = anyio.run(_tool_list)
    rows: list[Row] = []
    for label in ("default", "all"):
        fp = data[label]
        # The wire form includes the complete output schemas, which go to the client, not the
        # model: informational; the budget is on the model-facing part below.
        rows.append(
            Row(
                f"3 tools/list wire, {label} toolsets",
                f"{fp['bytes']:,} B; {fp['tools']} tools, {fp['bytes_per_tool']:,} B/tool",
                "",
                None,
                "(info)",
                None,
            )
        )
    for label in ("default", "all"):
        fp = data[label]
        meets = fp["model_facing_bytes"] <= MODEL_FACING_TOTAL and (
            fp["model_facing_bytes_per_tool"] <= MODEL_FACING_PER_TOOL
        )
        rows.append(
            Row(
                f"3 model-facing (name+descr.+input), {label}",
                f"{fp['model_facing_bytes']:,} B; {fp['model_facing_bytes_per_tool']:,} B/tool",
                f"{MODEL_FACING_PER_TOOL} B/tool, {MODEL_FACING_TOTAL:,} B",
                ratio(fp["model_facing_bytes"], MODEL_FACING_TOTAL),
                f"≤ {MODEL_FACING_PER_TOOL} B/tool" if label == "default" else "(info)",
                meets if label == "default" else None,
            )
        )
    rows.append(
        Row(
            "  model-facing B by toolset (* in default)",
            ", ".join(
                f"{name}{'*' if name in DEFAULT_TOOLSETS else ''} {entry['model_facing_bytes']:,}"
                f"/{entry['tools']}"
                for name, entry in data["all"]["by_toolset"].items()
            ),
        )
    )
    default = data["default"]
    parts, what_if = default["parts_bytes"], default["what_if_bytes"]
    rows.append(
        Row(
            "  default split: in/out schema, descr.",
            f"input {parts['inputSchema']:,} B, output {parts['outputSchema']:,} B, "
            f"descriptions {parts['description']:,} B",
            f"without outputSchema: {what_if['no_outputSchema']:,} B"
            + (
                f"; output descriptions dropped: {lean:,} B"
                if (lean := what_if["outputSchema_without_descriptions"]) != default["bytes"]
                else ""
            ),
        )
    )
    largest = ", ".join(f"{t['name']} {t['bytes']:,}" for t in data["all"]["largest"])
    rows.append(Row("  five largest tools (B)", largest))
    by_toolset = ", ".join(
        f"{name}{'*' if name in DEFAULT_TOOLSETS else ''} {entry['bytes']:,}"
        for name, entry in data["all"]["by_toolset"].items()
    )
    rows.append(Row("  all tools by toolset, B (* in default)", by_toolset))
    repeated = default["repeated_input_descriptions"]
    if repeated:
        rows.append(
            Row(
                "  repeated argument descriptions",
                ", ".join(f"{r['argument']} ×{r['copies']} {r['bytes']:,} B" for r in repeated[:4]),
                f"annotations.title repeating title: {default['annotation_titles_repeating_title_bytes']:,} B",
            )
        )
    return Figure("tool_list", data, rows)


# --- 4: response compactness ------------------------------------------------------------------------


async def _compactness() -> JsonDict:
    async with in_process() as env:
        target: Target = await pick_appointment(env.client)
        result = await env.client.call_tool(
            "list_appointments", {"location_id": target.location_id, "count": PAGE}
        )
        if result.is_error or result.structured_content is None:
            raise RuntimeError(f"list_appointments failed: {result.content!r}")
        structured = result.structured_content
        settings = env.settings
        auth = AltegioAuth(settings.partner_token, settings.user_token)
        async with httpx.AsyncClient(
            transport=env.sandbox.transport(), base_url=settings.base_url + "/", headers={"Accept": ACCEPT}
        ) as http:
            raw = await http.get(
                f"records/{target.location_id}",
                params={"page": 1, "count": PAGE},
                headers={"Authorization": auth.header_value()},
            )
    raw.raise_for_status()
    raw_items = cast(list[JsonDict], raw.json()["data"])
    items = cast(list[JsonDict], structured["items"])
    structured_bytes = compact_json_bytes(structured)
    text = text_bytes(result)
    raw_bytes = len(raw.content)
    return {
        "items": len(items),
        "raw_items": len(raw_items),
        "same_page": [i["id"] for i in items] == [i["id"] for i in raw_items],
        "structured_bytes": structured_bytes,
        "text_bytes": text,
        "result_bytes": structured_bytes + text,
        "call_tool_result_wire_bytes": len(result.model_dump_json(by_alias=True, exclude_none=True).encode()),
        "raw_bytes": raw_bytes,
        "raw_bytes_per_item": round(raw_bytes / max(len(raw_items), 1)),
        "ratio_result": ratio(structured_bytes + text, raw_bytes),
        "ratio_structured": ratio(structured_bytes, raw_bytes),
        "ratio_text": ratio(text, raw_bytes),
    }


def compactness() -> Figure:
    data = anyio.run(_compactness)
    r = data["ratio_result"]
    notes = [] if data["same_page"] else ["the tool's page and the raw page list different appointments"]
    return Figure(
        "compactness",
        data,
        [
            Row(
                f"4 list_appointments ({data['items']} items)",
                f"{data['result_bytes']:,} B = structured {data['structured_bytes']:,} "
                f"+ text {data['text_bytes']:,}",
                f"raw Altegio JSON {data['raw_bytes']:,} B",
                r,
                f"≤ {COMPACTNESS_TARGET:.0%}",
                r <= COMPACTNESS_TARGET,
            ),
            Row(
                "  structured alone / text alone",
                f"{data['ratio_structured']:.1%} / {data['ratio_text']:.1%} of raw",
                f"whole CallToolResult on the wire {data['call_tool_result_wire_bytes']:,} B",
            ),
        ],
        notes,
    )
