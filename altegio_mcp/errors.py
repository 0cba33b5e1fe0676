"""Every failure talking to Altegio, as one hierarchy, each rendering a message written for a model.

```
AltegioError                      anything that went wrong reaching or using the API
├── TransportError                the request never got a usable answer
│   ├── ConnectionFailed          reset or dropped before a complete response
│   │   └── NotDelivered          could not connect at all: the request never reached Altegio
│   ├── RequestTimedOut           no answer within the timeout
│   └── MalformedResponse         an answer that is not the JSON (or PDF) promised
├── APIStatusError                Altegio answered with an error
│   ├── BadRequest                400
│   ├── AuthenticationFailed      401: partner or user token missing, wrong or expired
│   ├── PaymentRequired           402: the location's licence has lapsed
│   ├── PermissionDenied          403
│   ├── NotFound                  404
│   ├── Conflict                  409
│   ├── ValidationFailed          422: field errors in `meta.errors`
│   ├── RateLimited               429
│   ├── ServerError               5xx
│   └── UnsuccessfulResponse      HTTP 2xx with `success: false`
├── WriteOutcome                  a write whose answer was lost, settled by reading the target back
│   ├── WriteDoneAnswerLost       the read-back shows it happened, but the answer (a new id) is lost
│   ├── WriteNotDone              the read-back shows nothing was changed: safe to call again
│   └── WriteOutcomeUnknown       no read can tell (or a late commit is still possible)
├── AlreadyDone                   the call would repeat what is already there: nothing was sent
├── ConfigurationError            the server itself is not set up to make the call
├── StateStoreUnreachable         the shared state store (Redis) is down: writes fail closed
└── InvalidArgument               a tool argument that fails a rule only known at call time
```

Each error keeps the HTTP method and path (never the query string, never a header), the status,
Altegio's `meta.message` and `meta.errors`. `model_message()` says what failed and what to do next;
the policy layer sends exactly that text to the model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pydantic import JsonValue


@dataclass(frozen=True, slots=True)
class Target:
    """What a request was about, so a 404 can name it and suggest the tool that lists valid ids."""

    kind: str
    ident: str
    location_id: int | None = None
    list_tool: str | None = None


class AltegioError(Exception):
    """Base of every error this package raises about the API."""

    def __init__(self, message: str, *, method: str = "", path: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.method = method
        self.path = path

    @property
    def request_line(self) -> str:
        return f"{self.method} {self.path}".strip()

    def model_message(self) -> str:
        """The text a language model sees: what failed, and what to do about it."""
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, request={self.request_line!r})"


class AlreadyDone(AltegioError):
    """The call would repeat something already in Altegio (a lost answer's retry): nothing was sent."""


class ConfigurationError(AltegioError):
    """The server lacks what the call needs (a token, a location id)."""


class LocationNotGranted(AltegioError):
    """A location outside the ones the caller's sign-in covers (an OAuth grant names them)."""

    def __init__(self, location_id: int, granted: list[int]) -> None:
        allowed = ", ".join(str(i) for i in granted)
        super().__init__(
            f"location {location_id} is not covered by this sign-in, which covers location(s) {allowed} "
            "only. Use one of those; for another location the person reconnects the connector and "
            "chooses it. Nothing was changed."
        )
        self.location_id = location_id
        self.granted = granted


class StateStoreUnreachable(AltegioError):
    """The shared state store cannot be reached, so a write or a confirmation is refused (fail closed)."""

    def __init__(self, detail: str = "") -> None:
        super().__init__(
            "Not done: the shared state store is unreachable"
            + (f" ({detail})" if detail else "")
            + ". Without it this server cannot tell whether a confirmation token was already used, "
            "whether an identical create already happened, or keep the shared request budget, so it "
            "refuses writes and confirmations. Nothing was sent to Altegio. Reads still work. Tell the "
            "person running the server (check ALTEGIO_REDIS_URL and the Redis server), then try again."
        )


class InvalidArgument(AltegioError):
    """An argument that passed the schema but cannot work (a DST gap, a missing pair of fields)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field

    def model_message(self) -> str:
        return f"Invalid `{self.field}`: {self.message}. Nothing was sent to Altegio."


class TransportError(AltegioError):
    """No usable HTTP answer."""

    retryable_hint = "It is safe to retry a read; for a write, first check whether it happened."

    def model_message(self) -> str:
        return f"{self.message} ({self.request_line}). {self.retryable_hint}"


class ConnectionFailed(TransportError):
    """Could not connect, or the connection broke before an answer."""


class NotDelivered(ConnectionFailed):
    """The connection could not be made (refused, DNS, connect timeout): nothing reached Altegio."""


class RequestTimedOut(TransportError):
    """The API did not answer in time."""


class MalformedResponse(TransportError):
    """The body could not be parsed as what the endpoint documents."""


def _render_errors(errors: JsonValue) -> str:
    """Altegio's `meta.errors` comes as a list of strings/objects or a field → messages map."""
    parts: list[str] = []
    if isinstance(errors, Mapping):
        for field, value in errors.items():
            if isinstance(value, Sequence) and not isinstance(value, str):
                parts.append(f"{field}: " + "; ".join(str(v) for v in value))
            else:
                parts.append(f"{field}: {value}")
    elif isinstance(errors, Sequence) and not isinstance(errors, str):
        for item in errors:
            if isinstance(item, Mapping):
                field = item.get("field") or item.get("name")
                message = item.get("message") or item.get("error") or item
                parts.append(f"{field}: {message}" if field else str(message))
            else:
                parts.append(str(item))
    elif errors:
        parts.append(str(errors))
    return "; ".join(parts)


class APIStatusError(AltegioError):
    """Altegio answered with an error status (or `success: false`)."""

    status_code: int = 0
    advice = "Check the arguments and try again."

    def __init__(
        self,
        message: str,
        *,
        method: str = "",
        path: str = "",
        status_code: int | None = None,
        api_message: str | None = None,
        api_errors: JsonValue = None,
        retry_after: float | None = None,
        target: Target | None = None,
    ) -> None:
        super().__init__(message, method=method, path=path)
        if status_code is not None:
            self.status_code = status_code
        self.api_message = api_message
        self.api_errors = api_errors
        self.retry_after = retry_after
        self.target = target

    def upstream_detail(self) -> str:
        detail = self.api_message or ""
        rendered = _render_errors(self.api_errors)
        if rendered:
            detail = f"{detail} {rendered}".strip() if detail else rendered
        return detail

    def model_message(self) -> str:
        detail = self.upstream_detail()
        said = f' Altegio said: "{detail}".' if detail else ""
        return f"Altegio refused {self.request_line} with HTTP {self.status_code}.{said} {self.advice}"


class BadRequest(APIStatusError):
    status_code = 400
    advice = "Fix the arguments named above and call again."


class AuthenticationFailed(APIStatusError):
    status_code = 401
    advice = (
        "The user token is missing or expired: ask the person running the server to run "
        "`altegio-mcp login` (or set ALTEGIO_USER_TOKEN), then retry. If the message mentions the "
        "partner token, ALTEGIO_PARTNER_TOKEN is wrong."
    )


class PaymentRequired(APIStatusError):
    status_code = 402
    advice = "The location's Altegio licence has lapsed; the owner must renew it. Retrying will not help."


class PermissionDenied(APIStatusError):
    status_code = 403
    advice = (
        "This Altegio user lacks the right for that action or location. Call whoami to see which "
        "locations the server can act for; do not retry the same call."
    )


class NotFound(APIStatusError):
    status_code = 404
    advice = "Check the id."

    def model_message(self) -> str:
        target = self.target
        if target is None:
            return f"Nothing found at {self.request_line} (HTTP 404). Check the ids in the call."
        where = f" at location {target.location_id}" if target.location_id is not None else ""
        hint = f": call {target.list_tool} to find a valid id" if target.list_tool else ""
        return f"No {target.kind} {target.ident}{where}{hint}."


class Conflict(APIStatusError):
    status_code = 409
    advice = "The record changed or conflicts with another; read it again, then retry with fresh values."


class ValidationFailed(APIStatusError):
    status_code = 422

    def model_message(self) -> str:
        detail = self.upstream_detail() or "no details given"
        return (
            f"Altegio rejected {self.request_line} (HTTP 422): {detail}. "
            "Correct those fields and call again; nothing was saved."
        )


class RateLimited(APIStatusError):
    status_code = 429

    def model_message(self) -> str:
        wait = f" Wait about {self.retry_after:.0f} s" if self.retry_after else " Wait a little"
        return f"Altegio's rate limit was hit ({self.request_line}, HTTP 429).{wait} before calling again."


class ServerError(APIStatusError):
    status_code = 500
    advice = (
        "Altegio had an internal problem. A read can be retried shortly; check a write before redoing it."
    )


class UnsuccessfulResponse(APIStatusError):
    """A 2xx answer whose envelope says `success: false`."""

    advice = "Nothing indicates the call took effect; read the target again before retrying."


class WriteOutcome(AltegioError):
    """A write whose answer was lost (dropped, cut off, timed out or a 5xx), settled by a read-back.

    `cause` is the failure that lost the answer; `check` names the exact read that shows the
    target's state, so the model can look before doing anything else.
    """

    outcome = "unknown"

    def __init__(self, message: str, *, cause: AltegioError | None = None, check: str) -> None:
        super().__init__(message, method=cause.method if cause else "", path=cause.path if cause else "")
        self.cause = cause
        self.check = check


class WriteDoneAnswerLost(WriteOutcome):
    """Reading back shows the write happened, but what its answer carried (a new id) is lost."""

    outcome = "done"

    def model_message(self) -> str:
        return f"Done, once: {self.message}. To see it, use {self.check}."


class WriteNotDone(WriteOutcome):
    """Reading the target back shows the write did not happen."""

    outcome = "not-done"

    def model_message(self) -> str:
        return (
            f"Not done: {self.message} ({self.request_line}); {self.check}, so nothing was changed "
            "and it is safe to call again."
        )


class WriteOutcomeUnknown(WriteOutcome):
    """Nothing can tell whether the write happened (no read exists, or Altegio may still commit it)."""

    def model_message(self) -> str:
        return (
            f"Unknown whether it happened: {self.message} ({self.request_line}). Do not repeat it "
            f"blindly: first check with {self.check}, and tell the person it is unconfirmed."
        )


STATUS_ERRORS: dict[int, type[APIStatusError]] = {
    400: BadRequest,
    401: AuthenticationFailed,
    402: PaymentRequired,
    403: PermissionDenied,
    404: NotFound,
    409: Conflict,
    422: ValidationFailed,
    429: RateLimited,
}


def error_class_for(status: int) -> type[APIStatusError]:
    """The class for an HTTP status: exact match, then 5xx, then the generic base."""
    if status in STATUS_ERRORS:
        return STATUS_ERRORS[status]
    if status >= 500:
        return ServerError
    return APIStatusError
