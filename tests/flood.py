"""An idle-socket flood against a real `altegio-mcp serve --transport http` process, loopback only.

`run_flood` starts the server (its stdout and stderr go to files: that is "the log"), starts
attacker processes that each open idle TCP connections to it and hold them without sending a byte,
and meanwhile drives a normal MCP client (the SDK's streamable HTTP client) calling a tool. Every
part is bounded: the number of sockets, the time to open them, the time they are held.
Used by tests/test_idle_sockets.py and benchmarks/idle_sockets.py.
"""

from __future__ import annotations

import json
import os
import resource
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import anyio
import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from altegio_mcp.sandbox import DEMO_USER_TOKEN
from tests.processes import stop, wait_until_up

KEY = "flood-test-key-0123456789"
ATTACKER = r"""
import errno, json, random, resource, socket, sys, time
port, count, open_budget, hold = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
# A source address of our own in 127/8: ports in TIME_WAIT from earlier runs and the other
# attacker's sockets do not crowd the kernel's ephemeral port search (about 28k per address).
source = f"127.{random.randint(1, 254)}.{random.randint(0, 255)}.{random.randint(1, 254)}"
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
count = min(count, hard - 64)
started = time.monotonic()
pending, failed = [], 0
for _ in range(count):  # non-blocking: the kernel completes the handshakes as the server accepts
    if time.monotonic() - started > open_budget:
        break
    s = socket.socket()
    s.setblocking(False)
    try:
        s.bind((source, 0))
    except OSError:
        failed += 1
        s.close()
        continue
    code = s.connect_ex(("127.0.0.1", port))
    if code in (0, errno.EINPROGRESS):
        pending.append(s)
    else:
        failed += 1
        s.close()
connected = []
while pending and time.monotonic() - started < open_budget:
    still = []
    for s in pending:
        err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err:
            failed += 1
            s.close()
            continue
        try:
            s.getpeername()
            connected.append(s)
        except OSError:
            still.append(s)
    pending = still
    time.sleep(0.05)
opened_in = time.monotonic() - started
print(json.dumps({"event": "opened", "opened": len(connected), "failed": failed + len(pending), "seconds": opened_in}), flush=True)
time.sleep(max(0.0, hold - (time.monotonic() - started)))
closed = 0
for s in connected:
    try:
        closed += s.recv(1, socket.MSG_PEEK) == b""
    except BlockingIOError:
        pass
    except OSError:
        closed += 1
print(json.dumps({"event": "held", "closed_by_server": closed}), flush=True)
for s in connected + pending:
    s.close()
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def raise_own_fd_limit() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def server_process(
    port: int,
    log_dir: Path,
    env_extra: dict[str, str],
    executable: str | None = None,
    *,
    separate_stdout: bool = False,
) -> tuple[subprocess.Popen[bytes], Path]:
    """`altegio-mcp serve --transport http --sandbox` on 127.0.0.1:port; stdout+stderr to one file
    (or stdout to `<log>.stdout` with `separate_stdout`)."""
    log_path = log_dir / f"server-{port}.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALTEGIO_")}
    env.update(
        {
            "ALTEGIO_HTTP_KEYS": f"{KEY}={DEMO_USER_TOKEN}",
            "ALTEGIO_RATE_PER_SECOND": "10000",
            "ALTEGIO_RATE_PER_MINUTE": "1000000",
            "ALTEGIO_LOG_LEVEL": "INFO",
            **env_extra,
        }
    )
    argv = [executable] if executable else [sys.executable, "-m", "altegio_mcp"]
    argv += ["serve", "--transport", "http", "--sandbox", "--port", str(port)]
    with log_path.open("wb") as err, log_path.with_suffix(".stdout").open("wb") as out:
        stdout = out if separate_stdout else err
        process = subprocess.Popen(argv, stdout=stdout, stderr=err, env=env)
    return process, log_path


def start_attackers(
    port: int, per: int, attackers: int, open_budget: float, hold: float
) -> list[subprocess.Popen[str]]:
    argv = [sys.executable, "-c", ATTACKER, str(port), str(per), str(open_budget), str(hold)]
    return [subprocess.Popen(argv, stdout=subprocess.PIPE, text=True) for _ in range(attackers)]


@dataclass(slots=True)
class FloodResult:
    sockets_wanted: int
    sockets_opened: int = 0
    connect_failures: int = 0
    open_seconds: float = 0.0
    closed_by_server: int = 0
    calls_ok: int = 0
    call_errors: list[str] = field(default_factory=list[str])
    latencies_ms: list[float] = field(default_factory=list[float])
    log_bytes: int = 0
    log_tail: str = ""
    guard_lines: list[str] = field(default_factory=list[str])
    call_log: list[tuple[float, float, str]] = field(default_factory=list[tuple[float, float, str]])
    server_alive: bool = True

    def summary(self) -> dict[str, object]:
        lat = sorted(self.latencies_ms)
        pick = (lambda q: round(lat[min(len(lat) - 1, int(q * len(lat)))], 1)) if lat else (lambda _q: None)
        return {
            "sockets_wanted": self.sockets_wanted,
            "sockets_opened": self.sockets_opened,
            "connect_failures": self.connect_failures,
            "open_seconds": round(self.open_seconds, 1),
            "closed_by_server": self.closed_by_server,
            "calls_ok": self.calls_ok,
            "call_errors": len(self.call_errors),
            "latency_ms_p50": pick(0.5),
            "latency_ms_p95": pick(0.95),
            "latency_ms_max": round(lat[-1], 1) if lat else None,
            "log_bytes": self.log_bytes,
            "server_alive": self.server_alive,
        }


async def normal_client(port: int, until: float, result: FloodResult, call_timeout: float) -> None:
    """One MCP client calling `whoami` every 0.5 s until `until` (a fresh session per call)."""
    origin = time.monotonic()
    while time.monotonic() < until:
        started = time.perf_counter()
        at = time.monotonic() - origin
        try:
            with anyio.fail_after(call_timeout):
                async with (
                    httpx2.AsyncClient(
                        headers={"Authorization": f"Bearer {KEY}"}, timeout=call_timeout
                    ) as http,
                    Client(
                        streamable_http_client(f"http://127.0.0.1:{port}/mcp", http_client=http)
                    ) as client,
                ):
                    answer = await client.call_tool("whoami", {})
            if answer.is_error:
                result.call_errors.append("tool error")
            else:
                result.calls_ok += 1
                result.latencies_ms.append((time.perf_counter() - started) * 1000)
            result.call_log.append((at, (time.perf_counter() - started) * 1000, "ok"))
        except Exception as exc:
            while isinstance(exc, ExceptionGroup) and exc.exceptions:
                exc = exc.exceptions[0]
            result.call_errors.append(f"{type(exc).__name__}: {exc}"[:200])
            result.call_log.append((at, (time.perf_counter() - started) * 1000, type(exc).__name__))
        await anyio.sleep(0.5)


async def run_flood(
    log_dir: Path,
    *,
    sockets: int = 20_000,
    attackers: int = 2,
    open_budget: float = 20.0,
    hold: float = 30.0,
    env_extra: dict[str, str] | None = None,
    executable: str | None = None,
    call_timeout: float = 30.0,
) -> FloodResult:
    raise_own_fd_limit()
    port = free_port()
    result = FloodResult(sockets_wanted=sockets)
    server, log_path = server_process(port, log_dir, env_extra or {}, executable)
    procs: list[subprocess.Popen[str]] = []
    try:
        wait_until_up(f"http://127.0.0.1:{port}/health", server, "the server")
        procs = start_attackers(port, sockets // attackers, attackers, open_budget, hold)
        await normal_client(port, time.monotonic() + hold, result, call_timeout)
        for proc in procs:
            out, _ = await anyio.to_thread.run_sync(lambda p=proc: p.communicate(timeout=hold + 30))
            for line in out.splitlines():
                event = json.loads(line)
                if event["event"] == "opened":
                    result.sockets_opened += event["opened"]
                    result.connect_failures += event["failed"]
                    result.open_seconds = max(result.open_seconds, event["seconds"])
                else:
                    result.closed_by_server += event["closed_by_server"]
        result.server_alive = server.poll() is None
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        stop(server)
    result.log_bytes = log_path.stat().st_size
    with log_path.open("rb") as f:
        f.seek(max(0, result.log_bytes - 2000))
        result.log_tail = f.read().decode("utf-8", "replace")
    if result.log_bytes < 5_000_000:
        text = log_path.read_text(encoding="utf-8", errors="replace")
        result.guard_lines = [line for line in text.splitlines() if "connection guard" in line]
    return result
