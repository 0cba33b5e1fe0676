"""The whole OAuth flow in a real browser: Debian's Chromium, headless, driven by Playwright.

A client registers, sends the browser to `/authorize`; the browser fills in the sign-in page,
picks a location on the consent page and is redirected back with a code, which the client
exchanges; then the SDK's streamable HTTP client calls tools with the access token.

The browser is the system one (`/usr/bin/chromium`, or `BROWSER_TEST_CHROMIUM`); Playwright's own
browser download is never used. `scripts/test` installs Chromium and sets
`BROWSER_TEST=required`, which turns a missing browser into a failure instead of a skip.
Set `BROWSER_TEST_SCREENSHOTS=<dir>` to keep screenshots of the pages (outside the repository).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.auth import OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import (
    AuthorizationCodeResult,
    OAuthClientInformationFull,
    OAuthClientMetadata,
    OAuthToken,
)
from playwright.async_api import BrowserContext, Page, Route, async_playwright
from pydantic import AnyUrl

from altegio_mcp.sandbox import (
    DEMO_LOGIN,
    DEMO_PASSWORD,
    LONDON_LOCATION_ID,
    NEW_YORK_LOCATION_ID,
    SECOND_LOGIN,
    SECOND_PASSWORD,
)
from tests.harness import text_of
from tests.oauth_support import REDIRECT, Flow, mcp_client, oauth_server, query_of

pytestmark = pytest.mark.anyio

CHROMIUM = Path(os.environ.get("BROWSER_TEST_CHROMIUM", "/usr/bin/chromium"))
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _browser_or_skip() -> None:
    if CHROMIUM.exists():
        return
    message = f"no Chromium at {CHROMIUM} (scripts/test installs Debian's `chromium` package)"
    if os.environ.get("BROWSER_TEST") == "required":
        pytest.fail(message)
    pytest.skip(message)


@asynccontextmanager
async def browser_context() -> AsyncIterator[BrowserContext]:
    """A persistent context in a fresh, throw-away profile directory."""
    _browser_or_skip()
    with tempfile.TemporaryDirectory(prefix="altegio-chromium-") as profile:
        async with async_playwright() as pw:
            context = await pw.chromium.launch_persistent_context(
                profile, executable_path=str(CHROMIUM), headless=True, args=ARGS
            )
            try:
                yield context
            finally:
                await context.close()


async def shot(page: Page, name: str) -> None:
    """Playwright creates the folder; the screenshots stay outside the repository."""
    folder = os.environ.get("BROWSER_TEST_SCREENSHOTS")
    if folder:
        await page.screenshot(path=os.path.join(folder, f"{name}.png"), full_page=True)


async def test_sign_in_consent_and_tool_calls_in_a_real_browser(tmp_path: Path) -> None:
    async with (
        oauth_server(tmp_path) as srv,
        httpx.AsyncClient(base_url=srv.base) as http,
        browser_context() as context,
    ):
        flow = Flow(http)
        await flow.register(client_name="Salon Assistant")
        authorize_url = str(httpx.URL(f"{srv.base}/authorize", params=flow.authorize_params()))

        # The client app's redirect URI: the browser lands there with the code.
        landed: list[str] = []

        async def callback(route: Route) -> None:
            landed.append(route.request.url)
            await route.fulfill(status=200, content_type="text/html", body="<p>Connected.</p>")

        await context.route(f"{REDIRECT}**", callback)
        page = await context.new_page()

        await page.goto(authorize_url)
        assert await page.title() == "Sign in · Altegio"
        assert await page.get_by_role("heading", name="Sign in to Altegio").is_visible()
        assert "Salon Assistant" in await page.inner_text("main")
        await shot(page, "01-sign-in")

        # A wrong password first: the page says so and keeps the login.
        await page.get_by_label("Phone or email").fill(DEMO_LOGIN)
        await page.get_by_label("Password").fill("not-the-password")
        await page.get_by_role("button", name="Sign in").click()
        alert = page.get_by_role("alert")
        assert await alert.inner_text() == "Wrong login or password."
        assert await page.get_by_label("Phone or email").input_value() == DEMO_LOGIN
        await shot(page, "02-sign-in-error")

        await page.get_by_label("Password").fill(DEMO_PASSWORD)
        await page.get_by_role("button", name="Sign in").click()
        await page.wait_for_url("**/oauth/consent?**")
        assert await page.get_by_role("heading", name="Allow Salon Assistant?").is_visible()
        main = await page.inner_text("main")
        assert "Dana Demo" in main and "Destructive changes" in main
        await shot(page, "03-consent")

        # Allowing with no location chosen is refused with a message.
        await page.get_by_role("button", name="Allow").click()
        assert "Choose at least one" in await page.get_by_role("alert").inner_text()

        await page.get_by_role("checkbox", name="Hudson Hair Studio").check()
        await page.get_by_role("button", name="Allow").click()
        await page.wait_for_url(f"{REDIRECT}?**")
        assert await page.inner_text("body") == "Connected."
        assert landed == [page.url]
        back = query_of(page.url)
        assert back["state"] == flow.state

        exchanged = await flow.exchange(back["code"])
        assert exchanged.status_code == 200, exchanged.text
        tokens = exchanged.json()

        async with mcp_client(srv.base, tokens["access_token"]) as client:
            who = await client.call_tool("whoami", {})
            assert "Dana Demo" in text_of(who) and "Salon Assistant" in text_of(who)
            services = await client.call_tool("list_services", {"location_id": NEW_YORK_LOCATION_ID})
            assert not services.is_error, text_of(services)
            elsewhere = await client.call_tool("list_services", {"location_id": LONDON_LOCATION_ID})
            assert elsewhere.is_error and "not covered by this sign-in" in text_of(elsewhere)

        # The sign-in page cannot be framed, runs no scripts and is not cached.
        headers = (await http.get("/oauth/signin", params={"request": "expired"})).headers
        assert headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert "script-src" not in headers["content-security-policy"]  # default-src 'none' covers it
        assert headers["cache-control"] == "no-store"


class MemoryTokens:
    """The SDK client's token storage, in memory (a chat app keeps these in its own store)."""

    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client = client_info


async def test_the_sdk_oauth_client_connects_by_url_alone(tmp_path: Path) -> None:
    """What a chat app does with only the connector URL: the SDK's OAuth client discovers the
    metadata from the 401, registers, sends the browser to sign in, exchanges the code."""
    async with oauth_server(tmp_path) as srv, browser_context() as context:
        await context.route(
            f"{REDIRECT}**",
            lambda route: route.fulfill(status=200, content_type="text/html", body="<p>Connected.</p>"),
        )
        page = await context.new_page()
        returned: list[str] = []

        async def open_browser(url: str) -> None:
            await page.goto(url)
            await page.get_by_label("Phone or email").fill(SECOND_LOGIN)
            await page.get_by_label("Password").fill(SECOND_PASSWORD)
            await page.get_by_role("button", name="Sign in").click()
            await page.wait_for_url("**/oauth/consent?**")
            # The front-desk account manages one location: it is offered ticked.
            assert await page.get_by_role("checkbox").is_checked()
            await page.get_by_role("button", name="Allow").click()
            await page.wait_for_url(f"{REDIRECT}?**")
            returned.append(page.url)

        async def callback() -> AuthorizationCodeResult:
            back = query_of(returned[-1])
            return AuthorizationCodeResult(code=back["code"], state=back.get("state"))

        storage = MemoryTokens()
        auth = OAuthClientProvider(
            server_url=f"{srv.base}/mcp",
            client_metadata=OAuthClientMetadata(
                client_name="SDK Chat",
                redirect_uris=[AnyUrl(REDIRECT)],
                grant_types=["authorization_code", "refresh_token"],
                response_types=["code"],
                token_endpoint_auth_method="none",
            ),
            storage=storage,
            redirect_handler=open_browser,
            callback_handler=callback,
        )
        async with (
            httpx2.AsyncClient(auth=auth, timeout=30) as http,
            Client(streamable_http_client(f"{srv.base}/mcp", http_client=http)) as client,
        ):
            who = await client.call_tool("whoami", {})
            assert not who.is_error, text_of(who)
            assert "SDK Chat" in text_of(who)
            services = await client.call_tool("list_services", {})  # the grant's only location
            assert not services.is_error, text_of(services)
        assert len(returned) == 1
        assert storage.tokens is not None and storage.tokens.refresh_token
