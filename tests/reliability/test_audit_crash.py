"""The write-ahead audit under the worst endings: kill -9 mid-burst, and a client that cancels.

A real upstream (`altegio-mcp sandbox --port`, a separate process that outlives the server) takes a
burst of writes from a real stdio server process, which is killed with SIGKILL mid-burst. Every
write that reached the upstream must have its intent line in the audit file, whatever happened to
the answers. A write the client cancels mid-flight must leave an intent and a `cancelled` outcome.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from mcp import Client

from altegio_mcp.audit import audited_writes
from altegio_mcp.sandbox import DEMO_PARTNER_TOKEN, DEMO_USER_TOKEN, Sandbox, SandboxConfig, create_sandbox
from altegio_mcp.server import Upstream, build_server
from tests.harness import TODAY, sandbox_settings
from tests.reliability.conftest import Tally, free_port, serve_asgi

pytestmark = pytest.mark.anyio

CLIENT = 5007
LOCATION = 1001
PROGRAM = str(Path(sys.executable).with_name("altegio-mcp"))
HEADERS = {
    "Authorization": f"Bearer {DEMO_PARTNER_TOKEN}, User {DEMO_USER_TOKEN}",
    "Accept": "application/vnd.api.v2+json",
}


def _upstream_texts(base: str) -> set[str]:
    url = f"{base}/api/v1/clients/{LOCATION}/clients/{CLIENT}/comments"
    answer = httpx.get(url, headers=HEADERS, timeout=10).json()
    return {str(item.get("text")) for item in answer["data"]}


def _wait_until_up(base: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{base}/api/v1/companies", headers=HEADERS, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError("the sandbox did not start")


def _rpc(method: str, params: dict[str, Any], ident: int | None = None) -> bytes:
    message: dict[str, Any] = {"jsonrpc": "2.0", "method": method, "params": params}
    if ident is not None:
        message["id"] = ident
    return (json.dumps(message) + "\n").encode()


def test_kill_9_mid_burst_leaves_an_intent_for_every_write_that_landed(tmp_path: Path, tally: Tally) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    upstream = subprocess.Popen(
        [PROGRAM, "sandbox", "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    trials, landed_total = 4, 0
    try:
        _wait_until_up(base)
        for trial in range(trials):
            audit = tmp_path / f"audit-{trial}.jsonl"
            env = {
                **os.environ,
                "ALTEGIO_PARTNER_TOKEN": DEMO_PARTNER_TOKEN,
                "ALTEGIO_USER_TOKEN": DEMO_USER_TOKEN,
                "ALTEGIO_BASE_URL": f"{base}/api/v1",
                "ALTEGIO_LOCATION_ID": str(LOCATION),
                "ALTEGIO_TOOLSETS": "all",
                "ALTEGIO_AUDIT": "true",
                "ALTEGIO_AUDIT_LOG": str(audit),
                "ALTEGIO_RATE_PER_SECOND": "1000",
                "ALTEGIO_RATE_PER_MINUTE": "100000",
            }
            server = subprocess.Popen(
                [PROGRAM, "serve"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env=env,
            )
            assert server.stdin is not None and server.stdout is not None
            server.stdin.write(
                _rpc(
                    "initialize",
                    {
                        "protocolVersion": "2025-11-25",
                        "capabilities": {},
                        "clientInfo": {"name": "t", "version": "1"},
                    },
                    0,
                )
            )
            server.stdin.flush()
            server.stdout.readline()  # the initialize answer: the server is up
            server.stdin.write(_rpc("notifications/initialized", {}))
            texts = [f"burst {trial}-{n}" for n in range(30)]
            for n, text in enumerate(texts, start=1):
                arguments = {"client_id": CLIENT, "text": text}
                server.stdin.write(
                    _rpc("tools/call", {"name": "add_client_comment", "arguments": arguments}, n)
                )
            server.stdin.flush()
            time.sleep(0.4 + 0.3 * trial)  # mid-burst, at a different point each trial
            server.send_signal(signal.SIGKILL)
            server.wait(timeout=10)
            server.stdin.close()
            server.stdout.close()
            landed = {t for t in _upstream_texts(base) if t.startswith(f"burst {trial}-")}
            journalled = (
                {str(w["arguments"].get("text")) for w in audited_writes(audit)} if audit.exists() else set()
            )
            assert landed <= journalled, f"writes with no intent line: {sorted(landed - journalled)}"
            landed_total += len(landed)
    finally:
        upstream.send_signal(signal.SIGTERM)
        upstream.wait(timeout=10)
    assert landed_total > 0, "no write landed before the kill: the test proved nothing"
    tally.add("audit.kill9_trials", trials)
    tally.add("audit.kill9_writes_landed", landed_total)
    tally.add("audit.kill9_writes_without_intent", 0)


async def test_a_write_cancelled_mid_flight_is_journalled_as_cancelled(tmp_path: Path) -> None:
    sandbox: Sandbox = create_sandbox(SandboxConfig(today=TODAY))
    audit = tmp_path / "audit.jsonl"
    async with serve_asgi(sandbox.app, lifespan="off") as base:
        settings = sandbox_settings(sandbox, audit=True, audit_log=audit, base_url=f"{base}/api/v1")
        server = build_server(settings, upstream=Upstream(settings, None, None, "sandbox", sandbox))
        sandbox.faults.script(kind="delay", seconds=1.0, method="POST", path_pattern=r"/comments$")
        async with Client(server.mcp) as client:
            with anyio.move_on_after(0.5):
                await client.call_tool(
                    "add_client_comment", {"client_id": CLIENT, "text": "cancelled mid-flight"}
                )
            await anyio.sleep(1.5)  # the upstream commits after the client gave up
    landed = [c for c in sandbox.state.client_comments_by_id.values() if c.text == "cancelled mid-flight"]
    writes = [w for w in audited_writes(audit) if w["tool"] == "add_client_comment"]
    assert len(landed) == 1
    assert len(writes) == 1 and writes[0]["outcome"].startswith("cancelled"), writes
