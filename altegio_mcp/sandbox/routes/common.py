"""What every route handler shares: the state, the configuration, and the auth and access checks.

Check order follows the API: partner token (401), user token where the operation needs one (401),
the location exists (404), the user may act on it (403), then the request against the published
contract (400/422, found by the middleware).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from altegio_mcp.sandbox.auth import Credentials, parse_authorization
from altegio_mcp.sandbox.config import SandboxConfig, default_page_size_max
from altegio_mcp.sandbox.constants import BASE_PATH, DEMO_PARTNER_TOKEN
from altegio_mcp.sandbox.middleware import CONTRACT_REFUSAL
from altegio_mcp.sandbox.models import Location, User
from altegio_mcp.sandbox.protocol import ApiError
from altegio_mcp.sandbox.state import SandboxState

Handler = Callable[[Request], Awaitable[Response]]


def api_route(path: str, handler: Handler, method: str) -> Route:
    return Route(BASE_PATH + path, handler, methods=[method])


class Context:
    def __init__(self, state: SandboxState, config: SandboxConfig) -> None:
        self.state = state
        self.config = config

    def page_max(self, endpoint: str) -> int:
        """The largest page of an endpoint (configured, else the documented or default maximum)."""
        return self.config.page_size_max.get(endpoint, default_page_size_max()[endpoint])

    @staticmethod
    def credentials(request: Request) -> Credentials:
        return parse_authorization(request.headers.get("authorization"))

    def require_partner(self, request: Request, *, legacy: bool = False, conform: bool = True) -> Credentials:
        credentials = self.credentials(request)
        if credentials.partner_token != DEMO_PARTNER_TOKEN or credentials.kind == "malformed":
            raise ApiError.legacy(401, "Authentication needed.") if legacy else ApiError.unauthorized()
        if conform:
            self.conform(request)
        return credentials

    def require_user(self, request: Request, *, legacy: bool = False, conform: bool = True) -> User:
        credentials = self.require_partner(request, legacy=legacy, conform=False)
        user = self.state.user_by_token(credentials.user_token) if credentials.user_token else None
        if user is None:
            raise ApiError.legacy(401, "Authentication needed.") if legacy else ApiError.unauthorized()
        if conform:
            self.conform(request)
        return user

    @staticmethod
    def conform(request: Request) -> None:
        """Altegio's 400/422 for a request that departs from the published contract."""
        refusal = request.scope.get("state", {}).get(CONTRACT_REFUSAL)
        if refusal is not None:
            status, body = refusal
            raise ApiError(status, body)

    def location(self, location_id: int) -> Location:
        location = self.state.location(location_id)
        if location is None:
            raise ApiError.not_found("Location not found.")
        return location

    def user_location(self, request: Request, location_id: int) -> tuple[User, Location]:
        """The caller (partner + user) and a location they may act on."""
        user = self.require_user(request, conform=False)
        location = self.location(location_id)
        if location.id not in user.location_ids:
            raise ApiError.forbidden()
        self.conform(request)
        return user, location

    def partner_location(self, request: Request, location_id: int) -> Location:
        """A location for a partner-only operation (the public online-booking endpoints)."""
        self.require_partner(request, conform=False)
        location = self.location(location_id)
        self.conform(request)
        return location


def path_int(request: Request, name: str) -> int:
    value: object = request.path_params[name]
    if isinstance(value, int):
        return value
    raise ApiError.not_found(f"{name} must be a number.")
