"""OAuth 2.1 sign-in with an Altegio account, for the HTTP mode (`ALTEGIO_HTTP_AUTH=oauth`).

Chat apps that add remote MCP servers by URL run the MCP authorization flow; this package is the
authorization server they talk to, on the SDK's auth support (`mcp.server.auth`):

- `provider.py`: clients, authorization codes (PKCE S256), rotating refresh tokens, revocation,
  all kept in the state store with bearer values hashed;
- `pages.py`: the sign-in page (Altegio login and password → `POST /auth` with the partner token)
  and the consent page (what the client may do, which locations it covers);
- `keys.py`: keys derived from `ALTEGIO_OAUTH_SECRET` (encryption of user tokens, token hashes,
  CSRF).

Each MCP request then acts as its grant's Altegio user, limited to the grant's locations
(`grant_caller`). `cryptography` is needed (the `oauth` extra).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import httpx
from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.auth.settings import AuthSettings, ClientRegistrationOptions, RevocationOptions
from mcp.server.mcpserver.exceptions import ToolError

from altegio_mcp.client import AltegioAuth
from altegio_mcp.oauth.keys import OAuthKeys
from altegio_mcp.oauth.pages import SignInPages, open_client_for
from altegio_mcp.oauth.provider import SCOPE, AltegioOAuthProvider, GrantAccess
from altegio_mcp.operations.base import Caller
from altegio_mcp.settings import Settings
from altegio_mcp.state import StateStore


@dataclass(slots=True)
class OAuthSetup:
    provider: AltegioOAuthProvider
    pages: SignInPages
    auth: AuthSettings


def build_oauth(
    settings: Settings, store: StateStore, *, base_url: str, transport: httpx.AsyncBaseTransport | None
) -> OAuthSetup:
    if settings.oauth_secret is None:  # pragma: no cover - Settings refuses oauth mode without it
        raise ValueError("ALTEGIO_OAUTH_SECRET is required in OAuth mode")
    keys = OAuthKeys(settings.oauth_secret.get_secret_value())
    base = base_url.rstrip("/")
    provider = AltegioOAuthProvider(
        store,
        keys,
        base_url=base,
        access_ttl=settings.oauth_access_ttl,
        refresh_ttl=settings.oauth_refresh_ttl,
    )
    pages = SignInPages(provider, keys, settings, open_client_for(settings, transport))
    auth = AuthSettings.model_validate(
        {
            # Strings, so a path-less issuer keeps its exact form (no trailing slash): RFC 8414
            # compares issuers as strings.
            "issuer_url": base,
            "resource_server_url": provider.resource,
            "required_scopes": [SCOPE],
            "client_registration_options": ClientRegistrationOptions(
                enabled=True, valid_scopes=[SCOPE], default_scopes=[SCOPE]
            ),
            "revocation_options": RevocationOptions(enabled=True),
            # Tokens are bound to this server's /mcp URL (RFC 8707) and checked against it.
            "validate_token_resource": True,
        }
    )
    return OAuthSetup(provider=provider, pages=pages, auth=auth)


def grant_caller(settings: Settings) -> Callable[[], Caller]:
    """The `current_caller` in OAuth mode: the grant's Altegio user, limited to its locations."""

    def current() -> Caller:
        access = get_access_token()
        if not isinstance(access, GrantAccess):
            raise ToolError("this request is not authenticated")
        user = f"Altegio user {access.user_id}" if access.user_id is not None else access.user_login
        return Caller(
            label=f"{access.user_label} via {access.client_name} (client {access.client_id})",
            auth=AltegioAuth(settings.partner_token, access.user_token),
            key_id=f"{user} / client {access.client_id}",
            login=access.user_login,
            token_source=f"OAuth sign-in for {access.client_name} (grant {access.grant_id[:8]})",
            locations=frozenset(access.location_ids),
        )

    return current


__all__ = ["OAuthSetup", "build_oauth", "grant_caller"]
