"""HTTP auth answers, passthrough bearers checked with Altegio, and the opt-in stateful mode.

Over uvicorn on 127.0.0.1 against the embedded sandbox, with the SDK's streamable HTTP client.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from mcp.client.context import ClientRequestContext
from mcp.types import ElicitRequestParams, ElicitResult, ErrorData

from altegio_mcp.sandbox import NEW_YORK_LOCATION_ID, SECOND_USER_TOKEN
from tests.harness import text_of
from tests.test_http import ALICE, BOB, HEADERS, INIT, mcp_client, running_server

pytestmark = pytest.mark.anyio


class CountingTransport(httpx.AsyncBaseTransport):
    """Passes requests to the sandbox and remembers (path, Authorization) of each."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.seen: list[tuple[str, str]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append((request.url.path, request.headers.get("authorization", "")))
        return await self.inner.handle_async_request(request)

    def checks_with(self, user_token: str) -> int:
        """How many `GET /companies` requests carried this user token."""
        return sum(
            1 for path, auth in self.seen if path.endswith("/companies") and f"User {user_token}" in auth
        )


async def test_401_advertises_no_authorization_server() -> None:
    async with running_server() as base, httpx.AsyncClient(base_url=base) as http:
        anonymous = await http.post("/mcp", json=INIT, headers=HEADERS)
        wrong = await http.post("/mcp", json=INIT, headers={**HEADERS, "Authorization": "Bearer nope"})
        metadata = await http.get("/.well-known/oauth-protected-resource/mcp")
        server_metadata = await http.get("/.well-known/oauth-authorization-server")
    for answer in (anonymous, wrong):
        assert answer.status_code == 401
        challenge = answer.headers["www-authenticate"]
        assert challenge.startswith('Bearer error="invalid_token", error_description="')
        assert "resource_metadata" not in challenge
    assert metadata.status_code == 404
    assert server_metadata.status_code == 404


async def test_passthrough_bearer_is_checked_with_altegio_once_a_minute() -> None:
    counting: list[CountingTransport] = []

    def wrap(inner: httpx.AsyncBaseTransport) -> httpx.AsyncBaseTransport:
        counting.append(CountingTransport(inner))
        return counting[0]

    bogus = "not-a-real-user-token"
    async with running_server(http_auth="passthrough", http_keys=None, wrap_transport=wrap) as base:
        upstream = counting[0]
        async with httpx.AsyncClient(base_url=base) as http:
            for _ in range(3):
                refused = await http.post(
                    "/mcp", json=INIT, headers={**HEADERS, "Authorization": f"Bearer {bogus}"}
                )
                assert refused.status_code == 401
        assert upstream.checks_with(bogus) == 1  # asked once, the refusal is remembered
        with pytest.raises(Exception):  # noqa: B017 - the client surfaces the 401 as its own error type
            async with mcp_client(base, bogus) as stranger:
                await stranger.call_tool("whoami", {})
        assert upstream.checks_with(bogus) == 1
        assert not [
            p for p, auth in upstream.seen if f"User {bogus}" in auth and not p.endswith("/companies")
        ]

        async with mcp_client(base, SECOND_USER_TOKEN) as frontdesk:
            first = await frontdesk.call_tool("list_services", {"location_id": NEW_YORK_LOCATION_ID})
            second = await frontdesk.call_tool("list_services", {"location_id": NEW_YORK_LOCATION_ID})
        assert not first.is_error
        assert not second.is_error
        # One check (inside the minute) for the whole session, however many HTTP requests it made.
        assert upstream.checks_with(SECOND_USER_TOKEN) == 1
        for _path, auth in upstream.seen:
            assert bogus not in auth or auth.endswith(f"User {bogus}")


def answer_with(action: str, seen: list[str]) -> Any:
    async def callback(_ctx: ClientRequestContext, params: ElicitRequestParams) -> ElicitResult | ErrorData:
        seen.append(params.message)
        return ElicitResult(action=action, content={"confirm": True} if action == "accept" else None)  # type: ignore[arg-type]

    return callback


async def first_appointment(client: Any) -> int:
    listed = await client.call_tool(
        "list_appointments", {"start_date": "2026-11-30", "end_date": "2026-12-05"}
    )
    assert listed.structured_content is not None
    return int(listed.structured_content["items"][0]["id"])


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_stateful_http_gives_elicitation_clients_the_form(mode: str) -> None:
    """2025-11-25 (legacy) and 2026-07-28 (auto) clients that declare elicitation are asked live."""
    asked: list[str] = []
    async with (
        running_server(http_stateful=True) as base,
        mcp_client(base, ALICE, mode=mode, elicitation_callback=answer_with("accept", asked)) as alice,
    ):
        target = await first_appointment(alice)
        done = await alice.call_tool("delete_appointment", {"appointment_id": target})
        assert not done.is_error, text_of(done)
        gone = await alice.call_tool("get_appointment", {"appointment_id": target})
    assert len(asked) == 1
    assert str(target) in asked[0] or "appointment" in asked[0].lower()
    assert gone.is_error


async def test_stateful_http_decline_changes_nothing() -> None:
    asked: list[str] = []
    async with (
        running_server(http_stateful=True) as base,
        mcp_client(base, ALICE, mode="legacy", elicitation_callback=answer_with("decline", asked)) as alice,
    ):
        target = await first_appointment(alice)
        refused = await alice.call_tool("delete_appointment", {"appointment_id": target})
        still = await alice.call_tool("get_appointment", {"appointment_id": target})
    assert refused.is_error
    assert "nothing was changed" in text_of(refused)
    assert not still.is_error
    assert len(asked) == 1


@pytest.mark.parametrize(("mode", "form"), [("legacy", False), ("auto", True)])
async def test_stateless_http_form_only_for_2026_clients(mode: str, form: bool) -> None:
    """Stateless HTTP has no back-channel: 2025-11-25 clients get the token; 2026-07-28 get the form."""
    asked: list[str] = []
    async with (
        running_server() as base,
        mcp_client(base, ALICE, mode=mode, elicitation_callback=answer_with("accept", asked)) as alice,
    ):
        target = await first_appointment(alice)
        result = await alice.call_tool("delete_appointment", {"appointment_id": target})
    if form:
        assert not result.is_error, text_of(result)
        assert len(asked) == 1
    else:  # a confirmation request: a result that says it is not done yet, with the token
        assert text_of(result).startswith("Not done yet: needs the person's confirmation")
        assert re.search(r'confirmation_token="[^"]+"', text_of(result))
        assert asked == []


async def test_stateful_session_belongs_to_the_caller_who_opened_it() -> None:
    async with running_server(http_stateful=True) as base, httpx.AsyncClient(base_url=base) as http:
        opened = await http.post("/mcp", json=INIT, headers={**HEADERS, "Authorization": f"Bearer {ALICE}"})
        assert opened.status_code == 200
        session = opened.headers["mcp-session-id"]
        listing = {"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {}}
        as_bob = await http.post(
            "/mcp",
            json=listing,
            headers={
                **HEADERS,
                "Authorization": f"Bearer {BOB}",
                "Mcp-Session-Id": session,
                "Mcp-Protocol-Version": "2025-11-25",
            },
        )
    assert as_bob.status_code == 404
