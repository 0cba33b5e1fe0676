"""The outer ASGI layer of the sandbox: request log, latency, faults, the rate limit and the contract.

It wraps the API routes only (paths under `/api/v1` and `/api/v2`); the `/__sandbox__` control
routes pass through untouched. With `strict` on (the default), each request is checked here
against Altegio's published contract (`altegio_mcp.contract`: unknown query parameters or body
fields, wrong types or formats, missing required fields); a departure is handed to the routes in the
request state, and the shared auth check (`routes.common.Context`) answers it with Altegio's 400/422
as soon as the caller is authenticated, whatever route it was meant for. A dropped connection starts a response with a `Content-Length` it never fills
and then raises `httpx.RemoteProtocolError`: over a socket the server closes the connection
mid-body, and in process `httpx.ASGITransport` re-raises the error; either way an
`httpx.AsyncClient` sees an `httpx.TransportError`.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from urllib.parse import parse_qs

import anyio
import httpx
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from altegio_mcp.sandbox.auth import parse_authorization
from altegio_mcp.sandbox.constants import BASE_PATH, V2_BASE_PATH
from altegio_mcp.sandbox.faults import FaultDecision, Faults, status_message
from altegio_mcp.sandbox.protocol import VALIDATION_FAILED, error_body
from altegio_mcp.sandbox.ratelimit import RateLimiter
from altegio_mcp.sandbox.requestlog import RequestLog, RequestRecord

CONTRACT_REFUSAL = "contract_refusal"
API_PREFIXES = (BASE_PATH, V2_BASE_PATH)
TRUNCATED_JSON = b'{"success": true, "data": [{"id": 1, "datetime": "2026-'
DROP_DECLARED_LENGTH = 4096


class SandboxMiddleware:
    """Logs each API request, then applies latency, scripted faults, the rate limit and random faults."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        faults: Faults,
        limiter: Callable[[], RateLimiter],
        log: RequestLog,
        strict: Callable[[], bool] = lambda: True,
    ) -> None:
        self.app = app
        self.faults = faults
        self.limiter = limiter
        self.log = log
        self.strict = strict

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope["path"]).startswith(API_PREFIXES):
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        record = _record(scope, body)
        self.log.append(record)

        replayed = False

        async def replay() -> Message:
            """The body read above, once; afterwards the server's own messages (e.g. disconnect)."""
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def tracking_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                record.status = int(message["status"])
            await send(message)

        if self.faults.config.latency_seconds > 0:
            await anyio.sleep(self.faults.config.latency_seconds)
        decision = self.faults.take_scripted(record.method, record.path)
        if decision is not None and decision.kind == "delay":
            await anyio.sleep(decision.seconds)
            decision = None
        if decision is None:
            wait = self.limiter().check()
            if wait is not None:
                headers = {"Retry-After": str(wait)}
                await _send_json(tracking_send, 429, error_body(status_message(429)), headers)
                return
            decision = self.faults.roll()
        if decision is None:
            refusal = contract_refusal(record, body) if self.strict() else None
            if refusal is not None:
                # Raised by the route once the caller is authenticated: Altegio answers 401 first.
                scope.setdefault("state", {})[CONTRACT_REFUSAL] = refusal
            await self.app(scope, replay, tracking_send)
            return
        try:
            await self._apply(decision, scope, replay, tracking_send)
        except httpx.TransportError:
            record.status = None
            raise

    async def _apply(
        self,
        decision: FaultDecision,
        scope: Scope,
        receive: Receive,
        send: Callable[[Message], Awaitable[None]],
    ) -> None:
        if decision.kind == "status":
            headers = {"Retry-After": decision.retry_after} if decision.retry_after is not None else {}
            message = decision.message if decision.message else status_message(decision.status)
            await _send_json(send, decision.status, error_body(message), headers)
        elif decision.kind == "success_false_200":
            await _send_json(send, 200, error_body(decision.message or "An error has occurred."), {})
        elif decision.kind == "json_instead_of_pdf":
            await _send_json(
                send, 200, {"success": True, "data": None, "meta": {"message": decision.message}}, {}
            )
        elif decision.kind == "malformed_json":
            await _send_raw(send, 200, TRUNCATED_JSON)
        elif decision.kind == "drop_after_commit":

            async def discard(message: Message) -> None:
                return None

            await self.app(scope, receive, discard)
            await _drop(send)
        else:
            await _drop(send)


def contract_refusal(record: RequestRecord, raw_body: bytes = b"") -> tuple[int, dict[str, object]] | None:
    """Altegio's answer to a request that departs from the published contract; None if it conforms
    (or the endpoint is not in the contract, which the routes answer with 404)."""
    from altegio_mcp import contract
    from altegio_mcp.contract.check import check_request

    version: contract.Version = "v2" if record.path.startswith(V2_BASE_PATH) else "v1"
    relative = record.path[len(V2_BASE_PATH if version == "v2" else BASE_PATH) :] or "/"
    op = contract.find(record.method, relative, version)
    if op is None:
        return None
    if raw_body.strip() and record.json is None:
        return None  # not JSON at all: the route answers that first
    problems = check_request(op, relative, record.query, record.json)
    if not problems:
        return None
    unknown = [p for p in problems if p.status == 400]
    chosen = unknown or problems
    status = 400 if unknown else 422
    message = "Unknown parameters: " + ", ".join(p.field for p in unknown) if unknown else VALIDATION_FAILED
    if status == 400 or version == "v2":
        grouped: dict[str, list[str]] = {}
        for p in chosen:
            grouped.setdefault(p.field, []).append(p.message)
        errors: object = grouped
    else:
        errors = [{"field": p.field, "message": p.message} for p in chosen]
    return status, {"success": False, "data": None, "meta": {"message": message, "errors": errors}}


def _no_constant(name: str) -> object:
    raise ValueError(f"{name} is not valid JSON")


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(bytes(message.get("body", b"")))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _record(scope: Scope, body: bytes) -> RequestRecord:
    headers = {bytes(k).decode("latin-1").lower(): bytes(v).decode("latin-1") for k, v in scope["headers"]}
    parsed: object = None
    if body.strip():
        try:
            parsed = json.loads(body, parse_constant=_no_constant)
        except (ValueError, RecursionError):
            parsed = None
    query = parse_qs(bytes(scope.get("query_string", b"")).decode("latin-1"), keep_blank_values=True)
    return RequestRecord(
        method=str(scope["method"]).upper(),
        path=str(scope["path"]),
        query=query,
        json=parsed,
        auth=parse_authorization(headers.get("authorization")).kind,
    )


async def _send_raw(
    send: Callable[[Message], Awaitable[None]],
    status: int,
    payload: bytes,
    headers: dict[str, str] | None = None,
) -> None:
    raw_headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    raw_headers.extend((k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items())
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": payload, "more_body": False})


async def _send_json(
    send: Callable[[Message], Awaitable[None]], status: int, body: object, headers: dict[str, str]
) -> None:
    await _send_raw(send, status, json.dumps(body).encode(), headers)


async def _drop(send: Callable[[Message], Awaitable[None]]) -> None:
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(DROP_DECLARED_LENGTH).encode()),
    ]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": TRUNCATED_JSON, "more_body": True})
    raise httpx.RemoteProtocolError("Sandbox fault: the connection was dropped mid-response.")
