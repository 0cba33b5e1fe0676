"""`AltegioClient`: the only owner of `httpx.AsyncClient`, and the one place that speaks HTTP.

It builds the `Authorization` header (through `AltegioAuth`), sends the documented `Accept` and
`Content-Type` headers, unwraps Altegio's `{success, data, meta}` envelope, turns error answers into
the `errors` hierarchy, retries idempotent requests, and keeps every call under the client-side rate
limit. It knows nothing about MCP: `client.py` plus `operations/` are a usable async library.
"""

from __future__ import annotations

import json
import logging
import random
import ssl
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, Literal, Self, TypeVar, cast, overload

import anyio
import httpx
from pydantic import BaseModel, JsonValue, SecretStr, TypeAdapter, ValidationError
from pydantic.config import ExtraValues

from altegio_mcp import __version__
from altegio_mcp.errors import (
    AltegioError,
    APIStatusError,
    ConfigurationError,
    ConnectionFailed,
    MalformedResponse,
    NotDelivered,
    RequestTimedOut,
    Target,
    UnsuccessfulResponse,
    error_class_for,
)
from altegio_mcp.ratelimit import RateLimiter, SharedRateLimiter, fingerprint
from altegio_mcp.retry import RETRYABLE_STATUSES, is_idempotent, parse_retry_after, retry_delay
from altegio_mcp.settings import Settings
from altegio_mcp.state import StateStore
from altegio_mcp.text import clean_wire

log = logging.getLogger(__name__)

ACCEPT = "application/vnd.api.v2+json"
T = TypeVar("T")

PrimitiveData = str | int | float | bool | None
QueryValue = str | int | float | bool | None | list[str] | list[int]
Query = Mapping[str, QueryValue]
ApiVersion = Literal[1, 2]


def v2_base_url(v1_base_url: str) -> str:
    """Business Management v2 lives next to v1: `…/api/v1` → `…/api/v2`."""
    base = v1_base_url.rstrip("/")
    return base.removesuffix("/v1") + "/v2"


class AltegioAuth:
    """`Authorization: Bearer <partner>, User <user>`; the partner token alone when there is no user."""

    def __init__(self, partner_token: SecretStr | None, user_token: SecretStr | None = None) -> None:
        self._partner = partner_token
        self._user = user_token
        self._header: str | None = None
        self._caller: str | None = None

    @property
    def has_user(self) -> bool:
        return self._user is not None and bool(self._user.get_secret_value())

    def header_value(self) -> str:
        if self._header is not None:
            return self._header
        if self._partner is None or not self._partner.get_secret_value():
            raise ConfigurationError(
                "No Altegio partner token is configured: set ALTEGIO_PARTNER_TOKEN "
                "(or start the server with --sandbox to try it without credentials)."
            )
        value = f"Bearer {self._partner.get_secret_value()}"
        if self._user is not None and self._user.get_secret_value():
            value += f", User {self._user.get_secret_value()}"
        self._header = value
        return value

    @property
    def caller_key(self) -> str:
        """This caller's name in the shared rate budget: a fingerprint of its user token."""
        if self._caller is None:
            self._caller = fingerprint(self.user_secret() or "partner")
        return self._caller

    def user_secret(self) -> str | None:
        """The user token, for naming this caller's rate share (only ever hashed)."""
        return self._user.get_secret_value() if self.has_user and self._user is not None else None

    def secrets(self) -> list[str]:
        """The token values, for scrubbing them out of anything echoed back by the API."""
        return [t.get_secret_value() for t in (self._partner, self._user) if t is not None]

    def __repr__(self) -> str:
        partner = "set" if self._partner else "unset"
        return f"AltegioAuth(partner={partner}, user={'set' if self.has_user else 'unset'})"


@dataclass(frozen=True, slots=True)
class ApiResult(Generic[T]):
    """A successful answer: the validated `data`, the raw `meta` (pagination), the HTTP status."""

    data: T
    meta: dict[str, JsonValue]
    status: int


@dataclass(frozen=True, slots=True)
class BinaryResult:
    """A non-JSON answer, such as the receipt PDF."""

    content: bytes
    content_type: str
    status: int


@dataclass(slots=True)
class ClientStats:
    """Counters the benchmarks and reliability tests read."""

    requests: int = 0
    retries: int = 0
    errors: dict[str, int] = field(default_factory=dict[str, int])


class Envelope(BaseModel, Generic[T]):
    """Altegio's successful answer: `{success: true, data, meta}`, read with the data's own model."""

    success: Literal[True]
    data: T
    meta: Any = None


_ENVELOPES: dict[int, tuple[object, TypeAdapter[Envelope[Any]] | None]] = {}


def _envelope_for(model: type[Any] | TypeAdapter[Any]) -> TypeAdapter[Envelope[Any]] | None:
    """The envelope adapter for `model` (built once per model), or None when its type is unknown."""
    cached = _ENVELOPES.get(id(model))
    if cached is not None and cached[0] is model:
        return cached[1]
    # A TypeAdapter keeps the type it was built for; the attribute is not public, so it is read
    # defensively and a missing one only means the slower two-pass reading.
    wire_type: object = getattr(model, "_type", None) if isinstance(model, TypeAdapter) else model
    adapter: TypeAdapter[Envelope[Any]] | None = None
    if wire_type is not None:
        adapter = cast("TypeAdapter[Envelope[Any]]", TypeAdapter(Envelope[wire_type]))  # type: ignore[valid-type]
    _ENVELOPES[id(model)] = (model, adapter)
    return adapter


def _meta_of(body: Mapping[str, JsonValue]) -> dict[str, JsonValue]:
    meta = body.get("meta")
    return dict(meta) if isinstance(meta, dict) else {}


REDACTED = "[redacted]"
# Request-body fields whose values are credentials (the `POST /auth` password, tokens).
SECRET_BODY_FIELDS = frozenset({"password", "user_token", "partner_token", "token"})
MIN_SECRET_LENGTH = 4


def _redact_text(text: str, secrets: tuple[str, ...]) -> str:
    for secret in secrets:
        text = text.replace(secret, REDACTED)
    return text


def _redact(value: JsonValue, secrets: tuple[str, ...]) -> JsonValue:
    """`value` with every occurrence of a secret replaced, however deep in lists and objects."""
    if isinstance(value, str):
        return _redact_text(value, secrets)
    if isinstance(value, list):
        return [_redact(item, secrets) for item in value]
    if isinstance(value, dict):
        return _redact_object(value, secrets)
    return value


def _redact_object(value: Mapping[str, JsonValue], secrets: tuple[str, ...]) -> dict[str, JsonValue]:
    return {_redact_text(key, secrets): _redact(item, secrets) for key, item in value.items()}


def _body_secrets(json_body: JsonValue | None) -> list[str]:
    if not isinstance(json_body, dict):
        return []
    return [v for k, v in json_body.items() if k.lower() in SECRET_BODY_FIELDS and isinstance(v, str)]


def _error_details(body: JsonValue, secrets: tuple[str, ...] = ()) -> tuple[str | None, JsonValue]:
    """Pull `meta.message` / `meta.errors` (or the `errors{code,message}` variant) out of an error body.

    An error body may echo what was sent (a header, the login password); every secret of the
    request is replaced before the text can reach an exception, a log line or a model.
    """
    if not isinstance(body, dict):
        return None, None
    if secrets:
        body = _redact_object(body, secrets)
    message: str | None = None
    errors: JsonValue = None
    meta = body.get("meta")
    if isinstance(meta, dict):
        raw_message = meta.get("message")
        message = str(raw_message) if raw_message else None
        errors = meta.get("errors")
    top_errors = body.get("errors")
    if isinstance(top_errors, dict) and message is None:
        raw_message = top_errors.get("message")
        message = str(raw_message) if raw_message else None
    elif errors is None and top_errors is not None:
        errors = top_errors
    return message, errors


def _clean_query(params: Query | None) -> list[tuple[str, PrimitiveData]]:
    """Drop None values; booleans become 1/0 as Altegio expects; lists repeat the key."""
    pairs: list[tuple[str, PrimitiveData]] = []
    for key, value in (params or {}).items():
        if value is None:
            continue
        if isinstance(value, bool):
            pairs.append((key, int(value)))
        elif isinstance(value, list):
            pairs.extend((key, item) for item in value)
        else:
            pairs.append((key, value))
    return pairs


_TLS: list[ssl.SSLContext] = []
_TLS_ONCE = threading.Lock()


def tls_context() -> ssl.SSLContext:
    """httpx's default verifying TLS context (certifi's bundle, or `SSL_CERT_FILE` /
    `SSL_CERT_DIR`), made once per process: loading the CA bundle takes about 30 ms, and each
    client (and each proxy transport) would otherwise load it again."""
    with _TLS_ONCE:
        if not _TLS:
            _TLS.append(httpx.create_ssl_context())
        return _TLS[0]


def preload() -> None:
    """Load what the first request needs (httpx imports httpcore and h11 when a client is made,
    and the TLS context): `LazyTools.warm_up` calls this in its thread."""
    import httpcore  # noqa: F401  # pyright: ignore[reportUnusedImport]

    tls_context()


class AltegioClient:
    """Async client for the Altegio B2B API (v1, and v2 per request). Use as
    `async with AltegioClient(settings) as client:`."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        jitter: Callable[[], float] = random.random,
        state: StateStore | None = None,
    ) -> None:
        self.settings = settings or Settings()
        self._auth = AltegioAuth(self.settings.partner_token, self.settings.user_token)
        self._sleep = sleep
        self._wall_clock = wall_clock
        self._jitter = jitter
        self.state = state
        """The shared state store (rate budget, idempotency keys); None: this process alone."""
        local = RateLimiter(
            self.settings.rate_per_second, self.settings.rate_per_minute, clock=clock, sleep=sleep
        )
        self.limiter: RateLimiter | SharedRateLimiter = local
        if state is not None:
            partner = self.settings.partner_token
            self.limiter = SharedRateLimiter(
                state,
                fingerprint(partner.get_secret_value() if partner else ""),
                self.settings.rate_per_second,
                self.settings.rate_per_minute,
                local=local,
                sleep=sleep,
                clock=clock,
            )
        self.stats = ClientStats()
        self.v2_base_url = v2_base_url(self.settings.base_url)
        self._http = httpx.AsyncClient(
            base_url=self.settings.base_url + "/",
            transport=transport,
            timeout=httpx.Timeout(self.settings.timeout, connect=self.settings.connect_timeout),
            headers={
                "Accept": ACCEPT,
                "Content-Type": "application/json",
                "User-Agent": f"altegio-mcp/{__version__}",
            },
            follow_redirects=False,
            verify=tls_context(),
        )
        self._base = self.settings.base_url + "/"
        self._headers = dict(self._http.headers)
        self._timeout = httpx.Timeout(self.settings.timeout, connect=self.settings.connect_timeout).as_dict()
        # The transport the client would use (a proxy from the environment, or the one given):
        # requests go to it directly, skipping the client's per-request auth, redirect and cookie
        # machinery, which this client does not use. Read defensively (not a public attribute).
        self._transport_for: Callable[[httpx.URL], httpx.AsyncBaseTransport] | None = getattr(
            self._http, "_transport_for_url", None
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    @property
    def has_user_token(self) -> bool:
        return self._auth.has_user

    def auth_for(self, user_token: SecretStr | None) -> AltegioAuth:
        """Credentials for one caller: the server's partner token with that caller's user token."""
        return AltegioAuth(self.settings.partner_token, user_token)

    @overload
    async def request(
        self,
        method: str,
        path: str,
        model: type[T] | TypeAdapter[T],
        *,
        params: Query | None = ...,
        json_body: JsonValue | None = ...,
        auth: AltegioAuth | None = ...,
        auth_mode: Literal["user", "partner"] = ...,
        target: Target | None = ...,
        idempotent: bool | None = ...,
        write: bool | None = ...,
        api_version: ApiVersion = ...,
        extra: ExtraValues | None = ...,
    ) -> ApiResult[T]: ...

    @overload
    async def request(
        self,
        method: str,
        path: str,
        model: None = ...,
        *,
        params: Query | None = ...,
        json_body: JsonValue | None = ...,
        auth: AltegioAuth | None = ...,
        auth_mode: Literal["user", "partner"] = ...,
        target: Target | None = ...,
        idempotent: bool | None = ...,
        write: bool | None = ...,
        api_version: ApiVersion = ...,
        extra: ExtraValues | None = ...,
    ) -> ApiResult[JsonValue]: ...

    async def request(
        self,
        method: str,
        path: str,
        model: type[Any] | TypeAdapter[Any] | None = None,
        *,
        params: Query | None = None,
        json_body: JsonValue | None = None,
        auth: AltegioAuth | None = None,
        auth_mode: Literal["user", "partner"] = "user",
        target: Target | None = None,
        idempotent: bool | None = None,
        write: bool | None = None,
        api_version: ApiVersion = 1,
        extra: ExtraValues | None = None,
    ) -> ApiResult[Any]:
        """Send one API call and return its validated `data` with `meta`.

        `auth_mode="user"` demands a user token (fails fast, before any HTTP, when there is none);
        `"partner"` sends only the partner token (as `POST /auth` requires). `target` names what
        the call is about so a 404 can say which id was wrong. `idempotent=True` lets the request be
        re-sent after a lost answer: a read sent as POST (a search), or a write its operation
        declares safe to re-send. By default only GET is; any request is re-sent when it could not
        connect at all.
        `api_version=2` sends it to Business Management v2 (same credentials and headers); a v2
        answer is a JSON:API document without the `success` envelope, returned whole as `data`.
        `extra="ignore"` drops the fields `model` does not declare, however its models are
        configured: cheaper to read when the caller will not look at them.
        """
        envelope = _envelope_for(model) if model is not None and api_version == 1 else None
        response, body = await self._send(
            method,
            path,
            params,
            json_body,
            auth,
            auth_mode,
            target,
            decode=True,
            idempotent=idempotent,
            write=write,
            api_version=api_version,
            envelope=envelope,
            extra=extra,
        )
        if isinstance(body, Envelope):
            # Read and validated in one pass over the bytes: the common successful answer.
            meta: object = body.meta
            found = cast(dict[str, JsonValue], meta) if isinstance(meta, dict) else {}
            return ApiResult(data=body.data, meta=found, status=response.status_code)
        if isinstance(body, dict) and "success" in body:
            if body.get("success") is False:
                message, errors = _error_details(body, self._secrets(auth, json_body))
                raise UnsuccessfulResponse(
                    message or "success: false",
                    method=method,
                    path=path,
                    status_code=response.status_code,
                    api_message=message,
                    api_errors=errors,
                    target=target,
                )
            data: JsonValue = body.get("data")
            meta = _meta_of(body)
        else:
            data, meta = body, {}
        if model is None:
            return ApiResult(data=data, meta=meta, status=response.status_code)
        adapter = model if isinstance(model, TypeAdapter) else TypeAdapter(model)
        try:
            value = adapter.validate_python(data, extra=extra)
        except ValidationError as exc:
            raise MalformedResponse(
                f"Altegio's answer did not have the documented shape ({exc.error_count()} problems, "
                f"first at {'.'.join(str(p) for p in exc.errors()[0]['loc']) or 'data'})",
                method=method,
                path=path,
            ) from exc
        return ApiResult(data=value, meta=meta, status=response.status_code)

    async def request_bytes(
        self,
        method: str,
        path: str,
        *,
        auth: AltegioAuth | None = None,
        target: Target | None = None,
        expect_content_type: str = "application/pdf",
    ) -> BinaryResult:
        """Fetch a binary document (the receipt PDF). A JSON answer instead is an error."""
        response, _ = await self._send(method, path, None, None, auth, "user", target, decode=False)
        content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != expect_content_type:
            body = self._json_body(response, method, path, lenient=True)
            message, errors = _error_details(body, self._secrets(auth, None))
            if isinstance(body, dict) and body.get("success") is False:
                raise UnsuccessfulResponse(
                    message or "success: false",
                    method=method,
                    path=path,
                    status_code=response.status_code,
                    api_message=message,
                    api_errors=errors,
                    target=target,
                )
            raise MalformedResponse(
                f"expected {expect_content_type} but Altegio sent {content_type or 'no content type'}",
                method=method,
                path=path,
            )
        return BinaryResult(content=response.content, content_type=content_type, status=response.status_code)

    def _json_body(
        self, response: httpx.Response, method: str, path: str, *, lenient: bool = False
    ) -> JsonValue:
        """The answer's JSON, every string in it cleaned (`clean_wire`)."""
        if response.status_code == 204 or not response.content:
            return None
        return self._parse(clean_wire(response.content), method, path, lenient=lenient)

    @staticmethod
    def _parse(content: bytes, method: str, path: str, *, lenient: bool = False) -> JsonValue:
        try:
            return cast(JsonValue, json.loads(content))
        except ValueError as exc:
            if lenient:
                return None
            raise MalformedResponse("Altegio's answer was not valid JSON", method=method, path=path) from exc

    def _decode(
        self,
        response: httpx.Response,
        method: str,
        path: str,
        envelope: TypeAdapter[Envelope[Any]] | None,
        extra: ExtraValues | None = None,
    ) -> JsonValue | Envelope[Any]:
        """A successful answer parsed and validated in one pass when `envelope` fits it; any other
        answer as plain JSON, so the caller can read `success: false` or report what did not fit."""
        if envelope is None or response.status_code == 204 or not response.content:
            return self._json_body(response, method, path)
        content = clean_wire(response.content)
        try:
            return envelope.validate_json(content, extra=extra)
        except ValidationError:
            return self._parse(content, method, path)

    async def _send(
        self,
        method: str,
        path: str,
        params: Query | None,
        json_body: JsonValue | None,
        auth: AltegioAuth | None,
        auth_mode: Literal["user", "partner"],
        target: Target | None,
        *,
        decode: bool,
        idempotent: bool | None = None,
        write: bool | None = None,
        api_version: ApiVersion = 1,
        envelope: TypeAdapter[Envelope[Any]] | None = None,
        extra: ExtraValues | None = None,
    ) -> tuple[httpx.Response, JsonValue | Envelope[Any]]:
        """Send with retries; with `decode`, a 2xx body that is not valid JSON counts as a transport
        failure (a cut-off answer), so an idempotent request is retried like a dropped connection.
        With `envelope`, a successful `{success: true, data, meta}` answer comes back validated."""
        method = method.upper()
        retry_ok = is_idempotent(method) if idempotent is None else idempotent
        credentials = auth or self._auth
        if auth_mode == "partner":
            credentials = AltegioAuth(self.settings.partner_token, None)
        elif not credentials.has_user:
            raise ConfigurationError(
                "No Altegio user token is available, and this call needs one: the person running the "
                "server must run `altegio-mcp login` (or set ALTEGIO_USER_TOKEN). Nothing was sent.",
                method=method,
                path=path,
            )
        credentials.header_value()  # fail before any HTTP when the partner token is missing
        url = path.lstrip("/") if api_version == 1 else f"{self.v2_base_url}/{path.lstrip('/')}"
        content = None if json_body is None else json.dumps(json_body, ensure_ascii=False).encode()
        attempt = 0
        caller = (auth or self._auth).caller_key
        if write is None:  # a write unless a GET or a read sent as POST (a search, flagged idempotent)
            write = method != "GET" and idempotent is not True
        while True:
            await self.limiter.acquire(caller, write=write)
            self.stats.requests += 1
            started = time.perf_counter()
            try:
                response = await self._exchange(method, url, params, content, credentials.header_value())
            except httpx.TransportError as exc:
                error = self._transport_error(exc, method, path)
                # A request that could not even connect never reached Altegio: always safe to resend.
                resend = retry_ok or isinstance(error, NotDelivered)
                if resend and attempt < self.settings.max_retries:
                    attempt = await self._wait_before_retry(attempt, None, error)
                    continue
                self._count(error)
                raise error from exc
            log.debug(
                "%s %s -> %s in %.1f ms",
                method,
                path,
                response.status_code,
                (time.perf_counter() - started) * 1000,
            )
            if response.status_code < 400:
                if not decode:
                    return response, None
                try:
                    return response, self._decode(response, method, path, envelope, extra)
                except MalformedResponse as malformed:
                    if retry_ok and attempt < self.settings.max_retries:
                        attempt = await self._wait_before_retry(attempt, None, malformed)
                        continue
                    self._count(malformed)
                    raise
            retry_after = parse_retry_after(response.headers.get("retry-after"), self._wall_clock())
            status_error = self._status_error(
                response, method, path, retry_after, target, self._secrets(auth, json_body)
            )
            if (
                retry_ok
                and response.status_code in RETRYABLE_STATUSES
                and attempt < self.settings.max_retries
            ):
                delay = retry_delay(attempt, retry_after, self.settings.retry_max_wait, self._jitter)
                if delay is not None:
                    attempt = await self._wait_before_retry(attempt, delay, status_error)
                    continue
            self._count(status_error)
            raise status_error

    async def _exchange(
        self, method: str, url: str, params: Query | None, content: bytes | None, authorization: str
    ) -> httpx.Response:
        """One HTTP request and its whole answer (read, connection released)."""
        headers = {**self._headers, "Authorization": authorization}
        if self._transport_for is None:  # pragma: no cover - an httpx without the lookup
            request = self._http.build_request(method, url, params=_clean_query(params), content=content)
            request.headers["Authorization"] = authorization
            return await self._http.send(request)
        absolute = url if url.startswith(("http://", "https://")) else self._base + url
        request = httpx.Request(
            method,
            absolute,
            params=_clean_query(params),
            headers=headers,
            content=content,
            extensions={"timeout": self._timeout},
        )
        response = await self._transport_for(request.url).handle_async_request(request)
        response.request = request
        try:
            await response.aread()
        finally:
            await response.aclose()
        return response

    def _transport_error(self, exc: httpx.TransportError, method: str, path: str) -> AltegioError:
        """Which kind of failure: never connected, no answer in time, or broken mid-way."""
        kind = type(exc).__name__
        if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
            return NotDelivered(f"Could not connect to Altegio ({kind})", method=method, path=path)
        if isinstance(exc, httpx.TimeoutException):
            return RequestTimedOut(
                f"Altegio did not answer within {self.settings.timeout:g} s", method=method, path=path
            )
        return ConnectionFailed(f"The connection to Altegio failed ({kind})", method=method, path=path)

    async def pause(self, seconds: float) -> None:
        """Wait using the client's (injectable) sleep, e.g. to let a slow write settle upstream."""
        await self._sleep(seconds)

    async def _wait_before_retry(self, attempt: int, delay: float | None, error: AltegioError) -> int:
        if delay is None:
            delay = retry_delay(attempt, None, self.settings.retry_max_wait, self._jitter) or 0.0
        self.stats.retries += 1
        log.info("retrying %s after %s in %.2f s", error.request_line, type(error).__name__, delay)
        await self._sleep(delay)
        return attempt + 1

    def _secrets(self, auth: AltegioAuth | None, json_body: JsonValue | None) -> tuple[str, ...]:
        """Every credential a request may carry: the server's tokens, the caller's, a body password."""
        found = [*self._auth.secrets(), *(auth.secrets() if auth else []), *_body_secrets(json_body)]
        unique = {s for s in found if len(s) >= MIN_SECRET_LENGTH}
        return tuple(sorted(unique, key=len, reverse=True))

    def _count(self, error: AltegioError) -> None:
        name = type(error).__name__
        self.stats.errors[name] = self.stats.errors.get(name, 0) + 1

    def _status_error(
        self,
        response: httpx.Response,
        method: str,
        path: str,
        retry_after: float | None,
        target: Target | None,
        secrets: tuple[str, ...],
    ) -> APIStatusError:
        body = self._json_body(response, method, path, lenient=True)
        message, errors = _error_details(body, secrets)
        cls = error_class_for(response.status_code)
        return cls(
            message or f"HTTP {response.status_code}",
            method=method,
            path=path,
            status_code=response.status_code,
            api_message=message,
            api_errors=errors,
            retry_after=retry_after,
            target=target,
        )
