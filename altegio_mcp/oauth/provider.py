"""The authorization server behind the SDK's OAuth routes (`mcp.server.auth`).

The SDK serves the endpoints and checks what the RFCs fix (PKCE S256 against the verifier, the
redirect URI at the token endpoint, client secrets, expiry); this provider decides the rest and
keeps everything in the state store (`records.py` lists the keys):

- registration accepts only https redirect URIs, loopback http ones and private-use schemes;
- `/authorize` parks the request and sends the browser to the sign-in page (`pages.py`), which
  turns it into a grant and an authorization code once the user signed in and consented;
- codes and refresh tokens are single use (`take`); a second presentation of either revokes the
  whole grant, since only a leak can explain it;
- access tokens are short-lived; the grant's idle lifetime restarts with every refresh;
- every access token carries what a request needs to act as the grant's Altegio user
  (`GrantAccess`), so no tool call touches the store again.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable
from urllib.parse import urlencode, urlsplit

from mcp.server.auth.provider import (
    AccessToken,
    AuthorizationCode,
    AuthorizationParams,
    AuthorizeError,
    OAuthAuthorizationServerProvider,
    RefreshToken,
    RegistrationError,
    TokenError,
    construct_redirect_uri,
)
from mcp.shared.auth import OAuthClientInformationFull, OAuthToken
from pydantic import AnyUrl, SecretStr

from altegio_mcp.oauth.keys import OAuthKeys, UndecryptableSecret
from altegio_mcp.oauth.records import (
    CodeRecord,
    Grant,
    LocationChoice,
    PendingSignIn,
    StoredClient,
    TokenRecord,
)
from altegio_mcp.state import StateStore

log = logging.getLogger(__name__)

SCOPE = "altegio"
PENDING_TTL = 15 * 60
CODE_TTL = 5 * 60
ACCESS_PREFIX = "amcp_at_"
REFRESH_PREFIX = "amcp_rt_"
SIGNIN_PATH = "/oauth/signin"
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}
FORBIDDEN_SCHEMES = {"javascript", "data", "file", "vbscript", "about", "blob"}


class GrantCode(AuthorizationCode):
    grant_id: str


class GrantRefresh(RefreshToken):
    grant_id: str


class GrantAccess(AccessToken):
    """A verified access token plus what a tool call needs to act for the grant's user."""

    grant_id: str
    client_name: str
    user_label: str
    user_login: str
    user_id: int | None = None
    user_token: SecretStr
    location_ids: list[int]


def redirect_uri_problem(uri: str) -> str | None:
    """Why a redirect URI cannot be registered, or None when it can."""
    parts = urlsplit(uri)
    scheme = parts.scheme.lower()
    if not scheme:
        return f"{uri} is not an absolute URI"
    if parts.fragment:
        return f"{uri} has a fragment"
    if scheme in FORBIDDEN_SCHEMES:
        return f"{scheme}: redirect URIs are not allowed"
    if scheme == "http" and (parts.hostname or "") not in LOOPBACK_HOSTS:
        return f"{uri} must use https (plain http only for 127.0.0.1, localhost or [::1])"
    if scheme in {"http", "https"} and not parts.hostname:
        return f"{uri} has no host"
    return None


def same_resource(a: str, b: str) -> bool:
    return a.rstrip("/") == b.rstrip("/")


class AltegioOAuthProvider(OAuthAuthorizationServerProvider[GrantCode, GrantRefresh, GrantAccess]):
    def __init__(
        self,
        store: StateStore,
        keys: OAuthKeys,
        *,
        base_url: str,
        access_ttl: int,
        refresh_ttl: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.keys = keys
        self.base_url = base_url.rstrip("/")
        self.resource = f"{self.base_url}/mcp"
        self.access_ttl = access_ttl
        self.refresh_ttl = refresh_ttl
        self.clock = clock

    # --- clients ------------------------------------------------------------------------------

    async def get_client(self, client_id: str) -> OAuthClientInformationFull | None:
        raw = await self.store.get(f"oauth:client:{client_id}")
        if raw is None:
            return None
        stored = StoredClient.model_validate_json(raw)
        info = dict(stored.info)
        if stored.secret is not None:
            try:
                info["client_secret"] = self.keys.decrypt(stored.secret, client_id)
            except UndecryptableSecret:
                log.warning(
                    "client %s: its secret no longer decrypts (ALTEGIO_OAUTH_SECRET changed?)", client_id
                )
                return None
        return OAuthClientInformationFull.model_validate(info)

    async def register_client(self, client_info: OAuthClientInformationFull) -> None:
        uris = [str(u) for u in client_info.redirect_uris or []]
        if not uris:
            raise RegistrationError("invalid_redirect_uri", "at least one redirect_uri is required")
        for uri in uris:
            problem = redirect_uri_problem(uri)
            if problem:
                raise RegistrationError("invalid_redirect_uri", problem)
        info = client_info.model_dump(mode="json", exclude_none=True)
        secret = info.pop("client_secret", None)
        stored = StoredClient(
            info=info,
            secret=self.keys.encrypt(secret, client_info.client_id) if isinstance(secret, str) else None,
        )
        await self.store.put(f"oauth:client:{client_info.client_id}", stored.model_dump_json().encode())
        log.info(
            "registered OAuth client %s (%s)", client_info.client_id, client_info.client_name or "no name"
        )

    # --- authorization ------------------------------------------------------------------------

    async def authorize(self, client: OAuthClientInformationFull, params: AuthorizationParams) -> str:
        if params.resource is not None and not same_resource(params.resource, self.resource):
            raise AuthorizeError("invalid_target", f"this server only issues tokens for {self.resource}")
        pending = PendingSignIn(
            id=secrets.token_urlsafe(24),
            client_id=client.client_id,
            client_name=(client.client_name or "").strip() or "An unnamed application",
            redirect_uri=str(params.redirect_uri),
            redirect_uri_provided_explicitly=params.redirect_uri_provided_explicitly,
            state=params.state,
            scopes=params.scopes or [SCOPE],
            code_challenge=params.code_challenge,
            resource=self.resource,
            expires_at=self.clock() + PENDING_TTL,
        )
        await self.save_pending(pending)
        return f"{self.base_url}{SIGNIN_PATH}?{urlencode({'request': pending.id})}"

    async def save_pending(self, pending: PendingSignIn) -> None:
        ttl = max(1.0, pending.expires_at - self.clock())
        await self.store.put(f"oauth:pending:{pending.id}", pending.model_dump_json().encode(), ttl=ttl)

    async def load_pending(self, pending_id: str) -> PendingSignIn | None:
        if not pending_id or len(pending_id) > 100:
            return None
        raw = await self.store.get(f"oauth:pending:{pending_id}")
        if raw is None:
            return None
        pending = PendingSignIn.model_validate_json(raw)
        return pending if pending.expires_at > self.clock() else None

    async def take_pending(self, pending_id: str) -> PendingSignIn | None:
        raw = await self.store.take(f"oauth:pending:{pending_id}")
        if raw is None:
            return None
        pending = PendingSignIn.model_validate_json(raw)
        return pending if pending.expires_at > self.clock() else None

    async def complete(self, pending: PendingSignIn, locations: list[LocationChoice]) -> str:
        """Turn a signed-in, consented request into a grant and a code; the redirect URL back."""
        if pending.user is None or pending.user_token is None:
            raise ValueError("the request has no signed-in user")
        grant_id = secrets.token_urlsafe(18)
        user_token = self.keys.decrypt(pending.user_token, pending.id)
        grant = Grant(
            id=grant_id,
            client_id=pending.client_id,
            client_name=pending.client_name,
            user=pending.user,
            user_token=self.keys.encrypt(user_token, grant_id),
            locations=locations,
            scopes=pending.scopes,
            resource=pending.resource,
            created_at=self.clock(),
        )
        await self.save_grant(grant)
        code = secrets.token_urlsafe(32)
        record = CodeRecord(
            grant_id=grant_id,
            client_id=pending.client_id,
            code_challenge=pending.code_challenge,
            redirect_uri=pending.redirect_uri,
            redirect_uri_provided_explicitly=pending.redirect_uri_provided_explicitly,
            scopes=pending.scopes,
            resource=pending.resource,
            expires_at=self.clock() + CODE_TTL,
        )
        await self.store.put(
            f"oauth:code:{self.keys.hash(code)}", record.model_dump_json().encode(), ttl=CODE_TTL
        )
        log.info(
            "grant %s: %s signed in for client %s, locations %s",
            grant_id[:8],
            grant.user.label(),
            pending.client_id,
            ",".join(str(loc.id) for loc in locations),
        )
        return redirect_with(pending.redirect_uri, code=code, state=pending.state)

    # --- grants -------------------------------------------------------------------------------

    async def save_grant(self, grant: Grant) -> None:
        await self.store.put(
            f"oauth:grant:{grant.id}", grant.model_dump_json().encode(), ttl=self.refresh_ttl
        )

    async def load_grant(self, grant_id: str) -> Grant | None:
        raw = await self.store.get(f"oauth:grant:{grant_id}")
        return Grant.model_validate_json(raw) if raw is not None else None

    async def revoke_grant(self, grant_id: str, why: str) -> None:
        await self.store.delete(f"oauth:grant:{grant_id}")
        log.warning("grant %s revoked: %s", grant_id[:8], why)

    # --- codes --------------------------------------------------------------------------------

    async def load_authorization_code(
        self, client: OAuthClientInformationFull, authorization_code: str
    ) -> GrantCode | None:
        digest = self.keys.hash(authorization_code)
        raw = await self.store.get(f"oauth:code:{digest}")
        if raw is None:
            used = await self.store.get(f"oauth:code-used:{digest}")
            if used is not None:
                await self.revoke_grant(used.decode(), "its authorization code was presented twice")
            return None
        record = CodeRecord.model_validate_json(raw)
        if record.client_id != client.client_id:
            return None
        return GrantCode(
            code=authorization_code,
            scopes=record.scopes,
            expires_at=record.expires_at,
            client_id=record.client_id,
            code_challenge=record.code_challenge,
            redirect_uri=AnyUrl(record.redirect_uri),
            redirect_uri_provided_explicitly=record.redirect_uri_provided_explicitly,
            resource=record.resource,
            grant_id=record.grant_id,
        )

    async def exchange_authorization_code(
        self, client: OAuthClientInformationFull, authorization_code: GrantCode
    ) -> OAuthToken:
        digest = self.keys.hash(authorization_code.code)
        if await self.store.take(f"oauth:code:{digest}") is None:
            raise TokenError("invalid_grant", "the authorization code was already used")
        await self.store.put(
            f"oauth:code-used:{digest}", authorization_code.grant_id.encode(), ttl=self.access_ttl
        )
        grant = await self.load_grant(authorization_code.grant_id)
        if grant is None:
            raise TokenError("invalid_grant", "the grant behind this code was revoked")
        return await self._issue(grant, client.client_id, authorization_code.scopes)

    # --- tokens -------------------------------------------------------------------------------

    async def _issue(self, grant: Grant, client_id: str, scopes: list[str]) -> OAuthToken:
        now = self.clock()
        access = ACCESS_PREFIX + secrets.token_urlsafe(32)
        refresh = REFRESH_PREFIX + secrets.token_urlsafe(32)
        resource = grant.resource or self.resource
        access_record = TokenRecord(
            grant_id=grant.id,
            client_id=client_id,
            scopes=scopes,
            resource=resource,
            expires_at=now + self.access_ttl,
        )
        refresh_record = access_record.model_copy(update={"expires_at": now + self.refresh_ttl})
        await self.store.put(
            f"oauth:access:{self.keys.hash(access)}",
            access_record.model_dump_json().encode(),
            ttl=self.access_ttl,
        )
        await self.store.put(
            f"oauth:refresh:{self.keys.hash(refresh)}",
            refresh_record.model_dump_json().encode(),
            ttl=self.refresh_ttl,
        )
        await self.save_grant(grant)  # restarts the grant's idle lifetime
        return OAuthToken(
            access_token=access,
            token_type="Bearer",  # noqa: S106 - the token type, not a secret
            expires_in=self.access_ttl,
            refresh_token=refresh,
            scope=" ".join(scopes),
        )

    async def load_refresh_token(
        self, client: OAuthClientInformationFull, refresh_token: str
    ) -> GrantRefresh | None:
        digest = self.keys.hash(refresh_token)
        raw = await self.store.get(f"oauth:refresh:{digest}")
        if raw is None:
            used = await self.store.get(f"oauth:refresh-used:{digest}")
            if used is not None:
                await self.revoke_grant(used.decode(), "a rotated refresh token was presented again")
            return None
        record = TokenRecord.model_validate_json(raw)
        if record.client_id != client.client_id or await self.load_grant(record.grant_id) is None:
            return None
        return GrantRefresh(
            token=refresh_token,
            client_id=record.client_id,
            scopes=record.scopes,
            expires_at=int(record.expires_at),
            resource=record.resource,
            grant_id=record.grant_id,
        )

    async def exchange_refresh_token(
        self, client: OAuthClientInformationFull, refresh_token: GrantRefresh, scopes: list[str]
    ) -> OAuthToken:
        digest = self.keys.hash(refresh_token.token)
        if await self.store.take(f"oauth:refresh:{digest}") is None:
            raise TokenError("invalid_grant", "the refresh token was already used")
        await self.store.put(
            f"oauth:refresh-used:{digest}", refresh_token.grant_id.encode(), ttl=self.refresh_ttl
        )
        grant = await self.load_grant(refresh_token.grant_id)
        if grant is None:
            raise TokenError("invalid_grant", "the grant was revoked; sign in again")
        return await self._issue(grant, client.client_id, scopes)

    async def load_access_token(self, token: str) -> GrantAccess | None:
        if not token or len(token) > 200:
            return None
        raw = await self.store.get(f"oauth:access:{self.keys.hash(token)}")
        if raw is None:
            return None
        record = TokenRecord.model_validate_json(raw)
        if record.expires_at <= self.clock():
            return None
        grant = await self.load_grant(record.grant_id)
        if grant is None:
            return None
        try:
            user_token = self.keys.decrypt(grant.user_token, grant.id)
        except UndecryptableSecret:
            log.warning("grant %s: its user token no longer decrypts", grant.id[:8])
            return None
        return GrantAccess(
            token=token,
            client_id=record.client_id,
            scopes=record.scopes,
            expires_at=int(record.expires_at),
            resource=record.resource,
            subject=str(grant.user.id) if grant.user.id is not None else grant.user.login,
            grant_id=grant.id,
            client_name=grant.client_name,
            user_label=grant.user.label(),
            user_login=grant.user.login,
            user_id=grant.user.id,
            user_token=SecretStr(user_token),
            location_ids=[loc.id for loc in grant.locations],
        )

    async def revoke_token(self, token: GrantAccess | GrantRefresh) -> None:
        await self.revoke_grant(token.grant_id, "revoked by the client")


def redirect_with(uri: str, **params: str | None) -> str:
    """`uri` with `params` added to its query (None values left out), keeping its own query."""
    return construct_redirect_uri(uri, **params)


__all__ = [
    "SCOPE",
    "AltegioOAuthProvider",
    "GrantAccess",
    "GrantCode",
    "GrantRefresh",
    "redirect_uri_problem",
]
