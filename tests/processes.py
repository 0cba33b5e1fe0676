"""Server processes the tests start themselves: waiting for one to answer, and stopping it."""

from __future__ import annotations

import subprocess
import time

import httpx


def wait_until_up(url: str, process: subprocess.Popen[bytes], what: str) -> None:
    """Until `url` answers 200; fails at once if the process exits, or after 30 s."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not come up within 30 s")


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL after 15 s."""
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
