"""20,000 idle sockets against a real HTTP server process while a normal MCP client calls a tool.

Loopback only, bounded in count (two attacker processes of 10,000 sockets each) and in time (20 s
to open them, 30 s held). The server must stay up, serve every call of the normal client (the SDK's
streamable HTTP client, with the SDK's default 30 s timeout), close the idle sockets itself, and
keep its log (stdout and stderr) under 1 MB. Figures: benchmarks/idle_sockets.py.
"""

from __future__ import annotations

import resource
import sys
from pathlib import Path

import pytest

from altegio_mcp.serving import accept_backlog, connection_cap
from tests.flood import run_flood

pytestmark = pytest.mark.anyio

SOCKETS = 20_000


@pytest.mark.skipif(sys.platform != "linux", reason="127/8 source addresses and the fd limits are Linux's")
@pytest.mark.timeout(180)
async def test_idle_socket_flood_leaves_the_normal_client_served(tmp_path: Path) -> None:
    # Each attacker process opens at most its hard open-file limit (less a margin): on a machine
    # whose limit is below 10,000 the flood is as large as the limit allows.
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    per_process = SOCKETS // 2 if hard == resource.RLIM_INFINITY else min(SOCKETS // 2, hard - 64)
    result = await run_flood(tmp_path, sockets=SOCKETS, attackers=2, open_budget=20, hold=30)
    summary = result.summary()
    print(summary)  # noqa: T201 - the figures, shown with -s
    assert result.sockets_opened >= 0.75 * 2 * per_process, summary
    assert result.server_alive, result.log_tail
    assert result.call_errors == [], (result.call_errors, summary)
    assert result.calls_ok >= 10, summary
    assert result.closed_by_server >= result.sockets_opened // 2, summary  # the server let go of them
    assert result.guard_lines, "the guard reports what it closed"
    assert result.log_bytes < 1_000_000, result.log_tail
    assert "Traceback" not in result.log_tail


def test_the_cap_leaves_room_for_an_accept_burst_and_files() -> None:
    for fd_limit in (1024, 4096, 20_000, 1_048_576):
        backlog = accept_backlog(fd_limit)
        cap = connection_cap(8192, fd_limit, backlog)
        assert cap + backlog + 256 <= fd_limit
        assert cap >= 4 * backlog  # a real client's request is read before a burst can evict it
