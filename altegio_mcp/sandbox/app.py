"""The `Sandbox`: a stateful Altegio B2B API v1 emulator as an ASGI app, with its state, request log,
fault injector and rate limiter.

Layers, outermost first: `SandboxMiddleware` (request log, latency, faults, rate limit) →
Starlette (routing, `ApiError` → documented error envelopes) → route handlers (`routes/`) → rules
(`records`, `visits`, `recurring`, `scheduling`, `booking`) → `SandboxState`. A request no route
serves falls to `catalog_reads`: a catalogued read is answered from its documented fields, any
other catalogued operation gets a 501 naming it.
"""

from __future__ import annotations

import logging
import time as monotonic_time
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, time, timedelta

import httpx
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp

from altegio_mcp.sandbox.catalog_reads import ShapedReads, match, not_emulated
from altegio_mcp.sandbox.config import SandboxConfig
from altegio_mcp.sandbox.faults import Faults
from altegio_mcp.sandbox.middleware import SandboxMiddleware
from altegio_mcp.sandbox.protocol import ApiError
from altegio_mcp.sandbox.ratelimit import RateLimiter
from altegio_mcp.sandbox.requestlog import RequestLog
from altegio_mcp.sandbox.routes import Context, api_routes
from altegio_mcp.sandbox.routes.control import ControlRoutes
from altegio_mcp.sandbox.seed import seed
from altegio_mcp.sandbox.state import SandboxState

logger = logging.getLogger("altegio_mcp.sandbox")
ANCHOR_TIME = time(12)


async def _api_error(request: Request, exc: Exception) -> Response:
    if isinstance(exc, ApiError):
        return exc.response()
    raise exc


def _http_error_handler(shaped: ShapedReads) -> Callable[[Request, Exception], Awaitable[Response]]:
    async def _http_error(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        if status in (404, 405):
            # No route: a catalogued read is answered from its documented fields; any other
            # catalogued operation is a clear 501 naming it; the rest stays a 404.
            found = match(request.method, request.url.path)
            if found is not None:
                try:
                    if found.kind == "read" and request.method == "GET":
                        return shaped.answer(request, found)
                    raise not_emulated(found)
                except ApiError as error:
                    return error.response()
        message = (
            "Not found." if status == 404 else "Method not allowed." if status == 405 else "Request failed."
        )
        return ApiError.standard(status, message).response()

    return _http_error


class Sandbox:
    """One emulated Altegio account: deterministic demo data plus the knobs tests need."""

    def __init__(self, config: SandboxConfig | None = None) -> None:
        self.config = config if config is not None else SandboxConfig()
        self._origin = monotonic_time.monotonic()
        self.today: date = self.config.today or self._real_now().date()
        self.state = SandboxState(self.today, self.now)
        seed(self.state)
        self.faults = Faults(self.config.faults)
        self.requests = RequestLog()
        self._limiter = self._new_limiter()
        context = Context(self.state, self.config)
        control = ControlRoutes(self.state, self.faults, self.requests, self.reset)
        http_error = _http_error_handler(ShapedReads(self.state))
        starlette = Starlette(
            routes=[*api_routes(context), *control.routes()],
            exception_handlers={ApiError: _api_error, 404: http_error, 405: http_error},
        )
        self.app: ASGIApp = SandboxMiddleware(
            starlette,
            faults=self.faults,
            limiter=lambda: self._limiter,
            log=self.requests,
            strict=lambda: self.config.strict,
        )

    def _real_now(self) -> datetime:
        return self.config.clock() if self.config.clock is not None else datetime.now(UTC)

    def now(self) -> datetime:
        """The sandbox clock: the configured one, else noon UTC of `today` ticking in real time
        (or the real time when no `today` was configured)."""
        if self.config.clock is not None or self.config.today is None:
            return self._real_now()
        elapsed = monotonic_time.monotonic() - self._origin
        return datetime.combine(self.today, ANCHOR_TIME, UTC) + timedelta(seconds=elapsed)

    def _new_limiter(self) -> RateLimiter:
        clock = self.config.clock
        source = (lambda: clock().timestamp()) if clock is not None else monotonic_time.monotonic
        return RateLimiter(self.config.rate_limit_per_second, self.config.rate_limit_per_minute, source)

    def reset(self) -> None:
        """Back to the deterministic start: reseeded state, empty request log, no scripted faults,
        a fresh rate-limit budget (rebuilt from the current config)."""
        self._origin = monotonic_time.monotonic()
        self.state.clear()
        seed(self.state)
        self.requests.clear()
        self.faults.reset()
        self._limiter = self._new_limiter()
        logger.info("sandbox reset to %s", self.today.isoformat())

    def transport(self) -> httpx.ASGITransport:
        """An in-process transport: `httpx.AsyncClient(transport=sandbox.transport(), base_url=...)`."""
        return httpx.ASGITransport(app=self.app)


def create_sandbox(config: SandboxConfig | None = None) -> Sandbox:
    return Sandbox(config)
