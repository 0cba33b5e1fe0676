"""A fake Altegio for the operation tests, and the small helpers the test files share.

`FakeUpstream` answers from a route table keyed by `"METHOD /path"` (the path without `/api/v1`). A value
is a JSON payload (answered with status 200), an `httpx.Response` (answered as is), or a function of
the request that returns either. Every request is kept; `sent`, `api`, `bodies` and `calls` read them
back. A file that needs its own defaults binds them once, e.g.
`Upstream = partial(FakeUpstream, zone="America/Bogota")`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import httpx
from mcp.types import CallToolResult

from tests.harness import text_of

Json = Any
# A JSON payload, an `httpx.Response`, or `Callable[[httpx.Request], <either of those>]`.
Route = Any

API_PREFIX = "/api/v1"

# The usual 404 envelope, with a message; and the bare one (`meta: []`) some fakes answer instead.
NOT_FOUND: Json = {"success": False, "data": None, "meta": {"message": "Not found"}}
NOT_FOUND_BARE: Json = {"success": False, "data": None, "meta": []}


def envelope(data: Json, meta: Json = None) -> dict[str, Any]:
    """Altegio's success envelope around `data` (`meta` is `[]` unless given)."""
    return {"success": True, "data": data, "meta": [] if meta is None else meta}


def path_of(request: httpx.Request) -> str:
    return request.url.path.removeprefix(API_PREFIX)


def line_of(request: httpx.Request) -> str:
    """`METHOD /path` of a request, the form the route table is keyed by."""
    return f"{request.method} {path_of(request)}"


class FakeUpstream:
    """A fake Altegio: answers from `routes`, 404 (`not_found` body) otherwise, every request kept.

    `location` (a location payload) or `zone` (short for location 1, "Hudson Hair Studio", in that
    zone) adds the `GET /company/{id}` route the server reads a location's time zone from; `routes`
    may override it. Subclasses answer what the table does not route by overriding `unrouted`.
    """

    def __init__(
        self,
        routes: Mapping[str, Route] | None = None,
        *,
        zone: str | None = None,
        location: Json = None,
        not_found: Json = NOT_FOUND,
    ) -> None:
        if zone is not None:
            assert location is None, "give `zone` or `location`, not both"
            location = {"id": 1, "title": "Hudson Hair Studio", "timezone_name": zone}
        self.routes: dict[str, Route] = {}
        if location is not None:
            self.routes[f"GET /company/{location['id']}"] = envelope(location)
        self.routes.update(routes or {})
        self.not_found = not_found
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        key = line_of(request)
        if key not in self.routes:
            return self.unrouted(request)
        route = self.routes[key]
        answer = route(request) if callable(route) else route
        return answer if isinstance(answer, httpx.Response) else httpx.Response(200, json=answer)

    def unrouted(self, request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, json=self.not_found)

    def sent(self, method: str | None = None, path: str | None = None) -> list[httpx.Request]:
        """The requests sent, in order, optionally only those with this method and/or path."""
        return [
            r
            for r in self.requests
            if (method is None or r.method == method) and (path is None or path_of(r) == path)
        ]

    def api(self, path: str, method: str | None = None) -> httpx.Request:
        """The one request sent to `path` (with `method`, if given); fails unless there is exactly one."""
        found = self.sent(method, path)
        assert len(found) == 1, [str(r.url) for r in self.requests]
        return found[0]

    def bodies(self, method: str, path: str) -> list[Json]:
        """JSON bodies of the requests sent to `METHOD /path` (`{}` for an empty body)."""
        return [json.loads(r.content) if r.content else {} for r in self.sent(method, path)]

    def calls(self) -> list[str]:
        """Every request as `METHOD /path`, in order."""
        return [line_of(r) for r in self.requests]


def structured(result: CallToolResult) -> dict[str, Any]:
    """The structured content of a successful tool result."""
    assert not result.is_error, text_of(result)
    assert result.structured_content is not None
    return result.structured_content


def token_in(text: str) -> str:
    """The confirmation token a confirmation request quotes."""
    match = re.search(r'confirmation_token="([^"]+)"', text)
    assert match, text
    return match.group(1)
