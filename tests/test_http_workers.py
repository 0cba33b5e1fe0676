"""Several HTTP worker processes on one port (`ALTEGIO_HTTP_WORKERS`), through real MCP clients.

Every process is real: `altegio-mcp sandbox --port` is the upstream and `altegio-mcp serve
--transport http --workers 2` forks two workers that share the default SQLite state file and,
with no `ALTEGIO_CONFIRM_SECRET` given, one secret made before the fork. Which worker holds a
connection is read from /proc (the socket's inode among each worker's descriptors), so the
cross-worker test does not depend on where the kernel happens to send a connection.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from altegio_mcp.http import workers_refusal
from altegio_mcp.sandbox import DEMO_PARTNER_TOKEN, DEMO_USER_TOKEN, NEW_YORK_LOCATION_ID
from altegio_mcp.settings import Settings
from tests.harness import text_of
from tests.processes import stop, wait_until_up
from tests.redis_server import free_port

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="reads /proc to tell which worker holds a connection"
)

KEY = "workers-test-key-0123456789"
PROGRAM = str(Path(sys.executable).with_name("altegio-mcp"))


def children(pid: int) -> list[int]:
    return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _socket_inode(server_port: int, client_port: int) -> str | None:
    """The inode of the server's end of the loopback connection from `client_port`."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local, remote = fields[1], fields[2]
            if (
                int(local.rsplit(":", 1)[1], 16) == server_port
                and int(remote.rsplit(":", 1)[1], 16) == client_port
            ):
                return fields[9]
    return None


def worker_holding(workers: list[int], server_port: int, client_port: int) -> int | None:
    inode = _socket_inode(server_port, client_port)
    if inode is None:
        return None
    wanted = f"socket:[{inode}]"
    for pid in workers:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                if os.readlink(fd) == wanted:
                    return pid
            except OSError:
                continue
    return None


@dataclass
class Pool:
    base: str
    port: int
    upstream: str
    process: subprocess.Popen[bytes]

    def upstream_requests(self) -> list[dict[str, Any]]:
        return list(httpx.get(f"{self.upstream}/__sandbox__/requests", timeout=10).json()["data"])


def server_env(tmp: Path, upstream: str) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp),
        "XDG_STATE_HOME": str(tmp / "state"),
        "ALTEGIO_CONFIG_DIR": str(tmp / "config"),
        "ALTEGIO_BASE_URL": f"{upstream}/api/v1",
        "ALTEGIO_PARTNER_TOKEN": DEMO_PARTNER_TOKEN,
        "ALTEGIO_LOCATION_ID": str(NEW_YORK_LOCATION_ID),
        "ALTEGIO_HTTP_KEYS": f"{KEY}={DEMO_USER_TOKEN}",
        "ALTEGIO_AUDIT": "false",
        "ALTEGIO_TOOLSETS": "all",
        "ALTEGIO_RATE_PER_SECOND": "1000",
        "ALTEGIO_RATE_PER_MINUTE": "100000",
    }


@pytest.fixture(scope="module")
def pool(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pool]:
    tmp = tmp_path_factory.mktemp("workers")
    processes: list[subprocess.Popen[bytes]] = []
    try:
        port = free_port()
        upstream = f"http://127.0.0.1:{port}"
        sandbox = subprocess.Popen(
            [PROGRAM, "sandbox", "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        processes.append(sandbox)
        wait_until_up(f"{upstream}/__sandbox__/state", sandbox, "the sandbox")
        server_port = free_port()
        server = subprocess.Popen(
            [PROGRAM, "serve", "--transport", "http", "--port", str(server_port), "--workers", "2"],
            env=server_env(tmp, upstream),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        processes.append(server)
        wait_until_up(f"http://127.0.0.1:{server_port}/health", server, "the server")
        yield Pool(f"http://127.0.0.1:{server_port}", server_port, upstream, server)
    finally:
        for process in reversed(processes):
            stop(process)


@dataclass
class Connection:
    client: Client
    worker: int


@asynccontextmanager
async def on_each_worker(pool: Pool) -> AsyncIterator[dict[int, Connection]]:
    """One MCP client per worker: new clients (each a new TCP connection) until every worker holds
    one. The kernel spreads connections by their addresses, so a worker is missed 40 times in a row
    with odds of about 1 in 10^12."""
    workers = children(pool.process.pid)
    found: dict[int, Connection] = {}
    async with AsyncExitStack() as stack:
        for _ in range(40):
            ports: list[int] = []

            async def note_port(response: httpx2.Response, ports: list[int] = ports) -> None:
                stream = response.extensions.get("network_stream")
                if stream is not None and not ports:
                    ports.append(stream.get_extra_info("client_addr")[1])

            http = await stack.enter_async_context(
                httpx2.AsyncClient(
                    headers={"Authorization": f"Bearer {KEY}"},
                    timeout=60,
                    limits=httpx2.Limits(max_connections=1),
                    event_hooks={"response": [note_port]},
                )
            )
            client = await stack.enter_async_context(
                Client(streamable_http_client(f"{pool.base}/mcp", http_client=http))
            )
            worker = worker_holding(workers, pool.port, ports[0]) if ports else None
            if worker is not None and worker not in found:
                found[worker] = Connection(client, worker)
            if len(found) == len(workers):
                break
        yield found


def test_the_server_runs_two_workers(pool: Pool) -> None:
    workers = children(pool.process.pid)
    assert len(workers) == 2 and all(alive(pid) for pid in workers)


@pytest.mark.anyio
async def test_every_worker_answers_tool_calls(pool: Pool) -> None:
    async with on_each_worker(pool) as connections:
        assert len(connections) == 2
        for connection in connections.values():
            result = await connection.client.call_tool("list_appointments", {"count": 3})
            assert not result.is_error, text_of(result)


@pytest.mark.anyio
async def test_a_token_issued_by_one_worker_is_honoured_once_by_the_other(pool: Pool) -> None:
    async with on_each_worker(pool) as connections:
        one, two = (connection.client for connection in connections.values())
        listed = await one.call_tool("list_appointments", {"count": 5})
        assert listed.structured_content is not None, text_of(listed)
        target = next(a for a in listed.structured_content["items"] if not a.get("deleted"))["id"]
        ask = await one.call_tool("delete_appointment", {"appointment_id": target})
        match = re.search(r'confirmation_token="([^"]+)"', text_of(ask))
        assert match, text_of(ask)
        token = match.group(1)
        done = await two.call_tool(
            "delete_appointment", {"appointment_id": target, "confirmation_token": token}
        )
        assert not done.is_error, text_of(done)
        replay = await one.call_tool(
            "delete_appointment", {"appointment_id": target, "confirmation_token": token}
        )
        assert replay.is_error and "already used" in text_of(replay), text_of(replay)
    deletes = [r for r in pool.upstream_requests() if r["method"] == "DELETE" and str(target) in r["path"]]
    assert len(deletes) == 1


def test_sigterm_to_the_server_stops_every_worker(tmp_path: Path, pool: Pool) -> None:
    port = free_port()
    server = subprocess.Popen(
        [PROGRAM, "serve", "--transport", "http", "--port", str(port), "--workers", "2"],
        env=server_env(tmp_path, pool.upstream),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_up(f"http://127.0.0.1:{port}/health", server, "the server")
        workers = children(server.pid)
        assert len(workers) == 2
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=20) == 0
        assert not any(alive(pid) for pid in workers)
    finally:
        if server.poll() is None:
            stop(server)


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"http_stateful": True}, "stateless mode"),
        ({"sandbox": True}, "in-process sandbox"),
    ],
)
def test_workers_are_refused_where_their_state_would_split(overrides: dict[str, Any], reason: str) -> None:
    refusal = workers_refusal(Settings(http_workers=2, **overrides))
    assert refusal is not None and reason in refusal


def test_a_stateless_server_with_an_external_upstream_may_run_workers() -> None:
    assert workers_refusal(Settings(http_workers=2)) is None
