"""The confirmation gate: elicitation in both protocol eras, the token fallback, and the policies."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from mcp.client.context import ClientRequestContext
from mcp.types import ElicitRequestParams, ElicitResult, ErrorData

from altegio_mcp.confirm import ConfirmationTokens
from altegio_mcp.operations.base import Caller
from tests.conftest import FakeClock
from tests.harness import awaits_confirmation, mock_session, text_of

pytestmark = pytest.mark.anyio

APPOINTMENT = {
    "id": 5,
    "company_id": 1,
    "staff_id": 3,
    "staff": {"id": 3, "name": "Maria Lopez"},
    "client": {"id": 9, "name": "Anna Smith", "phone": "+15550001111"},
    "services": [{"id": 2, "title": "Haircut", "cost": 50}],
    "datetime": "2026-11-28T15:00:00-05:00",
    "seance_length": 3600,
    "attendance": 2,
}


class FakeAltegio:
    """Just enough of the API for delete_appointment: a location, one appointment, DELETE."""

    def __init__(self) -> None:
        self.deleted: list[str] = []
        self.exists = True

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/api/v1")
        if path == "/company/1":
            data = {"id": 1, "title": "Bloom Hair Studio", "timezone_name": "America/New_York"}
            return httpx.Response(200, json={"success": True, "data": data, "meta": []})
        if path == "/record/1/5" and self.exists:
            if request.method == "GET":
                return httpx.Response(200, json={"success": True, "data": APPOINTMENT, "meta": []})
            if request.method == "DELETE":
                self.deleted.append(path)
                self.exists = False
                return httpx.Response(204)
        return httpx.Response(404, json={"success": False, "data": None, "meta": []})


def answer(action: str, confirm: bool | None = True) -> Any:
    async def callback(_ctx: ClientRequestContext, params: ElicitRequestParams) -> ElicitResult | ErrorData:
        answer.asked.append(params.message)  # type: ignore[attr-defined]
        content = {"confirm": confirm} if action == "accept" and confirm is not None else None
        return ElicitResult(action=action, content=content)  # type: ignore[arg-type]

    return callback


answer.asked = []  # type: ignore[attr-defined]


def token_in(text: str) -> str:
    match = re.search(r'confirmation_token="([^"]+)"', text)
    assert match, text
    return match.group(1)


ERAS = [pytest.param("auto", id="2026-07-28"), pytest.param("legacy", id="2025-11-25")]


@pytest.mark.parametrize("mode", ERAS)
async def test_elicitation_accept_deletes(mode: str) -> None:
    fake = FakeAltegio()
    answer.asked.clear()  # type: ignore[attr-defined]
    options = {"mode": mode, "elicitation_callback": answer("accept")}
    async with mock_session(fake, client_options=options) as s:
        result = await s.call("delete_appointment", {"appointment_id": 5})
    assert not result.is_error, text_of(result)
    assert fake.deleted == ["/record/1/5"]
    question = answer.asked[-1]  # type: ignore[attr-defined]
    assert "Anna Smith" in question and "Maria Lopez" in question and "15:00" in question
    assert "Bloom Hair Studio" in question
    assert result.structured_content is not None
    assert result.structured_content["deleted"] is True


@pytest.mark.parametrize("mode", ERAS)
@pytest.mark.parametrize(("action", "confirm"), [("decline", None), ("cancel", None), ("accept", False)])
async def test_elicitation_refusal_changes_nothing(mode: str, action: str, confirm: bool | None) -> None:
    fake = FakeAltegio()
    options = {"mode": mode, "elicitation_callback": answer(action, confirm)}
    async with mock_session(fake, client_options=options) as s:
        result = await s.call("delete_appointment", {"appointment_id": 5})
    assert result.is_error
    assert text_of(result).startswith("Not done: ")
    assert fake.deleted == []


async def test_elicitation_client_error_fails_closed() -> None:
    async def broken(_ctx: ClientRequestContext, _params: ElicitRequestParams) -> ElicitResult | ErrorData:
        return ErrorData(code=-32603, message="the UI crashed")

    fake = FakeAltegio()
    async with mock_session(fake, client_options={"mode": "legacy", "elicitation_callback": broken}) as s:
        result = await s.call("delete_appointment", {"appointment_id": 5})
    assert result.is_error
    assert text_of(result).startswith("Not done: ")
    assert fake.deleted == []


@pytest.mark.parametrize("mode", ERAS)
async def test_without_elicitation_the_token_path(mode: str) -> None:
    fake = FakeAltegio()
    async with mock_session(fake, client_options={"mode": mode}) as s:
        first = await s.call("delete_appointment", {"appointment_id": 5})
        assert awaits_confirmation(first)
        text = text_of(first)
        assert "Anna Smith" in text and "cannot be undone" in text
        assert fake.deleted == []
        second = await s.call(
            "delete_appointment", {"appointment_id": 5, "confirmation_token": token_in(text)}
        )
    assert not second.is_error, text_of(second)
    assert fake.deleted == ["/record/1/5"]


async def test_token_policy_skips_elicitation_even_when_supported() -> None:
    fake = FakeAltegio()
    answer.asked.clear()  # type: ignore[attr-defined]
    options = {"elicitation_callback": answer("accept")}
    async with mock_session(fake, client_options=options, confirm="token") as s:
        first = await s.call("delete_appointment", {"appointment_id": 5})
    assert awaits_confirmation(first) and "confirmation_token" in text_of(first)
    assert answer.asked == []  # type: ignore[attr-defined]
    assert fake.deleted == []


async def test_never_ask_runs_at_once() -> None:
    fake = FakeAltegio()
    async with mock_session(fake, confirm="never-ask", allow_unconfirmed=True) as s:
        result = await s.call("delete_appointment", {"appointment_id": 5})
    assert not result.is_error
    assert fake.deleted == ["/record/1/5"]


async def test_token_replay_is_refused() -> None:
    fake = FakeAltegio()
    async with mock_session(fake) as s:
        token = token_in(text_of(await s.call("delete_appointment", {"appointment_id": 5})))
        assert not (
            await s.call("delete_appointment", {"appointment_id": 5, "confirmation_token": token})
        ).is_error
        fake.exists = True
        replay = await s.call("delete_appointment", {"appointment_id": 5, "confirmation_token": token})
    assert replay.is_error and "already used" in text_of(replay)
    assert fake.deleted == ["/record/1/5"]


async def test_token_for_other_arguments_is_refused() -> None:
    fake = FakeAltegio()
    async with mock_session(fake) as s:
        token = token_in(text_of(await s.call("delete_appointment", {"appointment_id": 5})))
        other = await s.call("delete_appointment", {"appointment_id": 6, "confirmation_token": token})
        other_tool = await s.call(
            "delete_appointment", {"appointment_id": 5, "location_id": 2, "confirmation_token": token}
        )
    assert other.is_error and "different arguments" in text_of(other)
    assert other_tool.is_error and "different arguments" in text_of(other_tool)
    assert fake.deleted == []


async def test_expired_token_is_refused(clock: FakeClock) -> None:
    fake = FakeAltegio()
    async with mock_session(fake) as s:
        s.server.runtime.tokens = ConfirmationTokens(b"k" * 32, ttl_seconds=60, clock=clock)
        token = token_in(text_of(await s.call("delete_appointment", {"appointment_id": 5})))
        clock.now += 61
        late = await s.call("delete_appointment", {"appointment_id": 5, "confirmation_token": token})
    assert late.is_error and "expired" in text_of(late)
    assert fake.deleted == []


async def test_token_for_another_caller_is_refused() -> None:
    fake = FakeAltegio()
    callers = {"now": "alice"}

    def current() -> Caller:
        from pydantic import SecretStr

        from altegio_mcp.client import AltegioAuth

        return Caller(
            label=callers["now"], auth=AltegioAuth(SecretStr("p"), SecretStr("u")), key_id=callers["now"]
        )

    async with mock_session(fake, server_options={"current_caller": current}) as s:
        token = token_in(text_of(await s.call("delete_appointment", {"appointment_id": 5})))
        callers["now"] = "bob"
        stolen = await s.call("delete_appointment", {"appointment_id": 5, "confirmation_token": token})
    assert stolen.is_error and "another caller" in text_of(stolen)
    assert fake.deleted == []


async def test_forged_or_malformed_token_is_refused() -> None:
    fake = FakeAltegio()
    async with mock_session(fake) as s:
        token = token_in(text_of(await s.call("delete_appointment", {"appointment_id": 5})))
        forged = token[:-4] + ("0000" if not token.endswith("0000") else "1111")
        bad = await s.call("delete_appointment", {"appointment_id": 5, "confirmation_token": forged})
        junk = await s.call("delete_appointment", {"appointment_id": 5, "confirmation_token": "yes please"})
    assert bad.is_error and "not issued" in text_of(bad)
    assert junk.is_error and "malformed" in text_of(junk)
    assert fake.deleted == []


async def test_preview_of_missing_target_is_a_clear_error() -> None:
    fake = FakeAltegio()
    fake.exists = False
    async with mock_session(fake) as s:
        result = await s.call("delete_appointment", {"appointment_id": 5})
    assert result.is_error
    assert "No appointment 5 at location 1: call list_appointments" in text_of(result)
