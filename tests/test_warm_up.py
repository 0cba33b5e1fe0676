"""The served process loads what the first tool call needs in the background, just after the first
`tools/list`: the call that follows finds it ready, and a call racing the warm-up still works."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import anyio
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client

from tests.harness import text_of

pytestmark = pytest.mark.anyio

READY = "ready for the first tool call"


def server_env(tmp_path: Path) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
    }


async def test_stdio_server_warms_up_once_after_the_first_tools_list(tmp_path: Path) -> None:
    program = Path(sys.executable).with_name("altegio-mcp")
    params = StdioServerParameters(
        command=str(program), args=["serve", "--sandbox", "--log-level", "INFO"], env=server_env(tmp_path)
    )
    errlog = tmp_path / "stderr.log"
    with errlog.open("w") as err:
        async with Client(stdio_client(params, errlog=err)) as client:
            await client.list_tools()
            with anyio.fail_after(60):
                while READY not in errlog.read_text():  # noqa: ASYNC110 - a log file, not an event
                    await anyio.sleep(0.05)
            await client.list_tools()
            result = await client.call_tool("list_team_members", {})
            assert not result.is_error, text_of(result)
    assert errlog.read_text().count(READY) == 1


RACE = textwrap.dedent(
    """
    import json, sys
    import anyio
    from mcp import Client
    from altegio_mcp import server as server_module
    from altegio_mcp.cli import _parser, settings_from

    server_module.WARM_UP_DELAY = float(sys.argv[1])
    built = server_module.build_server(settings_from(_parser().parse_args(["serve", "--sandbox"])), warm_up=True)
    made = []
    make = built.upstream._make_sandbox
    built.upstream._make_sandbox = lambda: made.append(1) or make()

    async def main():
        async with Client(built.mcp) as client:
            await client.list_tools()
            results = {}

            async def call(name, arguments):
                results[name] = await client.call_tool(name, arguments)

            async with anyio.create_task_group() as tg:
                tg.start_soon(call, "list_team_members", {})
                tg.start_soon(call, "list_appointments", {"count": 3})
                tg.start_soon(call, "list_services", {})
            built.mcp._warming.join(60)
        print(json.dumps({
            "errors": [name for name, result in results.items() if result.is_error],
            "calls": len(results),
            "sandboxes": len(made),
            "warmed": not built.mcp._warming.is_alive(),
        }))

    anyio.run(main)
    """
)


@pytest.mark.parametrize("delay", [0.0, 0.02, 0.1])
def test_calls_racing_the_warm_up_in_a_fresh_process_all_work(delay: float, tmp_path: Path) -> None:
    """A fresh interpreter, so the warm-up and the calls really import the modules concurrently."""
    done = subprocess.run(
        [sys.executable, "-c", RACE, str(delay)],
        capture_output=True,
        text=True,
        env=server_env(tmp_path),
        check=True,
        timeout=120,
    )
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report == {"errors": [], "calls": 3, "sandboxes": 1, "warmed": True}, done.stderr[-2000:]
