"""Streamable HTTP: the same server for many callers, each acting as their own Altegio user.

Every request must carry `Authorization: Bearer <key>`. In `keys` mode the server maps the key to
that caller's Altegio user token (from `ALTEGIO_HTTP_KEYS` or a keys file); in `passthrough` mode
the bearer *is* the caller's Altegio user token, and it is first checked with Altegio (one cheap
read, the verdict remembered for a minute under the token's hash), so a stranger's made-up bearer
gets a 401 instead of reaching the tools; in `oauth` mode the bearer is an access token this server
issued after the user signed in with their Altegio account (`altegio_mcp.oauth`). The partner token
never leaves the server.

Auth uses the SDK's own seam (`TokenVerifier` + `AuthSettings`; tools read `get_access_token()`),
so an unauthenticated request gets a 401 before any tool runs. In `keys` and `passthrough` modes the
401 is a plain `WWW-Authenticate: Bearer error=...` challenge: there is no authorization server, so
no protected-resource metadata is published that would send clients to one (`auth_settings`); in
`oauth` mode the SDK publishes the metadata of this server's own authorization server.

By default the app is stateless with JSON answers (replicas can sit behind any load balancer).
`ALTEGIO_HTTP_STATEFUL` turns on sessions and SSE streams, which give 2025-11-25 clients the live
confirmation form (elicitation needs a back-channel to the client); sessions live in the process,
so replicas then need sticky routing on `Mcp-Session-Id`. The app binds 127.0.0.1 by default and
checks Host/Origin against DNS rebinding. How the socket is served (timeouts, connection cap):
`altegio_mcp.serving`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlsplit

from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.auth.provider import AccessToken, TokenVerifier
from mcp.server.auth.settings import AuthSettings
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.request_state import RequestStateSecurity
from mcp.server.transport_security import TransportSecuritySettings
from pydantic import AnyHttpUrl, JsonValue, SecretStr
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse

from altegio_mcp import __version__
from altegio_mcp.client import AltegioAuth
from altegio_mcp.errors import AltegioError, AuthenticationFailed, PermissionDenied
from altegio_mcp.operations.base import Caller
from altegio_mcp.runtime import Runtime
from altegio_mcp.server import AltegioServer, Upstream, build_server, resolve_upstream
from altegio_mcp.settings import Settings
from altegio_mcp.state import StateStore, open_store

if TYPE_CHECKING:
    from altegio_mcp.oauth import OAuthSetup

log = logging.getLogger(__name__)

SCOPE = "altegio"
MAX_BODY_BYTES = 1_000_000
VERDICT_SECONDS = 60.0
VERDICT_CACHE_SIZE = 10_000


def _fingerprint(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class CallerKey:
    """One HTTP caller: who they are (a label) and which Altegio user token they act with."""

    key_id: str
    label: str
    user_token: SecretStr


class CallerKeys:
    """Bearer keys → callers. Keys are held only as SHA-256 fingerprints.

    A bearer is found by its fingerprint in a dict: the lookup's timing can tell an attacker at
    most something about the SHA-256 of a guess, never about a key (that would need preimages), so
    one hash and one lookup per request, whatever the number of callers.
    """

    def __init__(self, entries: list[tuple[str, str, SecretStr]]) -> None:
        self._by_fingerprint: dict[str, CallerKey] = {}
        for key, label, token in entries:
            fingerprint = key if key.startswith("sha256:") else "sha256:" + _fingerprint(key)
            self._by_fingerprint[fingerprint] = CallerKey(fingerprint[7:19], label, token)
        self._by_id = {entry.key_id: entry for entry in self._by_fingerprint.values()}

    def __len__(self) -> int:
        return len(self._by_fingerprint)

    def find(self, bearer: str) -> CallerKey | None:
        return self._by_fingerprint.get("sha256:" + _fingerprint(bearer))

    def by_id(self, key_id: str) -> CallerKey | None:
        return self._by_id.get(key_id)

    @classmethod
    def from_settings(cls, settings: Settings) -> CallerKeys:
        """`ALTEGIO_HTTP_KEYS="key=user_token,key2=user_token2"` and/or the JSON keys file."""
        entries: list[tuple[str, str, SecretStr]] = []
        if settings.http_keys is not None:
            for n, pair in enumerate(settings.http_keys.get_secret_value().split(","), start=1):
                key, sep, token = pair.strip().partition("=")
                if not sep or not key or not token:
                    raise ValueError("ALTEGIO_HTTP_KEYS must look like key=user_token,key2=user_token2")
                entries.append((key, f"caller {n}", SecretStr(token)))
        if settings.http_keys_file is not None:
            entries += _read_keys_file(settings.http_keys_file)
        return cls(entries)


def _read_keys_file(path: Path) -> list[tuple[str, str, SecretStr]]:
    """`{"callers": [{"key" | "key_sha256": ..., "label": ..., "user_token": ...}]}`."""
    data = cast(dict[str, Any], json.loads(path.read_text(encoding="utf-8")))
    entries: list[tuple[str, str, SecretStr]] = []
    for n, raw in enumerate(cast(list[dict[str, Any]], data.get("callers", [])), start=1):
        key = raw.get("key") or (f"sha256:{raw['key_sha256']}" if raw.get("key_sha256") else None)
        token = raw.get("user_token")
        if not isinstance(key, str) or not isinstance(token, str):
            raise ValueError(f"{path}: caller {n} needs `key` (or `key_sha256`) and `user_token`")
        entries.append((key, str(raw.get("label") or f"caller {n}"), SecretStr(token)))
    return entries


class UserTokenCheck:
    """Is a passthrough bearer a working Altegio user token?

    Asks Altegio with it once: `GET /companies?my=1`, the user's own locations, the cheapest read
    that needs a user token (the same one `whoami` and `doctor` make). The verdict, yes or no, is
    remembered for `ttl` seconds under the token's SHA-256, never the token itself, so a caller's
    session costs one check a minute and a rejected bearer is not re-tried on every request. When
    Altegio cannot answer (outage, rate limit), the request is refused and nothing is remembered.
    """

    def __init__(
        self,
        runtime: Runtime,
        partner_token: SecretStr | None,
        *,
        ttl: float = VERDICT_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._runtime = runtime
        self._partner = partner_token
        self._ttl = ttl
        self._clock = clock
        self._verdicts: OrderedDict[str, tuple[bool, float]] = OrderedDict()
        self._quiet_until = float("-inf")

    async def __call__(self, token: str) -> bool:
        key = _fingerprint(token)
        now = self._clock()
        cached = self._verdicts.get(key)
        if cached is not None and cached[1] > now:
            return cached[0]
        verdict = await self._ask(token)
        if verdict is None:
            return False
        self._verdicts[key] = (verdict, now + self._ttl)
        self._verdicts.move_to_end(key)
        while len(self._verdicts) > VERDICT_CACHE_SIZE:
            self._verdicts.popitem(last=False)
        return verdict

    async def _ask(self, token: str) -> bool | None:
        try:
            await self._runtime.client.request(
                "GET",
                "/companies",
                list[dict[str, JsonValue]],
                params={"my": 1},
                auth=AltegioAuth(self._partner, SecretStr(token)),
            )
        except (AuthenticationFailed, PermissionDenied):
            return False
        except AltegioError as exc:
            now = self._clock()
            if now >= self._quiet_until:  # one line a minute during an outage, not one per request
                self._quiet_until = now + self._ttl
                log.warning("could not check a passthrough bearer with Altegio: %s", exc.model_message())
            return None
        return True


class KeyVerifier(TokenVerifier):
    """Accepts a bearer that is a configured key or, in passthrough mode, a user token Altegio accepts.

    `check` (passthrough only) is set once the server's runtime exists; until then, and whenever
    it is missing, passthrough bearers are refused.
    """

    def __init__(self, keys: CallerKeys, passthrough: bool) -> None:
        self.keys = keys
        self.passthrough = passthrough
        self.check: Callable[[str], Awaitable[bool]] | None = None

    async def verify_token(self, token: str) -> AccessToken | None:
        if not token or len(token) > 512:
            return None
        if self.passthrough:
            if self.check is None or not await self.check(token):
                return None
            return AccessToken(token=token, client_id="user-" + _fingerprint(token)[:12], scopes=[SCOPE])
        entry = self.keys.find(token)
        if entry is None:
            return None
        return AccessToken(token=entry.key_id, client_id=entry.key_id, scopes=[SCOPE])


def caller_resolver(settings: Settings, keys: CallerKeys) -> Callable[[], Caller]:
    """The `current_caller` for HTTP: the authenticated caller of the request being served."""

    def current() -> Caller:
        access = get_access_token()
        if access is None:
            raise ToolError("this request is not authenticated")
        if settings.http_auth == "passthrough":
            return Caller(
                label=f"Altegio user {access.client_id}",
                auth=AltegioAuth(settings.partner_token, SecretStr(access.token)),
                key_id=access.client_id,
                token_source="caller's bearer (passthrough)",  # noqa: S106 - a description
            )
        entry = keys.by_id(access.client_id)
        if entry is None:
            raise ToolError("this caller's key is no longer configured")
        return Caller(
            label=entry.label,
            auth=AltegioAuth(settings.partner_token, entry.user_token),
            key_id=entry.key_id,
            token_source=f"key {entry.key_id}",
        )

    return current


def security_for(settings: Settings, port: int) -> TransportSecuritySettings:
    """Host/Origin allow-lists: loopback on the bound port, plus the public URL and extras."""
    hosts = [f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}"]
    origins = [f"http://127.0.0.1:{port}", f"http://localhost:{port}"]
    if settings.http_host not in {"127.0.0.1", "localhost", "::1", "0.0.0.0", "::"}:  # noqa: S104
        hosts.append(f"{settings.http_host}:{port}")
    if settings.http_public_url:
        parts = urlsplit(settings.http_public_url)
        if parts.netloc:
            hosts += [parts.netloc, parts.hostname or parts.netloc]
            origins.append(f"{parts.scheme}://{parts.netloc}")
    hosts += settings.http_allowed_hosts
    origins += settings.http_allowed_origins
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True, allowed_hosts=hosts, allowed_origins=origins
    )


def auth_settings(base: str, *, advertise_resource_metadata: bool = False) -> AuthSettings:
    """The SDK's auth settings for this server's bearer keys.

    With no `resource_server_url`, the SDK's 401 is a plain
    `Bearer error="invalid_token", error_description="..."` and no
    `/.well-known/oauth-protected-resource` route exists: this server runs no authorization server,
    and pointing clients at one makes them start a login that cannot work. A mode that does run
    OAuth passes `advertise_resource_metadata=True` (the metadata then names `base` as the issuer).
    """
    return AuthSettings(
        issuer_url=AnyHttpUrl(base),
        resource_server_url=AnyHttpUrl(f"{base}/mcp") if advertise_resource_metadata else None,
        required_scopes=[SCOPE],
        # Keys are issued by this server for this server only; there is no audience to check.
        validate_token_resource=False,
    )


def request_state_security(settings: Settings) -> RequestStateSecurity | None:
    """A key for the sealed state of 2026-07-28 round trips (the confirmation form), shared by replicas.

    The SDK seals that state with a per-process key by default, so behind a load balancer the
    client's retry, landing on another replica, fails with "Invalid or expired requestState". With
    `ALTEGIO_CONFIRM_SECRET` set (already needed for confirmation tokens across replicas), every
    replica derives the same key from it; otherwise the SDK's per-process key stays.
    """
    if settings.confirm_secret is None:
        return None
    secret = settings.confirm_secret.get_secret_value().encode()
    return RequestStateSecurity(keys=[hashlib.sha256(b"altegio-mcp/request-state\0" + secret).digest()])


@dataclass(slots=True)
class HttpApp:
    app: Starlette
    server: AltegioServer
    keys: CallerKeys
    oauth: OAuthSetup | None = None


def build_http_app(
    settings: Settings,
    *,
    upstream: Upstream | None = None,
    port: int | None = None,
    store: StateStore | None = None,
) -> HttpApp:
    """The Starlette app serving `/mcp` (authenticated) and `/health` (not); in OAuth mode also the
    authorization server (metadata, registration, authorize, token, revoke) and its sign-in pages."""
    port = settings.http_port if port is None else port
    upstream = upstream or resolve_upstream(settings)
    settings = upstream.settings
    keys = CallerKeys.from_settings(settings)
    mode = settings.http_auth
    if mode == "keys" and len(keys) == 0:
        raise ValueError(
            "HTTP needs caller keys: set ALTEGIO_HTTP_KEYS=key=user_token (or ALTEGIO_HTTP_KEYS_FILE), "
            "ALTEGIO_HTTP_AUTH=passthrough to take each caller's bearer as their Altegio user token, "
            "or ALTEGIO_HTTP_AUTH=oauth to let users sign in with their Altegio account"
        )
    if settings.partner_token is None:
        raise ValueError("HTTP mode needs ALTEGIO_PARTNER_TOKEN on the server")
    base = (settings.http_public_url or f"http://{settings.http_host}:{port}").rstrip("/")
    oauth: OAuthSetup | None = None
    verifier: KeyVerifier | None = None
    if mode == "oauth":
        try:
            from altegio_mcp.oauth import build_oauth, grant_caller
        except ImportError as exc:  # pragma: no cover - the `oauth` extra is missing
            raise ValueError(
                "ALTEGIO_HTTP_AUTH=oauth needs the `oauth` extra: pip install 'altegio-mcp[oauth]'"
            ) from exc

        oauth = build_oauth(
            settings, store or open_store(settings), base_url=base, transport=upstream.transport
        )
        current_caller = grant_caller(settings)
        options: dict[str, Any] = {"auth_server_provider": oauth.provider, "auth": oauth.auth}
    else:
        verifier = KeyVerifier(keys, mode == "passthrough")
        current_caller = caller_resolver(settings, keys)
        options = {"token_verifier": verifier, "auth": auth_settings(base)}
    # Applies in every mode: the 2026-07-28 confirmation form's round trip, across replicas.
    options["request_state_security"] = request_state_security(settings)
    server = build_server(
        settings, upstream=upstream, current_caller=current_caller, server_options=options, warm_up=True
    )
    if verifier is not None and verifier.passthrough:
        verifier.check = UserTokenCheck(server.runtime, settings.partner_token)

    @server.mcp.custom_route("/health", methods=["GET"])
    async def health(_request: Request) -> JSONResponse:  # pyright: ignore[reportUnusedFunction]
        return JSONResponse({"status": "ok", "version": __version__, "sandbox": settings.sandbox})

    if oauth is not None:
        for route in oauth.pages.routes():
            server.mcp.custom_route(route.path, methods=sorted(route.methods or []))(route.endpoint)

    stateful = settings.http_stateful
    app = server.mcp.streamable_http_app(
        stateless_http=not stateful,
        json_response=not stateful,
        transport_security=security_for(settings, port),
        max_request_body_size=MAX_BODY_BYTES,
        host=settings.http_host,
    )
    return HttpApp(app=app, server=server, keys=keys, oauth=oauth)


def workers_refusal(settings: Settings) -> str | None:
    """Why this configuration cannot run several worker processes, or None when it can."""
    from altegio_mcp.serving import workers_unsupported

    if settings.http_stateful:
        return (
            "ALTEGIO_HTTP_WORKERS above 1 needs stateless mode: sessions live in the process that "
            "opened them; run one stateful process per port behind sticky routing instead"
        )
    if settings.sandbox:
        return (
            "ALTEGIO_HTTP_WORKERS above 1 cannot use the in-process sandbox (each worker would hold its "
            "own demo data): run `altegio-mcp sandbox` and point ALTEGIO_BASE_URL at it"
        )
    return workers_unsupported()


def serve_http(settings: Settings) -> int:
    """Run until SIGINT/SIGTERM; uvicorn drains in-flight requests before exiting."""
    from altegio_mcp.serving import ServeOptions, WorkerPool, guarded_server

    workers = settings.http_workers
    if workers > 1:
        refusal = workers_refusal(settings)
        if refusal is not None:
            raise ValueError(refusal)
        if settings.confirm_secret is None:
            # One secret for every worker, made before the fork: a token issued by one worker is
            # checked by another, and so is the sealed state of the 2026-07-28 confirmation form.
            log.warning(
                "ALTEGIO_CONFIRM_SECRET is not set: the %d workers share a random one, so confirmation "
                "tokens do not outlive this server",
                workers,
            )
            settings = settings.model_copy(update={"confirm_secret": SecretStr(secrets.token_urlsafe(32))})
    built = build_http_app(settings)
    log.warning(
        "serving MCP over HTTP on http://%s:%s/mcp (%s callers, auth=%s, %s%s)",
        settings.http_host,
        settings.http_port,
        len(built.keys) if settings.http_auth == "keys" else "any",
        settings.http_auth,
        "stateful: sessions and SSE" if settings.http_stateful else "stateless",
        f", {workers} worker processes" if workers > 1 else "",
    )
    if built.oauth is not None:
        log.warning("connector URL for chat apps: %s", built.oauth.provider.resource)
    options = ServeOptions(
        host=settings.http_host,
        port=settings.http_port,
        header_timeout=settings.http_header_timeout,
        max_connections=settings.http_max_connections,
        access_log=settings.http_access_log,
        log_level=settings.log_level,
    )
    if workers > 1:
        pool = WorkerPool(
            workers,
            settings.http_host,
            settings.http_port,
            lambda sock: guarded_server(built.app, options).run(sockets=[sock]),
        )
        return pool.run()
    guarded_server(built.app, options).run()
    return 0
