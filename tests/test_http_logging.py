"""In HTTP mode stdout stays empty: every log line, the access log included, goes to stderr."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.flood import KEY, free_port, server_process
from tests.processes import stop, wait_until_up

INIT = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "t", "version": "1"},
    },
}
HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


def serve_and_call(tmp_path: Path, env: dict[str, str]) -> tuple[str, str]:
    port = free_port()
    process, log_path = server_process(port, tmp_path, env, separate_stdout=True)
    try:
        wait_until_up(f"http://127.0.0.1:{port}/health", process, "the server")
        base = f"http://127.0.0.1:{port}"
        assert httpx.post(f"{base}/mcp", json=INIT, headers=HEADERS).status_code == 401
        ok = httpx.post(f"{base}/mcp", json=INIT, headers={**HEADERS, "Authorization": f"Bearer {KEY}"})
        assert ok.status_code == 200
    finally:
        stop(process)
    stderr = log_path.read_text(encoding="utf-8")
    stdout = log_path.with_suffix(".stdout").read_text(encoding="utf-8")
    return stdout, stderr


def test_access_log_is_off_by_default_and_goes_to_stderr_when_on(tmp_path: Path) -> None:
    stdout, stderr = serve_and_call(tmp_path, {"ALTEGIO_HTTP_ACCESS_LOG": "true"})
    assert stdout == ""
    assert '"POST /mcp HTTP/1.1" 401' in stderr
    assert '"POST /mcp HTTP/1.1" 200' in stderr
    quiet_stdout, quiet_stderr = serve_and_call(tmp_path, {})  # INFO level, no access log
    assert quiet_stdout == ""
    assert "POST /mcp" not in quiet_stderr
    assert "Uvicorn running" in quiet_stderr  # uvicorn's own lines still reach stderr
