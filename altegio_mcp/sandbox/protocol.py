"""Altegio's wire conventions: the response envelope, error shapes, and request parsing.

Every error leaves the sandbox as an `ApiError`, rendered in one of the documented shapes:

- standard: `{"success": false, "data": null, "meta": {"message": ...}}`, plus `meta.errors` for
  validation failures (422: a list naming each field);
- listed: 404s of the team member, service and category endpoints put `meta.errors[{message}]`;
- legacy: `GET /company/{id}` answers 401/404 with `{"errors": {code, message}, "meta": {message}}`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from altegio_mcp.sandbox.jsontypes import Json, JsonDict, as_object, to_int
from altegio_mcp.sandbox.timeutil import parse_date

AUTH_NEEDED = "Authentication needed."
ACCESS_DENIED = "Access denied."
VALIDATION_FAILED = "An error has occurred."

# V1 accepts the V2 spellings of parameter names; the first name of each family is the V1 one.
STAFF_ALIASES = ("staff_id", "team_member_id", "master_id")
LOCATION_ALIASES = ("salon_id", "company_id", "location_id")


class ApiError(Exception):
    """An error answer of the emulated API, with its status, body and extra headers."""

    def __init__(self, status: int, body: JsonDict, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(f"{status}: {body.get('meta')}")
        self.status = status
        self.body = body
        self.headers = dict(headers or {})

    def response(self) -> Response:
        return JSONResponse(self.body, status_code=self.status, headers=self.headers)

    @classmethod
    def standard(cls, status: int, message: str, headers: Mapping[str, str] | None = None) -> ApiError:
        return cls(status, error_body(message), headers)

    @classmethod
    def unauthorized(cls) -> ApiError:
        return cls.standard(401, AUTH_NEEDED)

    @classmethod
    def forbidden(cls) -> ApiError:
        return cls.standard(403, ACCESS_DENIED)

    @classmethod
    def not_found(cls, message: str) -> ApiError:
        return cls.standard(404, message)

    @classmethod
    def listed_not_found(cls, message: str) -> ApiError:
        """404 in the shape of the team member, service and category pages."""
        meta: JsonDict = {"message": message, "errors": [{"message": message}]}
        return cls(404, {"success": False, "data": None, "meta": meta})

    @classmethod
    def legacy(cls, status: int, message: str) -> ApiError:
        """401/404 in the shape of `GET /company/{id}`: `errors{code,message}` plus `meta.message`."""
        return cls(status, {"errors": {"code": status, "message": message}, "meta": {"message": message}})

    @classmethod
    def validation(cls, errors: list[tuple[str, str]], message: str = VALIDATION_FAILED) -> ApiError:
        """422 naming each offending field in `meta.errors`."""
        items: list[Json] = [{"field": field, "message": text} for field, text in errors]
        return cls(422, {"success": False, "data": None, "meta": {"message": message, "errors": items}})

    @classmethod
    def invalid(cls, field: str, message: str) -> ApiError:
        return cls.validation([(field, message)], message)


def error_body(message: str) -> JsonDict:
    return {"success": False, "data": None, "meta": {"message": message}}


def ok(data: Json, meta: Json = None, status: int = 200) -> JSONResponse:
    """The success envelope; `meta` defaults to the API's usual empty array."""
    return JSONResponse(
        {"success": True, "data": data, "meta": [] if meta is None else meta}, status_code=status
    )


def no_content() -> Response:
    return Response(status_code=204)


class FieldErrors:
    """Collects validation problems so one 422 can name every offending field."""

    def __init__(self) -> None:
        self.items: list[tuple[str, str]] = []

    def add(self, field: str, message: str) -> None:
        self.items.append((field, message))

    def raise_if_any(self) -> None:
        if self.items:
            raise ApiError.validation(self.items)


async def json_body(request: Request) -> dict[str, object]:
    """The request body as a JSON object; an empty body reads as `{}`, anything else is a 422."""
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        parsed: object = json.loads(raw, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise ApiError.invalid("body", "The request body is not valid JSON.") from exc
    body = as_object(parsed)
    if body is None:
        raise ApiError.invalid("body", "The request body must be a JSON object.")
    return body


def _reject_constant(name: str) -> object:
    raise ValueError(f"{name} is not valid JSON")


def query_value(request: Request, *names: str) -> str | None:
    """The first non-empty value among alias names (V1 accepts V2 spellings too)."""
    for name in names:
        value = request.query_params.get(name)
        if value is not None and value.strip() != "":
            return value.strip()
    return None


def query_int(
    request: Request, *names: str, minimum: int | None = None, maximum: int | None = None
) -> int | None:
    text = query_value(request, *names)
    if text is None:
        return None
    value = to_int(text)
    if value is None:
        raise ApiError.invalid(names[0], f"{names[0]} must be an integer.")
    if minimum is not None and value < minimum:
        raise ApiError.invalid(names[0], f"{names[0]} must be at least {minimum}.")
    if maximum is not None and value > maximum:
        raise ApiError.invalid(names[0], f"{names[0]} must be at most {maximum}.")
    return value


def query_date(request: Request, *names: str) -> date | None:
    text = query_value(request, *names)
    if text is None:
        return None
    value = parse_date(text)
    if value is None:
        raise ApiError.invalid(names[0], f"{names[0]} must be a date (YYYY-MM-DD).")
    return value


def query_list(request: Request, name: str) -> list[str]:
    """Values of an array parameter sent as `name[]=a&name[]=b`, `name=a&name=b` or `name=a,b`."""
    values = [*request.query_params.getlist(f"{name}[]"), *request.query_params.getlist(name)]
    items: list[str] = []
    for value in values:
        items.extend(part.strip() for part in value.split(",") if part.strip())
    return items


def query_int_list(request: Request, name: str) -> list[int]:
    result: list[int] = []
    for item in query_list(request, name):
        value = to_int(item)
        if value is None:
            raise ApiError.invalid(name, f"{name} must hold integers.")
        result.append(value)
    return result


def query_flag(request: Request, name: str) -> bool:
    text = query_value(request, name)
    return text is not None and text.lower() in {"1", "true", "yes"}


def page_params(request: Request, *, size_name: str, default_size: int, max_size: int) -> tuple[int, int]:
    """`page` (1-based) and the page size parameter, validated against the endpoint's maximum."""
    page = query_int(request, "page", minimum=1) or 1
    size = query_int(request, size_name, minimum=1, maximum=max_size) or default_size
    return page, size
