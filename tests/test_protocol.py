"""Protocol-level answers: JSON-RPC error codes for a caller's mistakes, with no traceback logged."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from typing import Any

import pytest
from mcp import MCPError
from mcp.types import INVALID_PARAMS, INVALID_REQUEST, PARSE_ERROR

from tests.harness import sandbox_session

pytestmark = pytest.mark.anyio

INIT_PARAMS = {
    "protocolVersion": "2025-11-25",
    "capabilities": {},
    "clientInfo": {"name": "t", "version": "1"},
}


def serve_stdio(stdin: str) -> tuple[list[dict[str, Any]], str]:
    """`serve --sandbox` fed `stdin` whole: every JSON-RPC line it wrote, and its stderr."""
    done = subprocess.run(
        [sys.executable, "-m", "altegio_mcp", "serve", "--sandbox"],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip()], done.stderr


async def test_prompt_mistakes_answer_invalid_params_without_a_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    async with sandbox_session() as s:
        with pytest.raises(MCPError) as unknown:
            await s.client.get_prompt("no_such_prompt", {})
        with pytest.raises(MCPError) as missing:
            await s.client.get_prompt("book_appointment", {"service": "haircut"})
        with pytest.raises(MCPError) as empty:
            await s.client.get_prompt("book_appointment", {"client": "", "service": "haircut"})
        fine = await s.client.get_prompt("book_appointment", {"client": "Anna", "service": "haircut"})
    assert unknown.value.code == INVALID_PARAMS
    assert "no_such_prompt" in unknown.value.message
    assert "book_appointment" in unknown.value.message  # names the prompts that exist
    assert missing.value.code == INVALID_PARAMS
    assert "client" in missing.value.message
    assert empty.value.code == INVALID_PARAMS
    assert fine.messages
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


def test_stdio_answers_unreadable_lines_instead_of_hanging() -> None:
    """A bad line gets -32700 (not JSON) or -32600 (not JSON-RPC), and the session goes on."""
    lines = [
        "this is not json",
        json.dumps({"jsonrpc": "2.0", "id": 3, "method": 5}),
        json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": INIT_PARAMS}),
    ]
    answers, stderr = serve_stdio("\n".join(lines) + "\n")
    by_id = {answer.get("id"): answer for answer in answers}
    assert len(answers) == 3, answers
    assert by_id[None]["error"]["code"] == PARSE_ERROR
    assert by_id[3]["error"]["code"] == INVALID_REQUEST
    assert by_id[1]["result"]["serverInfo"]["name"] == "altegio-mcp"
    assert "Traceback" not in stderr


def test_stdio_pipes_carry_long_lines_and_keep_stray_output_off_the_wire() -> None:
    """The thread-free stdio transport: a 300 KB request line is read whole and answered, a line
    with no newline at the end of input is still read, and stdout carries JSON-RPC lines only."""
    long_text = "x" * 300_000
    lines = [
        json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": INIT_PARAMS}),
        json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        json.dumps(
            {
                "jsonrpc": "2.0",
                "id": 2,
                "method": "tools/call",
                "params": {"name": "search_clients", "arguments": {"query": long_text}},
            }
        ),
        json.dumps({"jsonrpc": "2.0", "id": 3, "method": "tools/list"}),
    ]
    answers, stderr = serve_stdio("\n".join(lines))  # no newline after the last line
    by_id = {answer.get("id"): answer for answer in answers}
    assert set(by_id) == {1, 2, 3}, str(answers)[:500]
    assert by_id[2]["result"]["isError"] is True  # far too long for a search: refused, naming the field
    assert "query" in by_id[2]["result"]["content"][0]["text"]
    assert any(tool["name"] == "search_clients" for tool in by_id[3]["result"]["tools"])
    assert "Traceback" not in stderr
