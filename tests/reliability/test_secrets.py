"""Secrets: the canary partner/user tokens and the canary password never come back out.

An upstream that echoes everything it received (the Authorization header, the request body) in
its error messages and exception texts answers a scripted session of reads, writes and failures.
The canaries must not appear in any tool result (text, structured, meta), any log record at DEBUG
(message and traceback), the audit trail, or what `altegio-mcp login` prints.
"""

from __future__ import annotations

import io
import json
import logging
import os
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp.types import CallToolResult

from altegio_mcp import cli
from tests.conftest import CANARY_PARTNER, CANARY_PASSWORD, CANARY_USER
from tests.harness import mock_session, text_of
from tests.reliability.conftest import SESSION_SETTINGS, FakeTime, Tally

pytestmark = pytest.mark.anyio

CANARIES = (CANARY_PARTNER, CANARY_USER, CANARY_PASSWORD)
LOCATION = {"id": 1, "title": "Canary Salon", "timezone_name": "America/New_York"}
APPOINTMENT: dict[str, Any] = {
    "id": 5,
    "company_id": 1,
    "staff_id": 3,
    "staff": {"id": 3, "name": "Maria Lopez"},
    "client": {"id": 9, "name": "Anna Smith", "phone": "+15550001111"},
    "services": [{"id": 2, "title": "Haircut", "cost": 50}],
    "datetime": "2026-11-30T15:00:00-05:00",
    "seance_length": 3600,
    "attendance": 0,
    "api_id": "k",
}
FAILURES = (
    "401",
    "403",
    "404",
    "409",
    "422",
    "429",
    "500",
    "503",
    "timeout",
    "connect",
    "success_false",
    "malformed",
)


def ok(data: Any, status: int = 200) -> httpx.Response:
    return httpx.Response(status, json={"success": True, "data": data, "meta": {"total_count": 1}})


class EchoingAltegio:
    """Answers like Altegio; when told to fail, echoes the request's headers and body back verbatim."""

    def __init__(self) -> None:
        self.mode = "ok"

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/api/v1")
        if path == "/company/1":
            return ok(LOCATION)
        if self.mode != "ok":
            return self.fail(request)
        if path == "/client/1/9":
            return ok({"id": 9, "name": "Anna Smith", "phone": "+15550001111"})
        if path == "/records/1" and request.method == "GET":
            return ok([APPOINTMENT])
        if path == "/records/1" and request.method == "POST":
            return ok(APPOINTMENT, 201)
        if path == "/record/1/5" and request.method == "GET":
            return ok(APPOINTMENT)
        if path == "/record/1/5" and request.method == "DELETE":
            return httpx.Response(204)
        if path.startswith("/company/1/services") or path.startswith("/services/1"):
            return ok([{"id": 2, "title": "Haircut", "staff": [{"id": 3, "seance_length": 3600}]}])
        return httpx.Response(404, json={"success": False, "data": None, "meta": {"message": "Not found"}})

    def fail(self, request: httpx.Request) -> httpx.Response:
        auth = request.headers.get("authorization", "")
        echo = f"rejected Authorization={auth!r} body={request.content.decode(errors='replace')!r}"
        if self.mode == "timeout":
            raise httpx.ReadTimeout(echo, request=request)
        if self.mode == "connect":
            raise httpx.ConnectError(echo, request=request)
        if self.mode == "malformed":
            return httpx.Response(200, content=echo.encode(), headers={"content-type": "application/json"})
        body = {
            "success": False,
            "data": None,
            "meta": {"message": echo, "errors": {auth: [echo], "token": auth}},
        }
        if self.mode == "success_false":
            return httpx.Response(200, json=body)
        status = int(self.mode)
        headers = {"Retry-After": "1", "X-Echo": auth} if status in {429, 503} else {"X-Echo": auth}
        return httpx.Response(status, json=body, headers=headers)


def surfaces_of(result: CallToolResult) -> list[str]:
    return [text_of(result), json.dumps(result.structured_content), repr(result), json.dumps(result.meta)]


def leaks_in(texts: list[str]) -> list[str]:
    return [f"{canary} in {text[:300]!r}" for text in texts for canary in CANARIES if canary in text]


def log_texts(caplog: pytest.LogCaptureFixture) -> list[str]:
    formatter = logging.Formatter()
    texts: list[str] = []
    for record in caplog.records:
        texts.append(record.getMessage())
        if record.exc_info:
            texts.append(formatter.formatException(record.exc_info))
    return texts


async def test_a_scripted_session_never_shows_a_canary(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, fake_time: FakeTime, tally: Tally
) -> None:
    caplog.set_level(logging.DEBUG)
    upstream = EchoingAltegio()
    audit = tmp_path / "audit.jsonl"
    texts: list[str] = []
    calls: list[tuple[str, dict[str, Any]]] = [
        ("list_appointments", {}),
        ("get_appointment", {"appointment_id": 5}),
        (
            "create_appointment",
            {"team_member_id": 3, "service_ids": [2], "datetime": "2026-11-30T15:00:00", "client_id": 9},
        ),
        ("delete_appointment", {"appointment_id": 5}),
    ]
    settings = {**SESSION_SETTINGS, "audit": True, "audit_log": audit, "location_id": 1}
    async with mock_session(upstream, **settings) as session:
        for mode in ("ok", *FAILURES):
            upstream.mode = mode
            for tool, args in calls:
                result = await session.call(tool, args)
                texts += surfaces_of(result)
                if mode != "ok":
                    assert result.is_error, (mode, tool, text_of(result))
                tally.add("secrets.calls")
        texts.append(repr(session.server.runtime.client.stats))
        texts.append(repr(session.server.runtime.settings))
    texts += log_texts(caplog)
    assert audit.exists()
    texts.append(audit.read_text(encoding="utf-8"))
    leaks = leaks_in(texts)
    tally.add("secrets.canaries_leaked", len(leaks))
    tally.add("secrets.surfaces_checked", len(texts))
    assert leaks == []
    assert "[redacted]" in "\n".join(texts), "the echoing upstream should have been redacted, not silent"


def login_transport(outcome: str) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        sent = request.content.decode()
        auth = request.headers.get("authorization", "")
        if outcome == "ok":
            user = {
                "id": 77,
                "user_token": CANARY_USER,
                "name": "Canary Manager",
                "login": "canary@example.com",
            }
            return httpx.Response(201, json={"success": True, "data": user, "meta": []})
        message = f"Login failed for body {sent} with {auth}"
        status = {"wrong": 401, "invalid": 422, "broken": 500}[outcome]
        return httpx.Response(status, json={"success": False, "data": None, "meta": {"message": message}})

    return httpx.MockTransport(handler)


@pytest.mark.parametrize("outcome", ["ok", "wrong", "invalid", "broken"])
def test_login_never_prints_the_password_or_tokens(
    outcome: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, tally: Tally
) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("ALTEGIO_BASE_URL", "https://api.example.test/api/v1")
    monkeypatch.setenv("ALTEGIO_MAX_RETRIES", "0")
    out = io.StringIO()
    code = cli.cmd_login(
        cli._parser().parse_args(["login"]),  # pyright: ignore[reportPrivateUsage]
        out,
        transport=login_transport(outcome),
        ask=lambda _prompt: "canary@example.com",
        ask_secret=lambda prompt: CANARY_PARTNER if "Partner" in prompt else CANARY_PASSWORD,
    )
    assert code == (0 if outcome == "ok" else 1), out.getvalue()
    texts = [out.getvalue(), *log_texts(caplog)]
    stored = Path(os.environ["ALTEGIO_CONFIG_DIR"]) / "credentials.json"
    if outcome == "ok":
        assert CANARY_USER in stored.read_text()  # stored, privately: the one place it belongs
        assert CANARY_PASSWORD not in stored.read_text()
    else:
        assert "Login failed" in out.getvalue()
        assert not stored.exists()
    leaks = leaks_in(texts)
    tally.add("secrets.canaries_leaked", len(leaks))
    tally.add("secrets.login_cases")
    assert leaks == []
