"""Figure 5: streamable HTTP throughput with concurrent callers.

The server is the real console script, `altegio-mcp serve --sandbox --transport http`, in its own
process on 127.0.0.1 (uvicorn), so the server and the load-generating clients do not share one
interpreter. Every client is its own MCP session with its own bearer key; all keys map to the
sandbox's demo user. The client-side rate limit is raised so it does not cap the figure.
"""

from __future__ import annotations

import secrets
import signal
import socket
import time
from collections.abc import Callable, Coroutine
from contextlib import AsyncExitStack
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
    Figure,
    JsonDict,
    Row,
    cpu_seconds,
    ms_summary,
    pick_appointment,
    ratio,
    server_command,
)
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from altegio_mcp.sandbox import DEMO_USER_TOKEN

READY_TIMEOUT = 60.0
SPY_RATE = 1000


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _wait_healthy(base: str, process: Process) -> float:
    """Seconds until `/health` answers 200; fails early if the server process exits."""
    started = time.perf_counter()
    async with httpx.AsyncClient(base_url=base, timeout=2.0) as http:
        with anyio.fail_after(READY_TIMEOUT):
            while True:
                if process.returncode is not None:
                    raise RuntimeError(f"the HTTP server exited with {process.returncode} (see its log)")
                try:
                    if (await http.get("/health")).status_code == 200:
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


Worker = Callable[[Client, int, bool], Coroutine[Any, Any, None]]


async def _sampled_load(
    pid: int, clients: list[Client], per_client: int, worker: Worker, scratch: Path, errlog: TextIO
) -> JsonDict | None:
    """The same concurrent load once more, not timed, with py-spy sampling the server process."""
    spy = bench_samples.py_spy()
    if spy is None:
        return None
    output = scratch / "py-spy.txt"
    command = [spy, "record", "--pid", str(pid), "--format", "raw", "--nolineno", "--gil"]
    recorder = await anyio.open_process(
        [*command, "--rate", str(SPY_RATE), "--output", str(output)],
        stdout=errlog,
        stderr=errlog,
    )
    try:
        await anyio.sleep(1.0)  # let it attach
        async with anyio.create_task_group() as load:
            for client in clients:
                load.start_soon(worker, client, per_client, False)
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
    return bench_samples.collapsed(output, rate=SPY_RATE, per=per_client * len(clients))


async def _http(
    total_calls: int, concurrency: int, env: dict[str, str], errlog: TextIO, scratch: Path
) -> JsonDict:
    keys = [f"bench-{n:02d}-{secrets.token_hex(8)}" for n in range(concurrency)]
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command, prefix = server_command()
    server_env = {
        **env,
        **FAST_ENV,
        "ALTEGIO_HTTP_KEYS": ",".join(f"{key}={DEMO_USER_TOKEN}" for key in keys),
        "ALTEGIO_LOG_LEVEL": "WARNING",
    }
    process = await anyio.open_process(
        [command, *prefix, "serve", "--sandbox", "--transport", "http", "--port", str(port)],
        env=server_env,
        cwd=ROOT,
        stdin=None,
        stdout=errlog,
        stderr=errlog,
    )
    try:
        ready = await _wait_healthy(base, process)
        async with AsyncExitStack() as stack:
            clients: list[Client] = []
            for key in keys:
                http = await stack.enter_async_context(
                    httpx2.AsyncClient(headers={"Authorization": f"Bearer {key}"}, timeout=60)
                )
                transport = streamable_http_client(f"{base}/mcp", http_client=http)
                clients.append(await stack.enter_async_context(Client(transport, cache=None)))
            target = await pick_appointment(clients[0])
            arguments: dict[str, Any] = {
                "location_id": target.location_id,
                "appointment_id": target.appointment_id,
            }
            per_client = max(total_calls // concurrency, 1)
            latencies: list[float] = []
            failures: list[str] = []

            async def worker(client: Client, calls: int, record: bool) -> None:
                for _ in range(calls):
                    started = time.perf_counter()
                    try:
                        result = await client.call_tool("get_appointment", arguments)
                    except Exception as exc:  # a failed call is a figure here, not a crash
                        failures.append(f"{type(exc).__name__}: {exc}")
                        continue
                    if record:
                        latencies.append(time.perf_counter() - started)
                    if result.is_error:
                        failures.append(f"tool error: {result.content!r}"[:200])

            async with anyio.create_task_group() as warmup:
                for client in clients:
                    warmup.start_soon(worker, client, 2, False)
            warmup_failures = len(failures)
            failures.clear()
            single_calls = max(total_calls // 8, 10)
            single_server_cpu = cpu_seconds(process.pid)
            single_client_cpu = time.process_time()
            started = time.perf_counter()
            await worker(clients[0], single_calls, True)
            single_wall = time.perf_counter() - started
            single_server_cpu = cpu_seconds(process.pid) - single_server_cpu
            single_client_cpu = time.process_time() - single_client_cpu
            single = ms_summary(latencies)
            single_failures = len(failures)
            latencies.clear()
            failures.clear()
            server_cpu_before = cpu_seconds(process.pid)
            client_cpu_before = time.process_time()
            started = time.perf_counter()
            async with anyio.create_task_group() as load:
                for client in clients:
                    load.start_soon(worker, client, per_client, True)
            wall = time.perf_counter() - started
            server_cpu = cpu_seconds(process.pid) - server_cpu_before
            client_cpu = time.process_time() - client_cpu_before
            load_failures = list(failures)
            failures.clear()
            sampled = await _sampled_load(process.pid, clients, per_client, worker, scratch, errlog)
            sampled_failures = len(failures)
    finally:
        with anyio.CancelScope(shield=True):  # never leave the server behind, even on Ctrl-C
            await _stop(process)
    calls = per_client * concurrency
    return {
        "concurrency": concurrency,
        "calls": calls,
        "errors": len(load_failures),
        "warmup_errors": warmup_failures,
        "profiled_load_errors": sampled_failures,
        "single_session": {
            "calls": single_calls,
            "errors": single_failures,
            "calls_per_second": round(single_calls / single_wall, 1),
            "latency": single,
            "server_cpu_ms_per_call": round(single_server_cpu * 1000 / single_calls, 3),
            "client_cpu_ms_per_call": round(single_client_cpu * 1000 / single_calls, 3),
        },
        "error_samples": load_failures[:3],
        "wall_s": round(wall, 3),
        "calls_per_second": round(calls / wall, 1),
        "latency": ms_summary(latencies) if latencies else None,
        "server_ready_s": round(ready, 3),
        "server_cpu_ms_per_call": round(server_cpu * 1000 / calls, 3),
        "client_cpu_ms_per_call": round(client_cpu * 1000 / calls, 3),
        "server_cpu_utilisation": round(server_cpu / wall, 2),
        "server_profile_py_spy": sampled,
    }


def http_throughput(
    total_calls: int, concurrency: int, env: dict[str, str], errlog: TextIO, scratch: Path
) -> Figure:
    data = anyio.run(_http, total_calls, concurrency, env, errlog, scratch)
    latency = data["latency"] or {"median_ms": float("nan"), "p99_ms": float("nan")}
    single = data["single_session"]
    data["speedup_over_single_session"] = speedup = ratio(
        data["calls_per_second"], single["calls_per_second"]
    )
    return Figure(
        "http",
        data,
        [
            Row(
                f"5 HTTP, {concurrency} sessions × {data['calls'] // concurrency} calls",
                f"{data['calls_per_second']:.0f} calls/s, p50 {latency['median_ms']:.1f} ms, "
                f"p99 {latency['p99_ms']:.1f} ms, {data['errors']} errors",
                f"server CPU {data['server_cpu_ms_per_call']:.2f} ms/call "
                f"({data['server_cpu_utilisation']:.0%} of a core); "
                f"client CPU {data['client_cpu_ms_per_call']:.2f} ms/call",
                None,
                "0 errors",
                data["errors"] + data["warmup_errors"] + single["errors"] + data["profiled_load_errors"] == 0,
            ),
            Row(
                "  same server, 1 session sequential",
                f"{single['calls_per_second']:.0f} calls/s, p50 {single['latency']['median_ms']:.1f} ms, "
                f"p99 {single['latency']['p99_ms']:.1f} ms",
                f"{concurrency} sessions give {speedup:.2f}× its throughput; server CPU "
                f"{single['server_cpu_ms_per_call']:.2f}, client CPU {single['client_cpu_ms_per_call']:.2f} ms/call",
                speedup,
            ),
            Row("  HTTP server spawn → /health 200", f"{data['server_ready_s'] * 1000:.0f} ms"),
        ],
    )
