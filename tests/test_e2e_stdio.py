"""End to end over stdio: the README's run command, spawned as a subprocess, books and reschedules.

The command is read from the README's Quick start block (the part after the install steps, which
the test run has already done), so the documented invocation is what is tested.
"""

from __future__ import annotations

import os
import re
import shlex
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, StdioServerParameters
from mcp.types import CallToolResult

from tests.harness import text_of

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parent.parent


def readme_commands() -> tuple[str, str]:
    """The README's two set-up commands: (install and run, install and test)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    quick = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```bash\n(.*?)\n```", quick, flags=re.S)
    assert len(blocks) == 2, "the Quick start must hold exactly two commands"
    return blocks[0].strip(), blocks[1].strip()


def run_argv() -> list[str]:
    run, _ = readme_commands()
    argv = shlex.split(run.split("&&")[-1].strip())
    program = ROOT / argv[0]
    if not program.exists():  # tests running from another environment: same script, this interpreter's
        program = Path(sys.executable).with_name(Path(argv[0]).name)
    return [str(program), *argv[1:]]


def test_readme_has_the_two_commands_and_ci_runs_the_test_one() -> None:
    run, test = readme_commands()
    assert run.endswith("altegio-mcp serve --sandbox")
    assert "pip install" in run
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert test in ci


def structured(result: CallToolResult) -> dict[str, Any]:
    assert not result.is_error, text_of(result)
    assert result.structured_content is not None
    return result.structured_content


async def test_readme_run_command_books_reschedules_and_lists(tmp_path: Path) -> None:
    argv = run_argv()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "ALTEGIO_CONFIG_DIR": str(tmp_path / "config"),
        "ALTEGIO_RATE_PER_SECOND": "1000",
        "ALTEGIO_RATE_PER_MINUTE": "100000",
    }
    params = StdioServerParameters(command=argv[0], args=argv[1:], cwd=str(ROOT), env=env)
    async with Client(params) as client:
        tools = {t.name for t in (await client.list_tools()).tools}
        assert {"create_appointment", "update_appointment", "list_free_times"} <= tools
        assert "SANDBOX" in (client.instructions or "")

        team = structured(await client.call_tool("list_team_members", {}))["items"]
        member = team[0]["id"]
        services = structured(await client.call_tool("list_services", {"team_member_id": member}))["items"]
        service = services[0]["id"]
        client_id = structured(await client.call_tool("search_clients", {}))["items"][0]["id"]

        start = date.today() + timedelta(days=1)
        dates = structured(
            await client.call_tool(
                "list_bookable_dates",
                {
                    "team_member_id": member,
                    "service_ids": [service],
                    "date_from": start.isoformat(),
                    "date_to": (start + timedelta(days=14)).isoformat(),
                },
            )
        )["bookable_dates"]
        day = dates[0]
        times = structured(
            await client.call_tool(
                "list_free_times", {"team_member_id": member, "service_ids": [service], "date": day}
            )
        )["items"]
        assert len(times) >= 2
        booked = structured(
            await client.call_tool(
                "create_appointment",
                {
                    "team_member_id": member,
                    "service_ids": [service],
                    "client_id": client_id,
                    "datetime": times[0]["datetime"],
                },
            )
        )["appointment"]
        assert booked["start"] == times[0]["datetime"]

        moved = structured(
            await client.call_tool(
                "update_appointment", {"appointment_id": booked["id"], "datetime": times[-1]["datetime"]}
            )
        )
        assert moved["changed"] == ["datetime"]
        assert moved["appointment"]["start"] == times[-1]["datetime"]

        listed = structured(
            await client.call_tool(
                "list_appointments",
                {"start_date": day, "end_date": day, "team_member_id": member, "count": 100},
            )
        )
        mine = [a for a in listed["items"] if a["id"] == booked["id"]]
        assert mine
        assert mine[0]["start"] == times[-1]["datetime"]
