"""Side by side with the official server: altegio-pro-mcp (Node) and altegio-mcp on one upstream.

One `altegio-mcp sandbox --port` process is the upstream of every server here. Each server is
spawned over stdio, as an MCP host launches it, and driven by the Python SDK's client; all sessions
stay open and the calls are interleaved in blocks (rotating which server goes first), so a load
spike on the shared machine hits every side alike. A server's CPU is read from `/proc` around each
of its blocks. The bare GET is the same upstream request made directly with httpx from this process,
interleaved the same way: "latency over the bare GET" is a tool call's median minus that median.

Sides: `altegio-mcp` (this checkout's console script, as deployed: tokens from the environment),
optionally `altegio-mcp (before)` (another installation's console script, `--before`), and the peer
(`--peer DIR`, a built checkout of altegio/altegio-pro-mcp; skipped when absent). The peer has no
get-one tool: its single read is a 1-item listing.
"""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import anyio
import httpx
from anyio.abc import Process
from bench_common import (
    BENCH_DIR,
    FAST_ENV,
    ROOT,
    Figure,
    JsonDict,
    Row,
    child_pids,
    cpu_seconds,
    ms_summary,
    ratio,
    rss_kib,
    server_command,
)
from bench_http import free_port
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.types import CallToolResult

from altegio_mcp.sandbox import DEMO_PARTNER_TOKEN, DEMO_USER_TOKEN, NEW_YORK_LOCATION_ID

MINIMAL_SERVER = BENCH_DIR / "minimal_server.py"
LISTING = 50
READY_TIMEOUT = 60.0


def peer_entry(peer_dir: Path) -> Path | None:
    """The built peer's stdio entry point, or None when it is not built there."""
    entry = peer_dir / "dist" / "index.js"
    return entry if entry.is_file() else None


# --- the sides ----------------------------------------------------------------------------------


@dataclass(slots=True)
class Side:
    """One MCP server under test, with the tool calls that make its listing and its single read."""

    name: str
    params: StdioServerParameters
    listing: tuple[str, dict[str, Any]] | None
    single: tuple[str, dict[str, Any]]
    items: Callable[[CallToolResult], int]
    client: Client | None = None
    pid: int = 0
    latency: dict[str, list[float]] = field(default_factory=dict[str, list[float]])
    cpu: dict[str, float] = field(default_factory=dict[str, float])
    calls: dict[str, int] = field(default_factory=dict[str, int])
    errors: int = 0
    rss_kib: dict[str, int] = field(default_factory=dict[str, int])
    output_check_ms: float | None = None


def _structured_items(result: CallToolResult) -> int:
    content = result.structured_content or {}
    items = content.get("items")
    return len(items) if isinstance(items, list) else (1 if content else 0)


def ours_env(base_env: dict[str, str], upstream: str) -> dict[str, str]:
    env = {k: v for k, v in base_env.items() if k != "ALTEGIO_CREDENTIAL_STORE"}
    return (
        env
        | FAST_ENV
        | {
            "ALTEGIO_PARTNER_TOKEN": DEMO_PARTNER_TOKEN,
            "ALTEGIO_USER_TOKEN": DEMO_USER_TOKEN,
            "ALTEGIO_BASE_URL": upstream,
            "ALTEGIO_LOCATION_ID": str(NEW_YORK_LOCATION_ID),
            # Tokens come from the environment; keyring is asked for a backend only, never the real one.
            "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
        }
    )


def _ours(name: str, command: str, prefix: list[str], env: dict[str, str], appointment_id: int) -> Side:
    location = NEW_YORK_LOCATION_ID
    return Side(
        name=name,
        params=StdioServerParameters(command=command, args=[*prefix, "serve"], env=env, cwd=str(ROOT)),
        listing=("list_appointments", {"location_id": location, "count": LISTING}),
        single=("get_appointment", {"location_id": location, "appointment_id": appointment_id}),
        items=_structured_items,
    )


def _peer(entry: Path, base_env: dict[str, str], upstream: str, home: Path) -> Side:
    node = shutil.which("node") or "node"
    env = {
        "PATH": base_env.get("PATH", ""),
        "HOME": str(home),  # its credential file lives under HOME: a scratch one
        "ALTEGIO_API_TOKEN": DEMO_PARTNER_TOKEN,
        "ALTEGIO_USER_TOKEN": DEMO_USER_TOKEN,
        "ALTEGIO_API_BASE": upstream,
        "NODE_ENV": "production",  # without it, it logs to stdout
    }
    location = NEW_YORK_LOCATION_ID
    return Side(
        name="altegio-pro-mcp (peer)",
        params=StdioServerParameters(command=node, args=[str(entry)], env=env, cwd=str(entry.parent.parent)),
        listing=("get_appointments", {"location_id": location, "count": LISTING}),
        single=("get_appointments", {"location_id": location, "count": 1}),
        items=_structured_items,
    )


# --- the upstream -------------------------------------------------------------------------------


async def start_upstream(errlog: TextIO, env: dict[str, str]) -> tuple[Process, str, int]:
    command, prefix = server_command()
    port = free_port()
    process = await anyio.open_process(
        [command, *prefix, "sandbox", "--port", str(port)], stdout=errlog, stderr=errlog, env=env
    )
    base = f"http://127.0.0.1:{port}/api/v1"
    with anyio.fail_after(READY_TIMEOUT):
        async with httpx.AsyncClient(headers=_bare_headers()) as http:
            while True:
                if process.returncode is not None:
                    raise RuntimeError(f"the sandbox upstream exited with {process.returncode}")
                try:
                    answer = await http.get(f"{base}/records/{NEW_YORK_LOCATION_ID}", params={"count": 1})
                    if answer.status_code == 200:
                        first = answer.json()["data"][0]["id"]
                        return process, base, int(first)
                except httpx.TransportError:
                    pass
                await anyio.sleep(0.05)


def _bare_headers() -> dict[str, str]:
    return {
        "Accept": "application/vnd.api.v2+json",
        "Authorization": f"Bearer {DEMO_PARTNER_TOKEN}, User {DEMO_USER_TOKEN}",
    }


# --- one run ------------------------------------------------------------------------------------


async def _open(stack: AsyncExitStack, side: Side, errlog: TextIO) -> None:
    before = set(child_pids(""))
    side.client = await stack.enter_async_context(
        Client(stdio_client(side.params, errlog=errlog), cache=None)
    )
    await side.client.list_tools()
    spawned = sorted(set(child_pids("")) - before)
    if len(spawned) != 1:
        raise RuntimeError(f"{side.name}: expected one server process, found {spawned}")
    side.pid = spawned[0]
    side.rss_kib["after_start"] = rss_kib(side.pid)


def _ping_items(result: CallToolResult) -> int:
    return 1


def _bare_sdk(env: dict[str, str]) -> Side:
    """The floor: a one-tool server written with the bare SDK (its `ping`), over the same stdio."""
    return Side(
        name="bare SDK server (ping)",
        params=StdioServerParameters(
            command=sys.executable, args=[str(MINIMAL_SERVER)], env=env, cwd=str(ROOT)
        ),
        listing=None,
        single=("ping", {}),
        items=_ping_items,
    )


async def _output_check_ms(side: Side) -> float | None:
    """What the SDK's client spends checking one listing result against the tool's outputSchema."""
    assert side.client is not None
    assert side.listing is not None
    from jsonschema import Draft202012Validator

    tool, arguments = side.listing
    listed = await side.client.list_tools()
    schema = next((t.output_schema for t in listed.tools if t.name == tool), None)
    result = await side.client.call_tool(tool, arguments)
    if schema is None or result.structured_content is None:
        return None
    validator = Draft202012Validator(schema)
    started = time.perf_counter()
    for _ in range(20):
        validator.validate(result.structured_content)  # pyright: ignore[reportUnknownMemberType]
    return round((time.perf_counter() - started) / 20 * 1000, 3)


async def _call_block(side: Side, kind: str, n: int, expect: int) -> None:
    assert side.client is not None
    call = side.listing if kind == "listing" else side.single
    assert call is not None
    tool, arguments = call
    times = side.latency.setdefault(kind, [])
    cpu_before = cpu_seconds(side.pid)
    for _ in range(n):
        started = time.perf_counter()
        result = await side.client.call_tool(tool, arguments)
        times.append(time.perf_counter() - started)
        if result.is_error or side.items(result) != expect:
            side.errors += 1
    side.cpu[kind] = side.cpu.get(kind, 0.0) + cpu_seconds(side.pid) - cpu_before
    side.calls[kind] = side.calls.get(kind, 0) + n


async def _bare_block(
    http: httpx.AsyncClient, url: str, params: dict[str, Any], n: int, out: list[float]
) -> None:
    for _ in range(n):
        started = time.perf_counter()
        answer = await http.get(url, params=params)
        answer.json()
        out.append(time.perf_counter() - started)


async def _spawn_to_tools_list(params: StdioServerParameters, errlog: TextIO) -> float:
    started = time.perf_counter()
    async with Client(stdio_client(params, errlog=errlog), cache=None) as client:
        await client.list_tools()
        return time.perf_counter() - started


@dataclass(frozen=True, slots=True)
class PeerRun:
    """What the side-by-side figure runs: the peer's build, an older installation, the counts."""

    peer_dir: Path | None
    before: str | None
    calls: int
    list_calls: int
    start_runs: int


async def _run(run: PeerRun, env: dict[str, str], errlog: TextIO, scratch: Path) -> JsonDict:
    peer_dir, before, calls, list_calls, start_runs = (
        run.peer_dir,
        run.before,
        run.calls,
        run.list_calls,
        run.start_runs,
    )
    upstream_process, upstream, appointment_id = await start_upstream(errlog, env)
    try:
        deployed = ours_env(env, upstream)
        command, prefix = server_command()
        sides = [_ours("altegio-mcp", command, prefix, deployed, appointment_id)]
        if before:
            sides.append(_ours("altegio-mcp (before)", before, [], deployed, appointment_id))
        entry = peer_entry(peer_dir) if peer_dir else None
        if entry is not None:
            home = scratch / "peer-home"
            home.mkdir(exist_ok=True)
            sides.append(_peer(entry, env, upstream, home))
        floor = _bare_sdk(env)

        # Cold start: spawn → tools/list, alternating, after one warm-up spawn each (file cache, .pyc).
        starts: dict[str, list[float]] = {side.name: [] for side in sides} | {"bare SDK server (1 tool)": []}
        spawnables = {side.name: side.params for side in sides} | {"bare SDK server (1 tool)": floor.params}
        for params in spawnables.values():
            await _spawn_to_tools_list(params, errlog)
        for turn in range(start_runs):
            names = list(spawnables)
            for name in names[turn % len(names) :] + names[: turn % len(names)]:
                starts[name].append(await _spawn_to_tools_list(spawnables[name], errlog))

        bare: dict[str, list[float]] = {"listing": [], "single": []}
        async with AsyncExitStack() as stack:
            for side in [*sides, floor]:
                await _open(stack, side, errlog)
            http = await stack.enter_async_context(httpx.AsyncClient(headers=_bare_headers()))
            bare_runs: dict[str, Callable[[int], Awaitable[None]]] = {
                "listing": lambda n: _bare_block(
                    http, f"{upstream}/records/{NEW_YORK_LOCATION_ID}", {"count": LISTING}, n, bare["listing"]
                ),
                "single": lambda n: _bare_block(
                    http, f"{upstream}/record/{NEW_YORK_LOCATION_ID}/{appointment_id}", {}, n, bare["single"]
                ),
            }
            # Warm-up: every path once (imports, caches, connections); not counted.
            for side in [*sides, floor]:
                for kind, expect in (("listing", LISTING), ("single", 1)):
                    if kind == "listing" and side.listing is None:
                        continue
                    await _call_block(side, kind, 5, expect)
                    side.latency[kind].clear()
                    side.cpu[kind] = 0.0
                    side.calls[kind] = 0
                    side.errors = 0
                side.rss_kib["after_warmup"] = rss_kib(side.pid)
            for kind, bare_run in bare_runs.items():
                await bare_run(5)
                bare[kind].clear()
            plan = {"listing": (list_calls, 10), "single": (calls, 25)}
            for kind, (total, block) in plan.items():
                expect = LISTING if kind == "listing" else 1
                runners: list[Side | None] = [*sides, None]  # None: the bare GET
                if kind == "single":
                    runners.append(floor)
                for index in range(max(total // block, 1)):
                    shift = index % len(runners)
                    for side in runners[shift:] + runners[:shift]:
                        if side is None:
                            await bare_runs[kind](block)
                        else:
                            await _call_block(side, kind, block, expect)
            for side in [*sides, floor]:
                side.rss_kib["after_calls"] = rss_kib(side.pid)
            for side in sides:
                side.output_check_ms = await _output_check_ms(side)
    finally:
        upstream_process.terminate()
        with anyio.move_on_after(5):
            await upstream_process.wait()

    result: JsonDict = {
        "upstream": "altegio-mcp sandbox --port (its own process)",
        "listing_items": LISTING,
        "appointment_id": appointment_id,
        "bare_get": {kind: ms_summary(values) for kind, values in bare.items()},
        "cold_start": {name: ms_summary(values) for name, values in starts.items()},
        "cold_start_samples_ms": {
            name: [round(v * 1000, 1) for v in values] for name, values in starts.items()
        },
        "sides": {},
    }
    single = ms_summary(floor.latency["single"])
    result["bare_sdk_ping"] = {
        "calls": floor.calls["single"],
        "server_cpu_ms_per_call": round(floor.cpu["single"] * 1000 / floor.calls["single"], 3),
        "latency": single,
        "errors": floor.errors,
    }
    for side in sides:
        data: JsonDict = {
            "errors": side.errors,
            "rss_kib": side.rss_kib,
            "command": side.params.command,
            "client_output_schema_check_ms": side.output_check_ms,
        }
        for kind in ("listing", "single"):
            latency = ms_summary(side.latency[kind])
            data[kind] = {
                "calls": side.calls[kind],
                "server_cpu_ms_per_call": round(side.cpu[kind] * 1000 / side.calls[kind], 3),
                "latency": latency,
                "over_bare_get_ms": round(latency["median_ms"] - result["bare_get"][kind]["median_ms"], 3),
            }
        result["sides"][side.name] = data
    return result


def side_by_side(run: PeerRun, env: dict[str, str], errlog: TextIO, scratch: Path) -> Figure:
    data = anyio.run(_run, run, env, errlog, scratch)
    sides: dict[str, JsonDict] = data["sides"]
    starts: dict[str, JsonDict] = data["cold_start"]
    names = list(sides)
    peer = next((name for name in names if "peer" in name), None)
    ours = sides["altegio-mcp"]
    notes: list[str] = []
    if peer is None:
        notes.append(
            "peer skipped: no built altegio-pro-mcp (pass --peer DIR; benchmarks/README.md says how to build it)"
        )

    def cells(kind: str, key: str) -> str:
        return " | ".join(f"{name}: {sides[name][kind][key]:.2f} ms" for name in names)

    rows: list[Row] = []
    for kind, label in (("listing", f"{LISTING}-appointment listing"), ("single", "one appointment")):
        peer_cpu = sides[peer][kind]["server_cpu_ms_per_call"] if peer else None
        for key, what, context in (
            (
                "server_cpu_ms_per_call",
                "server CPU per call",
                f"peer {peer_cpu:.2f} ms" if peer_cpu else "peer absent",
            ),
            (
                "over_bare_get_ms",
                "latency over the bare GET",
                f"bare GET {data['bare_get'][kind]['median_ms']:.2f} ms median",
            ),
        ):
            value = ours[kind][key]
            peer_value = sides[peer][kind][key] if peer else None
            rows.append(
                Row(
                    f"P {what}, {label}",
                    cells(kind, key),
                    context,
                    ratio(value, peer_value) if peer_value else None,
                    "≤ peer",
                    value <= peer_value if peer_value is not None else None,
                )
            )
    floor = data["bare_sdk_ping"]
    rows.append(
        Row(
            "P  the SDK's floor: bare one-tool server, ping",
            f"server CPU {floor['server_cpu_ms_per_call']:.2f} ms/call, "
            f"{floor['latency']['median_ms']:.2f} ms median call",
            "same stdio and client, in the same rotation",
        )
    )
    rows.append(
        Row(
            "P  client checks a listing against outputSchema",
            " | ".join(f"{name}: {sides[name]['client_output_schema_check_ms']} ms" for name in names),
            "jsonschema, as the SDK client does (inside the latency)",
        )
    )
    bare_start = starts["bare SDK server (1 tool)"]["median_ms"]
    ours_start = starts["altegio-mcp"]["median_ms"]
    rows.append(
        Row(
            "P cold start, spawn → tools/list",
            " | ".join(f"{name}: {starts[name]['median_ms']:.0f} ms" for name in starts),
            f"bare SDK {bare_start:.0f} ms",
            ratio(ours_start, bare_start),
            "≤ 1.15× bare SDK",
            ours_start <= 1.15 * bare_start,
        )
    )
    rss = " | ".join(
        f"{name}: {sides[name]['rss_kib']['after_warmup'] / 1024:.1f}→{sides[name]['rss_kib']['after_calls'] / 1024:.1f} MiB"
        for name in names
    )
    rows.append(Row("P RSS after warm-up → after the calls", rss))
    errors = sum(int(sides[name]["errors"]) for name in names)
    rows.append(Row("P wrong or error results", str(errors), "", None, "0", errors == 0))
    data["table"] = {"sides": names}
    return Figure("peer", data, rows, notes)
