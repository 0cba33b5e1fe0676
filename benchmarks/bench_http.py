"""Figure 5: streamable HTTP throughput with concurrent callers, optionally against a baseline build.

The server is the real console script, `altegio-mcp serve --transport http`, in its own process on
127.0.0.1 (uvicorn), so the server and the load-generating clients do not share one interpreter.
Every client is its own MCP session with its own bearer key; all keys map to the sandbox's demo
user. The client-side rate limit is raised so it does not cap the figure.

Upstream (`upstream`):

- `external` (default): one `python -m altegio_mcp.sandbox` process on 127.0.0.1 that every server
  under test talks to over real HTTP, as a production server talks to api.alteg.io. The server
  process then carries only its own costs (MCP, HTTP, tool code, its HTTP client); the emulator's
  CPU is reported beside, per call.
- `inprocess`: `serve --sandbox`, the emulator inside the server process behind httpx's in-process
  ASGI transport; the emulator's CPU counts as the server's.

Load generators (`generators`), each a separate set of rows:

- `sdk`: the MCP SDK's own streamable-HTTP `Client` (it negotiates the 2026-07-28 protocol);
  about 2 ms of client CPU per call, which competes with the server on a small machine.
- `lean`: `lean_client.LeanSession`, raw HTTP/1.1 with pre-encoded requests (2026-07-28), a tenth
  of that CPU; `lean-2025`: the same over the 2025-11-25 protocol (initialize, then stateless
  POSTs), what today's chat apps speak.

With `baseline` (another installation's `altegio-mcp`, e.g. the commit before a change) both
servers run at once and every measurement alternates between them in blocks (A B B A …), the same
generator and the same upstream for both, so a load spike on the shared machine hits both alike.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import anyio
import bench_samples
import httpx
import httpx2
from anyio.abc import Process
from bench_common import (
    FAST_ENV,
    ROOT,
    TODAY,
    Figure,
    JsonDict,
    Row,
    ms_summary,
    pick_appointment,
    ratio,
    server_command,
)
from lean_client import LEGACY, MODERN, LeanSession
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from altegio_mcp.sandbox import DEMO_PARTNER_TOKEN, DEMO_USER_TOKEN, NEW_YORK_LOCATION_ID

READY_TIMEOUT = 60.0
SPY_RATE = 1000
GENERATORS = ("sdk", "lean", "lean-2025")
UPSTREAMS = ("external", "inprocess")
ROUNDS = 4
"""Blocks per server and generator: the load alternates between the servers this many times."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- CPU of a process tree -------------------------------------------------------------------------


def _stat_fields(pid: int) -> list[str] | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat[stat.rindex(")") + 2 :].split()


def _descendants(pid: int) -> Iterator[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat_fields(int(entry.name))
            if fields is not None:
                children.setdefault(int(fields[1]), []).append(int(entry.name))
    todo = [pid]
    while todo:
        current = todo.pop()
        yield current
        todo.extend(children.get(current, []))


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its live descendants (uvicorn worker processes)."""
    ticks = 0
    for member in _descendants(pid):
        fields = _stat_fields(member)
        if fields is not None:
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


# --- processes -------------------------------------------------------------------------------------


async def _wait_healthy(url: str, process: Process) -> float:
    """Seconds until `url` answers below 500; fails early if the process exits."""
    started = time.perf_counter()
    async with httpx.AsyncClient(timeout=2.0) as http:
        with anyio.fail_after(READY_TIMEOUT):
            while True:
                if process.returncode is not None:
                    raise RuntimeError(f"{url}: the process exited with {process.returncode} (see its log)")
                try:
                    if (await http.get(url)).status_code < 500:
                        return time.perf_counter() - started
                except httpx.TransportError:
                    pass
                await anyio.sleep(0.05)


async def _stop(process: Process) -> None:
    """SIGTERM (uvicorn drains and exits), then SIGKILL if it lingers; only this one process."""
    if process.returncode is None:
        process.terminate()
        with anyio.move_on_after(15):
            await process.wait()
    if process.returncode is None:
        process.kill()
        await process.wait()
    await process.aclose()


@asynccontextmanager
async def _running(
    command: list[str], env: dict[str, str], errlog: TextIO, health: str
) -> AsyncIterator[tuple[Process, float]]:
    process = await anyio.open_process(command, env=env, cwd=ROOT, stdin=None, stdout=errlog, stderr=errlog)
    try:
        ready = await _wait_healthy(health, process)
        yield process, ready
    finally:
        with anyio.CancelScope(shield=True):  # never leave a server behind, even on Ctrl-C
            await _stop(process)


def _state_env(env: dict[str, str], scratch: Path, label: str) -> dict[str, str]:
    """Each server its own state and config directories (a baseline may keep another schema)."""
    out = dict(env)
    for name in ("ALTEGIO_CONFIG_DIR", "XDG_CONFIG_HOME", "XDG_STATE_HOME"):
        path = scratch / f"http-{label}" / name.lower()
        path.mkdir(parents=True, exist_ok=True)
        out[name] = str(path)
    return out


# --- load ------------------------------------------------------------------------------------------


@dataclass(slots=True)
class Tally:
    """What a series of timed blocks adds up to, for one server and one generator."""

    calls: int = 0
    wall: float = 0.0
    server_cpu: float = 0.0
    client_cpu: float = 0.0
    upstream_cpu: float = 0.0
    latencies: list[float] = field(default_factory=list[float])
    failures: list[str] = field(default_factory=list[str])

    def summary(self) -> JsonDict:
        calls = max(self.calls, 1)
        return {
            "calls": self.calls,
            "errors": len(self.failures),
            "error_samples": self.failures[:3],
            "wall_s": round(self.wall, 3),
            "calls_per_second": round(self.calls / self.wall, 1) if self.wall else None,
            "latency": ms_summary(self.latencies) if self.latencies else None,
            "server_cpu_ms_per_call": round(self.server_cpu * 1000 / calls, 3),
            "client_cpu_ms_per_call": round(self.client_cpu * 1000 / calls, 3),
            "upstream_cpu_ms_per_call": round(self.upstream_cpu * 1000 / calls, 3),
            "server_cpu_utilisation": round(self.server_cpu / self.wall, 2) if self.wall else None,
        }


Call = Callable[[], Awaitable[bool]]
"""One tool call by one session: True when it succeeded; raises on a transport failure."""


async def _block(sessions: list[Call], per_session: int, tally: Tally | None) -> None:
    """Every session makes `per_session` calls one after another, all sessions at once."""

    async def worker(call: Call) -> None:
        for _ in range(per_session):
            started = time.perf_counter()
            try:
                ok = await call()
            except Exception as exc:  # a failed call is a figure here, not a crash
                if tally is not None:
                    tally.failures.append(f"{type(exc).__name__}: {exc}"[:200])
                continue
            if tally is None:
                continue
            tally.latencies.append(time.perf_counter() - started)
            if not ok:
                tally.failures.append("tool error result")

    async with anyio.create_task_group() as group:
        for call in sessions:
            group.start_soon(worker, call)


@dataclass(slots=True)
class ServerUnderTest:
    label: str
    process: Process
    port: int
    keys: list[str]
    ready_s: float
    sessions: dict[str, list[Call]] = field(default_factory=dict[str, list[Call]])


async def _timed_block(
    server: ServerUnderTest, sessions: list[Call], per_session: int, tally: Tally, upstream_pid: int | None
) -> None:
    server_cpu = tree_cpu_seconds(server.process.pid)
    upstream_cpu = tree_cpu_seconds(upstream_pid) if upstream_pid else 0.0
    client_cpu = time.process_time()
    started = time.perf_counter()
    await _block(sessions, per_session, tally)
    tally.wall += time.perf_counter() - started
    tally.client_cpu += time.process_time() - client_cpu
    tally.server_cpu += tree_cpu_seconds(server.process.pid) - server_cpu
    if upstream_pid:
        tally.upstream_cpu += tree_cpu_seconds(upstream_pid) - upstream_cpu
    tally.calls += per_session * len(sessions)


async def _open_sessions(
    stack: AsyncExitStack, server: ServerUnderTest, generator: str, arguments: dict[str, Any]
) -> list[Call]:
    calls: list[Call] = []
    for key in server.keys:
        if generator == "sdk":
            http = await stack.enter_async_context(
                httpx2.AsyncClient(headers={"Authorization": f"Bearer {key}"}, timeout=60)
            )
            transport = streamable_http_client(f"http://127.0.0.1:{server.port}/mcp", http_client=http)
            client = await stack.enter_async_context(Client(transport, cache=None))

            async def sdk_call(client: Client = client) -> bool:
                result = await client.call_tool("get_appointment", arguments)
                return not result.is_error

            calls.append(sdk_call)
        else:
            lean = LeanSession("127.0.0.1", server.port, key, MODERN if generator == "lean" else LEGACY)
            await lean.open()
            stack.push_async_callback(lean.aclose)
            prepared = lean.tool_call("get_appointment", arguments)

            async def lean_call(lean: LeanSession = lean, prepared: bytes = prepared) -> bool:
                await lean.call(prepared)  # raises CallFailed on an error result
                return True

            calls.append(lean_call)
    return calls


async def _sampled_load(
    server: ServerUnderTest, sessions: list[Call], per_session: int, scratch: Path, errlog: TextIO
) -> JsonDict | None:
    """The same concurrent load once more, not timed, with py-spy sampling the server process."""
    spy = bench_samples.py_spy()
    if spy is None:
        return None
    output = scratch / f"py-spy-{server.label}.txt"
    command = [spy, "record", "--pid", str(server.process.pid), "--format", "raw", "--nolineno", "--gil"]
    recorder = await anyio.open_process(
        [*command, "--subprocesses", "--rate", str(SPY_RATE), "--output", str(output)],
        stdout=errlog,
        stderr=errlog,
    )
    try:
        await anyio.sleep(1.0)  # let it attach
        await _block(sessions, per_session, None)
    finally:
        if recorder.returncode is None:  # it exits at once when it cannot attach
            recorder.send_signal(signal.SIGINT)  # py-spy writes its output on Ctrl-C
        with anyio.move_on_after(30):
            await recorder.wait()
        if recorder.returncode is None:
            recorder.kill()
            await recorder.wait()
        await recorder.aclose()
    if not output.exists():
        return {"error": "py-spy wrote nothing (is ptrace allowed here?)"}
    return bench_samples.collapsed(output, rate=SPY_RATE, per=per_session * len(sessions))


# --- the figure ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HttpOptions:
    total_calls: int
    concurrency: int
    baseline: str | None = None
    """Another installation's `altegio-mcp` executable, measured alongside in the same run."""
    upstream: str = "external"
    generators: tuple[str, ...] = GENERATORS
    workers: int = 1
    """`ALTEGIO_HTTP_WORKERS` for both servers (a baseline without workers ignores it)."""


async def _http(options: HttpOptions, env: dict[str, str], errlog: TextIO, scratch: Path) -> JsonDict:
    if options.upstream not in UPSTREAMS:
        raise ValueError(f"upstream must be one of {UPSTREAMS}")
    unknown = set(options.generators) - set(GENERATORS)
    if unknown:
        raise ValueError(f"unknown load generator(s) {sorted(unknown)}; known: {GENERATORS}")
    command, prefix = server_command()
    executables = {"current": [command, *prefix]}
    if options.baseline:
        executables["baseline"] = [options.baseline]
    async with AsyncExitStack() as stack:
        upstream_pid: int | None = None
        server_args = ["serve", "--transport", "http"]
        base_env = {**env, **FAST_ENV, "ALTEGIO_LOG_LEVEL": "WARNING"}
        if options.workers > 1:
            base_env["ALTEGIO_HTTP_WORKERS"] = str(options.workers)
            base_env["ALTEGIO_CONFIRM_SECRET"] = secrets.token_urlsafe(32)
        if options.upstream == "external":
            port = free_port()
            sandbox, _ = await stack.enter_async_context(
                _running(
                    [
                        *(sys.executable, "-m", "altegio_mcp.sandbox", "--port", str(port)),
                        *("--today", TODAY.isoformat()),
                        *("--rate-limit-per-second", "1000000", "--rate-limit-per-minute", "1000000000"),
                    ],
                    env,
                    errlog,
                    f"http://127.0.0.1:{port}/",
                )
            )
            upstream_pid = sandbox.pid
            base_env |= {
                "ALTEGIO_BASE_URL": f"http://127.0.0.1:{port}/api/v1",
                "ALTEGIO_PARTNER_TOKEN": DEMO_PARTNER_TOKEN,
                "ALTEGIO_LOCATION_ID": str(NEW_YORK_LOCATION_ID),
            }
        else:
            server_args.append("--sandbox")

        servers: list[ServerUnderTest] = []
        for label, executable in executables.items():
            keys = [f"bench-{label}-{n:02d}-{secrets.token_hex(8)}" for n in range(options.concurrency)]
            port = free_port()
            server_env = {
                **_state_env(base_env, scratch, label),
                "ALTEGIO_HTTP_KEYS": ",".join(f"{key}={DEMO_USER_TOKEN}" for key in keys),
            }
            process, ready = await stack.enter_async_context(
                _running(
                    [*executable, *server_args, "--port", str(port)],
                    server_env,
                    errlog,
                    f"http://127.0.0.1:{port}/health",
                )
            )
            servers.append(ServerUnderTest(label, process, port, keys, ready))

        probe = await stack.enter_async_context(
            Client(
                streamable_http_client(
                    f"http://127.0.0.1:{servers[0].port}/mcp",
                    http_client=await stack.enter_async_context(
                        httpx2.AsyncClient(headers={"Authorization": f"Bearer {servers[0].keys[0]}"})
                    ),
                ),
                cache=None,
            )
        )
        target = await pick_appointment(probe)
        arguments: dict[str, Any] = {
            "location_id": target.location_id,
            "appointment_id": target.appointment_id,
        }

        per_session = max(options.total_calls // options.concurrency // ROUNDS, 1)
        single_calls = max(options.total_calls // 8 // ROUNDS, 5)
        results: dict[str, dict[str, JsonDict]] = {server.label: {} for server in servers}
        for generator in options.generators:
            for server in servers:
                server.sessions[generator] = await _open_sessions(stack, server, generator, arguments)
                await _block(server.sessions[generator], 2, None)  # warm-up, not counted
            load = {server.label: Tally() for server in servers}
            single = {server.label: Tally() for server in servers}
            for round_ in range(ROUNDS):
                order = servers if round_ % 2 == 0 else servers[::-1]
                for server in order:
                    await _timed_block(
                        server, server.sessions[generator], per_session, load[server.label], upstream_pid
                    )
                for server in order:
                    await _timed_block(
                        server,
                        server.sessions[generator][:1],
                        single_calls,
                        single[server.label],
                        upstream_pid,
                    )
            for server in servers:
                entry = load[server.label].summary()
                entry["single_session"] = single[server.label].summary()
                results[server.label][generator] = entry

        profiles: dict[str, JsonDict | None] = {}
        spy_generator = next((g for g in ("lean", "lean-2025", "sdk") if g in options.generators), "sdk")
        for server in servers:
            profiles[server.label] = await _sampled_load(
                server, server.sessions[spy_generator], per_session * ROUNDS, scratch, errlog
            )

    def side(server: ServerUnderTest) -> JsonDict:
        by_generator = results[server.label]
        primary = by_generator[options.generators[0]]
        return {
            **primary,
            "generator": options.generators[0],
            "by_generator": by_generator,
            "server_ready_s": round(server.ready_s, 3),
            "server_profile_py_spy": profiles[server.label],
            "server_profile_generator": spy_generator,
        }

    data: JsonDict = {
        "concurrency": options.concurrency,
        "upstream": options.upstream,
        "workers": options.workers,
        "rounds": ROUNDS,
        "generators": list(options.generators),
        **side(servers[0]),
    }
    if len(servers) > 1:
        data["baseline"] = {"executable": options.baseline, **side(servers[1])}
    return data


def _latency_text(entry: JsonDict) -> str:
    latency = entry["latency"] or {"median_ms": float("nan"), "p99_ms": float("nan")}
    return f"p50 {latency['median_ms']:.1f} ms, p99 {latency['p99_ms']:.1f} ms"


def _cpu_text(entry: JsonDict) -> str:
    text = (
        f"server CPU {entry['server_cpu_ms_per_call']:.2f} ms/call ({entry['server_cpu_utilisation']:.0%} of a core); "
        f"client CPU {entry['client_cpu_ms_per_call']:.2f}"
    )
    if entry["upstream_cpu_ms_per_call"]:
        text += f"; upstream CPU {entry['upstream_cpu_ms_per_call']:.2f}"
    return text


def http_throughput(options: HttpOptions, env: dict[str, str], errlog: TextIO, scratch: Path) -> Figure:
    data = anyio.run(_http, options, env, errlog, scratch)
    baseline = data.get("baseline")
    rows: list[Row] = []
    errors = 0
    for generator in data["generators"]:
        entry = data["by_generator"][generator]
        single = entry["single_session"]
        errors += entry["errors"] + single["errors"]
        title = f"5 HTTP ({data['upstream']} upstream), {generator}, {data['concurrency']} sessions"
        rows.append(
            Row(
                title,
                f"{entry['calls_per_second']:.0f} calls/s, {_latency_text(entry)}, {entry['errors']} errors",
                _cpu_text(entry),
                None,
                "0 errors",
                entry["errors"] + single["errors"] == 0,
            )
        )
        if baseline is not None:
            before = baseline["by_generator"][generator]
            errors += before["errors"] + before["single_session"]["errors"]
            rows.append(
                Row(
                    "  baseline build, same load, interleaved",
                    f"{before['calls_per_second']:.0f} calls/s, {_latency_text(before)}, {before['errors']} errors",
                    _cpu_text(before),
                    ratio(entry["calls_per_second"], before["calls_per_second"]),
                    "2× calls/s",
                    entry["calls_per_second"] >= 2 * before["calls_per_second"],
                )
            )
        line = f"{single['calls_per_second']:.0f} calls/s, {_latency_text(single)}"
        context = f"server CPU {single['server_cpu_ms_per_call']:.2f} ms/call"
        if baseline is not None:
            old = baseline["by_generator"][generator]["single_session"]
            line += f" (baseline {old['calls_per_second']:.0f} calls/s, {_latency_text(old)})"
            context += f" (baseline {old['server_cpu_ms_per_call']:.2f})"
        rows.append(Row("  1 session, sequential", line, context))
    ready = f"{data['server_ready_s'] * 1000:.0f} ms"
    if baseline is not None:
        ready += f" (baseline {baseline['server_ready_s'] * 1000:.0f} ms)"
    rows.append(Row("  HTTP server spawn → /health 200", ready))
    notes = [] if errors == 0 else [f"HTTP figure: {errors} failed calls (see results.json error_samples)"]
    return Figure("http", data, rows, notes)
