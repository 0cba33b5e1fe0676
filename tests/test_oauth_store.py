"""Grants survive a restart and are shared by replicas: two providers over one SQLite file (as two
processes would be) see the same grants; with a different ALTEGIO_OAUTH_SECRET no token is found."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from mcp.shared.auth import OAuthClientInformationFull
from pydantic import AnyUrl

from altegio_mcp.oauth.keys import OAuthKeys
from altegio_mcp.oauth.provider import AltegioOAuthProvider
from altegio_mcp.oauth.records import AltegioUser, LocationChoice, PendingSignIn
from altegio_mcp.settings import Settings
from altegio_mcp.state import open_store
from tests.oauth_support import OAUTH_SECRET, pkce_pair, query_of

pytestmark = pytest.mark.anyio

BASE = "https://mcp.example.com"


def provider_on(path: Path, secret: str = OAUTH_SECRET) -> AltegioOAuthProvider:
    store = open_store(Settings(), path=path)
    return AltegioOAuthProvider(store, OAuthKeys(secret), base_url=BASE, access_ttl=600, refresh_ttl=3600)


async def test_a_grant_made_by_one_replica_works_on_another_and_not_with_another_secret(
    tmp_path: Path,
) -> None:
    path = tmp_path / "state.sqlite3"
    first, second, stranger = provider_on(path), provider_on(path), provider_on(path, "another-secret-" * 3)
    client = OAuthClientInformationFull(
        client_id="c1", redirect_uris=[AnyUrl("https://app.example/cb")], token_endpoint_auth_method="none"
    )
    await first.register_client(client)
    found = await second.get_client("c1")
    assert found is not None and found.redirect_uris == client.redirect_uris
    _, challenge = pkce_pair()
    pending = PendingSignIn(
        id="p1",
        client_id="c1",
        client_name="App",
        redirect_uri="https://app.example/cb",
        redirect_uri_provided_explicitly=True,
        state="s",
        scopes=["altegio"],
        code_challenge=challenge,
        resource=f"{BASE}/mcp",
        expires_at=time.time() + 60,
        user=AltegioUser(id=7, login="a@b.test", name="A"),
        user_token=first.keys.encrypt("user-token-xyz", "p1"),
        locations=[LocationChoice(id=1, title="One")],
    )
    code = query_of(await first.complete(pending, pending.locations))["code"]
    loaded = await second.load_authorization_code(client, code)
    assert loaded is not None
    tokens = await second.exchange_authorization_code(client, loaded)
    access = await first.load_access_token(tokens.access_token)
    assert access is not None
    assert access.user_token.get_secret_value() == "user-token-xyz"
    assert access.location_ids == [1] and access.resource == f"{BASE}/mcp"
    assert await stranger.load_access_token(tokens.access_token) is None
    for provider in (first, second, stranger):
        await provider.store.aclose()
