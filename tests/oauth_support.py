"""An OAuth-mode HTTP server on 127.0.0.1 against the sandbox, and the flow driven with plain HTTP.

`oauth_server()` runs the real app under uvicorn (state in a temporary SQLite file);
`Flow` performs the client's side of the MCP authorization flow step by step (register,
authorize, sign-in form, consent form, token), so tests can break any single step.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import anyio
import httpx
import httpx2
import uvicorn
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from pydantic import SecretStr

from altegio_mcp.http import HttpApp, build_http_app
from altegio_mcp.sandbox import (
    DEMO_LOGIN,
    DEMO_PARTNER_TOKEN,
    DEMO_PASSWORD,
    NEW_YORK_LOCATION_ID,
    Sandbox,
    SandboxConfig,
    create_sandbox,
)
from altegio_mcp.server import SANDBOX_BASE_URL, Upstream
from altegio_mcp.settings import Settings
from altegio_mcp.state import open_store
from tests.harness import FAST, TODAY

OAUTH_SECRET = "test-oauth-secret-0123456789abcdef-0123456789"
REDIRECT = "http://127.0.0.1:9/callback"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class OAuthServer:
    base: str
    built: HttpApp
    sandbox: Sandbox
    settings: Settings


@asynccontextmanager
async def oauth_server(state_dir: Path, **overrides: Any) -> AsyncIterator[OAuthServer]:
    port = free_port()
    sandbox = create_sandbox(SandboxConfig(today=TODAY))
    values: dict[str, Any] = {
        "partner_token": SecretStr(DEMO_PARTNER_TOKEN),
        "base_url": SANDBOX_BASE_URL,
        "http_auth": "oauth",
        "oauth_secret": SecretStr(OAUTH_SECRET),
        "http_public_url": f"http://127.0.0.1:{port}",
        "http_port": port,
        "location_id": NEW_YORK_LOCATION_ID,
        "toolsets": ["all"],
        **FAST,
    }
    values.update(overrides)
    settings = Settings(**values)
    store = open_store(settings, path=state_dir / "state.sqlite3")
    built = build_http_app(
        settings, upstream=Upstream(settings, sandbox.transport(), None, "sandbox", sandbox), store=store
    )
    server = uvicorn.Server(
        uvicorn.Config(built.app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    async with anyio.create_task_group() as tg:
        tg.start_soon(server.serve)
        with anyio.fail_after(10):
            while not server.started:  # noqa: ASYNC110 - uvicorn exposes a flag, not an event
                await anyio.sleep(0.01)
        try:
            yield OAuthServer(f"http://127.0.0.1:{port}", built, sandbox, settings)
        finally:
            server.should_exit = True
            await store.aclose()


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    return verifier, challenge


def hidden(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found, f"no hidden field {name} in the page"
    return found.group(1)


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


@dataclass
class Flow:
    """The client's side of the authorization flow, over one cookie-keeping HTTP client."""

    http: httpx.AsyncClient
    redirect_uri: str = REDIRECT
    client_id: str = ""
    verifier: str = ""
    challenge: str = ""
    state: str = field(default_factory=lambda: secrets.token_urlsafe(12))
    request_id: str = ""
    csrf: str = ""

    async def register(self, **extra: Any) -> dict[str, Any]:
        body = {
            "redirect_uris": [self.redirect_uri],
            "client_name": "Test Chat",
            "token_endpoint_auth_method": "none",
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            **extra,
        }
        res = await self.http.post("/register", json=body)
        assert res.status_code == 201, res.text
        info: dict[str, Any] = res.json()
        self.client_id = info["client_id"]
        return info

    def authorize_params(self, **extra: str) -> dict[str, str]:
        self.verifier, self.challenge = pkce_pair()
        params = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "code_challenge": self.challenge,
            "code_challenge_method": "S256",
            "state": self.state,
            "resource": f"{self.http.base_url}".rstrip("/") + "/mcp",
        }
        params.update(extra)
        return params

    async def authorize(self, **extra: str) -> httpx.Response:
        res = await self.http.get("/authorize", params=self.authorize_params(**extra))
        if res.status_code == 302 and "/oauth/signin" in res.headers["location"]:
            self.request_id = query_of(res.headers["location"])["request"]
        return res

    async def signin_page(self) -> httpx.Response:
        res = await self.http.get("/oauth/signin", params={"request": self.request_id})
        if res.status_code == 200:
            self.csrf = hidden(res.text, "csrf")
        return res

    async def sign_in(self, login: str = DEMO_LOGIN, password: str = DEMO_PASSWORD) -> httpx.Response:
        form = {"request": self.request_id, "csrf": self.csrf, "login": login, "password": password}
        return await self.http.post("/oauth/signin", data=form)

    async def consent_page(self) -> httpx.Response:
        res = await self.http.get("/oauth/consent", params={"request": self.request_id})
        if res.status_code == 200:
            self.csrf = hidden(res.text, "csrf")
        return res

    async def consent(self, locations: list[int], decision: str = "allow") -> httpx.Response:
        form: list[tuple[str, str]] = [
            ("request", self.request_id),
            ("csrf", self.csrf),
            ("decision", decision),
            *[("location", str(loc)) for loc in locations],
        ]
        return await self.http.post(
            "/oauth/consent",
            content=urlencode(form),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )

    async def exchange(
        self, code: str, *, verifier: str | None = None, redirect_uri: str | None = None
    ) -> httpx.Response:
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri or self.redirect_uri,
            "client_id": self.client_id,
            "code_verifier": verifier or self.verifier,
        }
        return await self.http.post("/token", data=form)

    async def refresh(self, refresh_token: str) -> httpx.Response:
        form = {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": self.client_id}
        return await self.http.post("/token", data=form)

    async def revoke(self, token: str) -> httpx.Response:
        # The SDK's revocation form requires the client_secret field, empty for a public client.
        form = {"token": token, "client_id": self.client_id, "client_secret": ""}
        return await self.http.post("/revoke", data=form)

    async def code_for(self, locations: list[int], **signin: str) -> str:
        """Every step up to the code; returns it."""
        if not self.client_id:
            await self.register()
        res = await self.authorize()
        assert res.status_code == 302, res.text
        assert (await self.signin_page()).status_code == 200
        res = await self.sign_in(**signin)
        assert res.status_code == 303, res.text
        assert (await self.consent_page()).status_code == 200
        res = await self.consent(locations)
        assert res.status_code == 303, res.text
        back = query_of(res.headers["location"])
        assert back["state"] == self.state
        return back["code"]

    async def tokens_for(self, locations: list[int], **signin: str) -> dict[str, Any]:
        code = await self.code_for(locations, **signin)
        res = await self.exchange(code)
        assert res.status_code == 200, res.text
        tokens: dict[str, Any] = res.json()
        return tokens


@asynccontextmanager
async def mcp_client(base: str, token: str) -> AsyncIterator[Client]:
    """An MCP client over streamable HTTP carrying `Authorization: Bearer <token>`."""
    async with (
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=30) as http,
        Client(streamable_http_client(f"{base}/mcp", http_client=http)) as client,
    ):
        yield client
