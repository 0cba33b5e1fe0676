"""OAuth mode over real HTTP (uvicorn on 127.0.0.1, sandbox upstream): metadata, the flow, and
every way it must refuse. The same flow in a real browser is in test_oauth_browser.py."""

from __future__ import annotations

import json
import logging
import re
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr, ValidationError

from altegio_mcp.audit import audited_writes
from altegio_mcp.operations import ALL_OPERATIONS
from altegio_mcp.sandbox import (
    DEMO_LOGIN,
    DEMO_PASSWORD,
    DEMO_USER_TOKEN,
    DUBAI_LOCATION_ID,
    LONDON_LOCATION_ID,
    NEW_YORK_LOCATION_ID,
    SECOND_LOGIN,
    SECOND_PASSWORD,
)
from altegio_mcp.settings import Settings
from tests.harness import text_of
from tests.oauth_support import OAUTH_SECRET, Flow, mcp_client, oauth_server, query_of

pytestmark = pytest.mark.anyio

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
MCP_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


async def mcp_status(http: httpx.AsyncClient, token: str) -> httpx.Response:
    return await http.post("/mcp", json=INIT, headers={**MCP_HEADERS, "Authorization": f"Bearer {token}"})


async def test_metadata_is_advertised_and_401_points_to_it(tmp_path: Path) -> None:
    async with oauth_server(tmp_path) as srv, httpx.AsyncClient(base_url=srv.base) as http:
        resource = (await http.get("/.well-known/oauth-protected-resource/mcp")).json()
        assert resource["resource"] == f"{srv.base}/mcp"
        assert resource["authorization_servers"] == [srv.base]
        meta = (await http.get("/.well-known/oauth-authorization-server")).json()
        assert meta["issuer"] == srv.base
        assert meta["code_challenge_methods_supported"] == ["S256"]
        assert meta["registration_endpoint"] == f"{srv.base}/register"
        assert meta["revocation_endpoint"] == f"{srv.base}/revoke"
        assert set(meta["grant_types_supported"]) >= {"authorization_code", "refresh_token"}
        anonymous = await http.post("/mcp", json=INIT, headers=MCP_HEADERS)
        assert anonymous.status_code == 401
        challenge = anonymous.headers["www-authenticate"]
        assert f'resource_metadata="{srv.base}/.well-known/oauth-protected-resource/mcp"' in challenge


async def test_signed_in_user_acts_only_at_the_chosen_locations(tmp_path: Path) -> None:
    async with oauth_server(tmp_path) as srv, httpx.AsyncClient(base_url=srv.base) as http:
        tokens = await Flow(http).tokens_for([LONDON_LOCATION_ID, DUBAI_LOCATION_ID])
        assert tokens["token_type"] == "Bearer"
        assert tokens["expires_in"] == srv.settings.oauth_access_ttl
        async with mcp_client(srv.base, tokens["access_token"]) as client:
            who = text_of(await client.call_tool("whoami", {}))
            assert "Dana Demo" in who and "Test Chat" in who
            assert "#1002" in who or "#1003" in who
            listed = await client.call_tool("list_locations", {})
            assert listed.structured_content is not None
            ids = {item["id"] for item in listed.structured_content["items"]}
            assert ids == {LONDON_LOCATION_ID, DUBAI_LOCATION_ID}
            ok = await client.call_tool("list_services", {"location_id": LONDON_LOCATION_ID})
            assert not ok.is_error, text_of(ok)
            before = len(srv.sandbox.requests)
            refused = await client.call_tool("list_services", {"location_id": NEW_YORK_LOCATION_ID})
            assert refused.is_error
            assert f"location {NEW_YORK_LOCATION_ID} is not covered by this sign-in" in text_of(refused)
            assert len(srv.sandbox.requests) == before  # refused before anything was sent
            # The server's default (New York) is outside the grant, and two locations are granted:
            # a call without location_id must name one.
            no_default = await client.call_tool("list_services", {})
            assert no_default.is_error and "location_id is required" in text_of(no_default)
            partner = await client.call_tool(
                "list_partner_appointments", {"location_id": NEW_YORK_LOCATION_ID}
            )
            assert partner.is_error and "not covered" in text_of(partner)


async def test_visits_of_other_locations_are_refused(tmp_path: Path) -> None:
    async with oauth_server(tmp_path) as srv, httpx.AsyncClient(base_url=srv.base) as http:
        tokens = await Flow(http).tokens_for([NEW_YORK_LOCATION_ID])
        appointments = srv.sandbox.state.appointments_by_id.values()
        london = next(a for a in appointments if a.location_id == LONDON_LOCATION_ID and a.visit_id)
        home = next(a for a in appointments if a.location_id == NEW_YORK_LOCATION_ID and a.visit_id)
        async with mcp_client(srv.base, tokens["access_token"]) as client:
            mine = await client.call_tool("get_visit", {"visit_id": home.visit_id})
            assert not mine.is_error, text_of(mine)
            for tool, arguments in (
                ("get_visit", {"visit_id": london.visit_id}),
                ("get_visit_receipt", {"visit_id": london.visit_id}),
                (
                    "update_visit",
                    {"visit_id": london.visit_id, "appointment_id": london.id, "comment": "x"},
                ),
            ):
                refused = await client.call_tool(tool, arguments)
                assert refused.is_error, tool
                assert f"location {LONDON_LOCATION_ID} is not covered" in text_of(refused), tool
        assert not [r for r in srv.sandbox.requests if r.method != "GET" and "/visits/" in r.path]


async def test_a_grant_of_one_location_makes_it_the_default(tmp_path: Path) -> None:
    async with oauth_server(tmp_path, location_id=None) as srv, httpx.AsyncClient(base_url=srv.base) as http:
        tokens = await Flow(http).tokens_for([LONDON_LOCATION_ID])
        async with mcp_client(srv.base, tokens["access_token"]) as client:
            result = await client.call_tool("list_services", {})
            assert not result.is_error, text_of(result)
            assert f"/services/{LONDON_LOCATION_ID}" in srv.sandbox.requests[-1].path


async def test_confirmations_and_audit_name_the_grant_user_and_client(tmp_path: Path) -> None:
    audit_file = tmp_path / "audit.jsonl"
    async with (
        oauth_server(tmp_path, audit=True, audit_log=audit_file, confirm="token") as srv,
        httpx.AsyncClient(base_url=srv.base) as http,
    ):
        first = await Flow(http).tokens_for([NEW_YORK_LOCATION_ID])
        other_client = Flow(http)
        await other_client.register(client_name="Other Chat")
        second = await other_client.tokens_for([NEW_YORK_LOCATION_ID])
        async with mcp_client(srv.base, first["access_token"]) as client:
            free = await client.call_tool(
                "list_free_times", {"team_member_id": 2101, "service_ids": [4101], "date": "2026-11-27"}
            )
            assert free.structured_content is not None, text_of(free)
            slot = free.structured_content["items"][0]["datetime"]
            booked = await client.call_tool(
                "create_appointment",
                {"team_member_id": 2101, "service_ids": [4101], "client_id": 5002, "datetime": slot},
            )
            assert booked.structured_content is not None, text_of(booked)
            new_id = booked.structured_content["appointment"]["id"]
            preview = await client.call_tool("delete_appointment", {"appointment_id": new_id})
            found = re.search(r'confirmation_token="([^"]+)"', text_of(preview))
            assert found, text_of(preview)
        arguments = {"appointment_id": new_id, "confirmation_token": found.group(1)}
        async with mcp_client(srv.base, second["access_token"]) as client:
            stolen = await client.call_tool("delete_appointment", arguments)
            assert stolen.is_error and "another caller" in text_of(stolen)
        async with mcp_client(srv.base, first["access_token"]) as client:
            deleted = await client.call_tool("delete_appointment", arguments)
            assert not deleted.is_error, text_of(deleted)
    entries = audited_writes(audit_file)
    assert [(e["tool"], e["outcome"]) for e in entries] == [
        ("create_appointment", "done"),
        ("delete_appointment", "done"),
    ]
    for entry in entries:
        assert "Dana Demo" in entry["caller"] and DEMO_LOGIN in entry["caller"]
        assert "Test Chat" in entry["caller"] and first["access_token"] not in entry["caller"]


async def test_wrong_passwords_are_throttled_per_account(tmp_path: Path) -> None:
    async with oauth_server(tmp_path) as srv, httpx.AsyncClient(base_url=srv.base) as http:
        flow = Flow(http)
        await flow.register()
        await flow.authorize()
        await flow.signin_page()
        statuses = [(await flow.sign_in(password="wrong-password")).status_code for _ in range(6)]
        assert statuses == [401, 401, 401, 401, 401, 429]
        auth_calls = len(srv.sandbox.requests.find("POST", "/auth"))
        right = await flow.sign_in()
        assert right.status_code == 429
        assert "Too many failed sign-ins" in right.text
        assert int(right.headers["retry-after"]) > 0
        assert len(srv.sandbox.requests.find("POST", "/auth")) == auth_calls  # Altegio not asked
        # Another account from the same address is not locked by the first one's failures.
        other = await flow.sign_in(login=SECOND_LOGIN, password=SECOND_PASSWORD)
        assert other.status_code == 303


async def test_failures_across_accounts_are_throttled_per_address(tmp_path: Path) -> None:
    async with oauth_server(tmp_path) as srv, httpx.AsyncClient(base_url=srv.base) as http:
        flow = Flow(http)
        await flow.register()
        await flow.authorize()
        await flow.signin_page()
        statuses = [
            (await flow.sign_in(login=f"nobody{n}@example.test", password="x")).status_code for n in range(21)
        ]
        assert statuses[:20] == [401] * 20
        assert statuses[20] == 429
        assert (await flow.sign_in()).status_code == 429
        assert srv.sandbox is not None


async def test_pkce_redirect_uri_and_code_replay_are_refused(tmp_path: Path) -> None:
    async with oauth_server(tmp_path) as srv, httpx.AsyncClient(base_url=srv.base) as http:
        flow = Flow(http)
        await flow.register()
        # An unregistered redirect URI gets an error page, never a redirect to it.
        res = await flow.authorize(redirect_uri="http://127.0.0.1:9/elsewhere")
        assert res.status_code == 400 and "not registered" in res.text
        # Only S256.
        res = await flow.authorize(code_challenge_method="plain")
        assert res.status_code == 302 and "/oauth/signin" not in res.headers["location"]
        assert query_of(res.headers["location"])["error"] == "invalid_request"
        # A token for another resource is not issued.
        res = await flow.authorize(resource="https://other.example/mcp")
        assert query_of(res.headers["location"])["error"] == "invalid_target"

        code = await flow.code_for([NEW_YORK_LOCATION_ID])
        wrong_verifier = await flow.exchange(code, verifier="x" * 50)
        assert wrong_verifier.status_code == 400
        assert wrong_verifier.json()["error"] == "invalid_grant"
        wrong_redirect = await flow.exchange(code, redirect_uri="http://127.0.0.1:9/other")
        assert wrong_redirect.status_code == 400
        good = await flow.exchange(code)
        assert good.status_code == 200, good.text
        access = good.json()["access_token"]
        assert (await mcp_status(http, access)).status_code == 200
        replay = await flow.exchange(code)
        assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
        # A replayed code means it leaked: the grant it produced is revoked.
        assert (await mcp_status(http, access)).status_code == 401


async def test_expired_access_token_gets_401_and_refresh_rotates(tmp_path: Path) -> None:
    async with oauth_server(tmp_path) as srv, httpx.AsyncClient(base_url=srv.base) as http:
        flow = Flow(http)
        tokens = await flow.tokens_for([NEW_YORK_LOCATION_ID])
        assert srv.built.oauth is not None
        provider = srv.built.oauth.provider
        provider.clock = lambda: time.time() + srv.settings.oauth_access_ttl + 5
        expired = await mcp_status(http, tokens["access_token"])
        assert expired.status_code == 401
        assert "resource_metadata=" in expired.headers["www-authenticate"]
        provider.clock = time.time
        refreshed = await flow.refresh(tokens["refresh_token"])
        assert refreshed.status_code == 200, refreshed.text
        fresh = refreshed.json()
        assert fresh["refresh_token"] != tokens["refresh_token"]
        assert (await mcp_status(http, fresh["access_token"])).status_code == 200
        # The rotated-out refresh token is dead, and presenting it again revokes the grant.
        reused = await flow.refresh(tokens["refresh_token"])
        assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"
        assert (await mcp_status(http, fresh["access_token"])).status_code == 401
        assert (await flow.refresh(fresh["refresh_token"])).status_code == 400


async def test_revoked_refresh_token_ends_the_grant(tmp_path: Path) -> None:
    async with oauth_server(tmp_path) as srv, httpx.AsyncClient(base_url=srv.base) as http:
        flow = Flow(http)
        tokens = await flow.tokens_for([NEW_YORK_LOCATION_ID])
        assert (await flow.revoke(tokens["refresh_token"])).status_code == 200
        refused = await flow.refresh(tokens["refresh_token"])
        assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"
        after = await mcp_status(http, tokens["access_token"])
        assert after.status_code == 401
        assert "resource_metadata=" in after.headers["www-authenticate"]
        assert srv.sandbox is not None


async def test_forms_without_the_csrf_token_or_browser_cookie_are_refused(tmp_path: Path) -> None:
    async with oauth_server(tmp_path) as srv, httpx.AsyncClient(base_url=srv.base) as http:
        flow = Flow(http)
        await flow.register()
        await flow.authorize()
        await flow.signin_page()
        form = {"request": flow.request_id, "login": DEMO_LOGIN, "password": DEMO_PASSWORD}
        missing = await http.post("/oauth/signin", data=form)
        assert missing.status_code == 403 and "could not be verified" in missing.text
        assert srv.sandbox.requests.find("POST", "/auth") == []
        async with httpx.AsyncClient(base_url=srv.base) as stranger:  # the token, but not the cookie
            no_cookie = await stranger.post("/oauth/signin", data={**form, "csrf": flow.csrf})
            assert no_cookie.status_code == 403
        assert (await flow.sign_in()).status_code == 303
        async with httpx.AsyncClient(base_url=srv.base) as stranger:  # someone else's signed-in request
            hijack = await stranger.get("/oauth/consent", params={"request": flow.request_id})
            assert hijack.status_code == 403
        await flow.consent_page()
        no_csrf = await http.post(
            "/oauth/consent",
            data={"request": flow.request_id, "decision": "allow", "location": str(NEW_YORK_LOCATION_ID)},
        )
        assert no_csrf.status_code == 403
        assert (await flow.consent([NEW_YORK_LOCATION_ID])).status_code == 303


async def test_consent_needs_offered_locations_and_deny_returns_access_denied(tmp_path: Path) -> None:
    async with oauth_server(tmp_path) as srv, httpx.AsyncClient(base_url=srv.base) as http:
        flow = Flow(http)
        await flow.register()
        await flow.authorize()
        await flow.signin_page()
        assert (await flow.sign_in(login=SECOND_LOGIN, password=SECOND_PASSWORD)).status_code == 303
        page = await flow.consent_page()
        assert "Allow Test Chat?" in page.text and "Destructive changes" in page.text
        assert "127.0.0.1:9" in page.text  # where the user will be sent back
        assert (await flow.consent([])).status_code == 400
        assert (await flow.consent([DUBAI_LOCATION_ID])).status_code == 400  # not this account's
        denied = await flow.consent([], decision="deny")
        assert denied.status_code == 303
        back = query_of(denied.headers["location"])
        assert back["error"] == "access_denied" and back["state"] == flow.state
        assert (await flow.consent_page()).status_code == 400  # the request is used up
        assert srv.sandbox is not None


async def test_registration_refuses_unsafe_redirect_uris(tmp_path: Path) -> None:
    async with oauth_server(tmp_path) as srv, httpx.AsyncClient(base_url=srv.base) as http:
        for uri in ("http://evil.example/cb", "javascript:alert(1)", "https://app.example/cb#frag"):
            res = await http.post("/register", json={"redirect_uris": [uri], "client_name": "x"})
            assert res.status_code == 400, uri
        ok = await http.post(
            "/register",
            json={"redirect_uris": ["https://claude.ai/api/mcp/auth_callback", "cursor://oauth/cb"]},
        )
        assert ok.status_code == 201, ok.text
        assert srv.sandbox is not None


async def test_store_holds_only_hashes_and_ciphertext_and_logs_no_password(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with oauth_server(tmp_path) as srv, httpx.AsyncClient(base_url=srv.base) as http:
        flow = Flow(http)
        info = await flow.register(token_endpoint_auth_method="client_secret_post")
        secret = info["client_secret"]
        code = await flow.code_for([NEW_YORK_LOCATION_ID])
        res = await http.post(
            "/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": flow.redirect_uri,
                "client_id": flow.client_id,
                "client_secret": secret,
                "code_verifier": flow.verifier,
            },
        )
        assert res.status_code == 200, res.text
        tokens = res.json()
        assert srv.built.oauth is not None
        stored = await srv.built.oauth.provider.store.scan("oauth:")
        assert {key.split(":")[1] for key, _ in stored} >= {
            "client",
            "grant",
            "access",
            "refresh",
            "code-used",
        }
        dump = "\n".join(key + " " + value.decode() for key, value in stored)
        for plain in (
            tokens["access_token"],
            tokens["refresh_token"],
            code,
            secret,
            DEMO_USER_TOKEN,
            DEMO_PASSWORD,
        ):
            assert plain not in dump
        grant = json.loads(next(v for k, v in stored if k.startswith("oauth:grant:")))
        assert grant["locations"] == [
            {"id": NEW_YORK_LOCATION_ID, "title": "Hudson Hair Studio", "city": "New York"}
        ]
        async with mcp_client(srv.base, tokens["access_token"]) as client:
            assert not (await client.call_tool("whoami", {})).is_error
    assert DEMO_PASSWORD not in caplog.text
    assert tokens["access_token"] not in caplog.text


def test_oauth_mode_needs_a_secret_and_a_public_url() -> None:
    with pytest.raises(ValidationError, match="ALTEGIO_OAUTH_SECRET"):
        Settings(http_auth="oauth", http_public_url="https://mcp.example.com")
    with pytest.raises(ValidationError, match="ALTEGIO_OAUTH_SECRET"):
        Settings(http_auth="oauth", http_public_url="https://x.example", oauth_secret=SecretStr("short"))
    with pytest.raises(ValidationError, match="ALTEGIO_HTTP_PUBLIC_URL"):
        Settings(http_auth="oauth", oauth_secret=SecretStr(OAUTH_SECRET))


# Tools whose arguments carry no location: each was checked to enforce a grant's locations itself
# (filtering lists, or checking the location of the visit it reads before using it).
LOCATION_FREE = {"whoami", "list_locations", "get_visit", "update_visit", "get_visit_receipt"}
# The api toolset: search and describe never contact Altegio; call_api_operation checks the location
# in the path or query, and refuses operations tied to no location under a location-limited grant.
LOCATION_FREE |= {"search_api_operations", "describe_api_operation", "call_api_operation"}


def test_every_tool_without_a_location_argument_is_reviewed() -> None:
    free: set[str] = set()
    for op in ALL_OPERATIONS:
        fields: dict[str, Any] = op.input_model.model_fields
        if "location_id" not in fields:
            free.add(op.name)
    assert free == LOCATION_FREE
