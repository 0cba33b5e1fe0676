"""AltegioClient: auth header, envelope, status → error, retries, rate limit, binary answers, secrecy."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest
from pydantic import BaseModel, JsonValue, SecretStr

from altegio_mcp import errors
from altegio_mcp.client import AltegioAuth, AltegioClient
from altegio_mcp.settings import Settings
from tests.conftest import CANARY_PARTNER, CANARY_USER, FakeClock

pytestmark = pytest.mark.anyio

Handler = Callable[[httpx.Request], httpx.Response]
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def envelope(data: JsonValue, meta: JsonValue = None, status: int = 200) -> httpx.Response:
    return httpx.Response(
        status, json={"success": True, "data": data, "meta": meta if meta is not None else []}
    )


def failure(status: int, message: str = "boom", errors_: JsonValue = None, **headers: str) -> httpx.Response:
    meta: dict[str, JsonValue] = {"message": message}
    if errors_ is not None:
        meta["errors"] = errors_
    return httpx.Response(status, json={"success": False, "data": None, "meta": meta}, headers=headers)


def make_client(
    handler: Handler,
    clock: FakeClock,
    *,
    user: str | None = CANARY_USER,
    **overrides: Any,
) -> AltegioClient:
    settings = Settings(
        partner_token=SecretStr(CANARY_PARTNER),
        user_token=SecretStr(user) if user else None,
        base_url="https://api.example.test/api/v1",
        **overrides,
    )
    return AltegioClient(
        settings,
        transport=httpx.MockTransport(handler),
        clock=clock,
        sleep=clock.sleep,
        wall_clock=lambda: NOW,
        jitter=lambda: 0.0,
    )


class Recorder:
    """A MockTransport handler that answers from a script and remembers every request."""

    def __init__(self, *responses: httpx.Response | Exception) -> None:
        self.responses = list(responses)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        item = self.responses.pop(0) if len(self.responses) > 1 else self.responses[0]
        if isinstance(item, Exception):
            raise item
        return item


# --- auth and headers ------------------------------------------------------------------------------


async def test_user_and_partner_header(clock: FakeClock) -> None:
    rec = Recorder(envelope({"id": 1}))
    async with make_client(rec, clock) as client:
        await client.request("GET", "/record/1/2")
    sent = rec.requests[0]
    assert sent.headers["Authorization"] == f"Bearer {CANARY_PARTNER}, User {CANARY_USER}"
    assert sent.headers["Accept"] == "application/vnd.api.v2+json"
    assert sent.headers["Content-Type"] == "application/json"
    assert str(sent.url) == "https://api.example.test/api/v1/record/1/2"


async def test_partner_only_header_for_auth(clock: FakeClock) -> None:
    rec = Recorder(envelope({"user_token": "x"}, status=201))
    async with make_client(rec, clock) as client:
        await client.request("POST", "/auth", json_body={"login": "a", "password": "b"}, auth_mode="partner")
    assert rec.requests[0].headers["Authorization"] == f"Bearer {CANARY_PARTNER}"
    assert json.loads(rec.requests[0].content) == {"login": "a", "password": "b"}


def test_partner_only_header_without_user_token() -> None:
    assert AltegioAuth(SecretStr("p"), None).header_value() == "Bearer p"
    assert AltegioAuth(SecretStr("p"), SecretStr("")).header_value() == "Bearer p"


async def test_user_operation_without_user_token_sends_nothing(clock: FakeClock) -> None:
    rec = Recorder(envelope([]))
    async with make_client(rec, clock, user=None) as client:
        with pytest.raises(errors.ConfigurationError, match="altegio-mcp login"):
            await client.request("GET", "/records/1")
    assert rec.requests == []


async def test_missing_partner_token_fails_before_http(clock: FakeClock) -> None:
    rec = Recorder(envelope([]))
    client = AltegioClient(
        Settings(partner_token=None, user_token=SecretStr("u")),
        transport=httpx.MockTransport(rec),
        clock=clock,
        sleep=clock.sleep,
    )
    async with client:
        with pytest.raises(errors.ConfigurationError, match="ALTEGIO_PARTNER_TOKEN"):
            await client.request("GET", "/records/1")
    assert rec.requests == []


async def test_query_booleans_lists_and_nones(clock: FakeClock) -> None:
    rec = Recorder(envelope([]))
    async with make_client(rec, clock) as client:
        await client.request("GET", "/x", params={"a": True, "b": None, "c": [1, 2], "d": "s"})
    assert rec.requests[0].url.query == b"a=1&c=1&c=2&d=s"


# --- envelope --------------------------------------------------------------------------------------


class Thing(BaseModel):
    id: int
    name: str


async def test_envelope_unwrapped_and_validated(clock: FakeClock) -> None:
    rec = Recorder(envelope([{"id": 1, "name": "a", "extra": True}], {"page": 1, "total_count": 7}))
    async with make_client(rec, clock) as client:
        result = await client.request("GET", "/things", list[Thing])
    assert result.data == [Thing(id=1, name="a")]
    assert result.meta == {"page": 1, "total_count": 7}
    assert result.status == 200


async def test_meta_as_empty_list_becomes_empty_dict(clock: FakeClock) -> None:
    async with make_client(Recorder(envelope({"id": 1, "name": "a"})), clock) as client:
        result = await client.request("GET", "/thing", Thing)
    assert result.meta == {}


async def test_success_false_inside_200(clock: FakeClock) -> None:
    body = {"success": False, "data": None, "meta": {"message": "Record is locked"}}
    async with make_client(Recorder(httpx.Response(200, json=body)), clock) as client:
        with pytest.raises(errors.UnsuccessfulResponse) as info:
            await client.request("PUT", "/record/1/2", json_body={})
    assert info.value.api_message == "Record is locked"
    assert "Record is locked" in info.value.model_message()


async def test_204_gives_none(clock: FakeClock) -> None:
    async with make_client(Recorder(httpx.Response(204)), clock) as client:
        result = await client.request("DELETE", "/record/1/2")
    assert result.data is None
    assert result.status == 204


async def test_wrong_shape_is_malformed_response(clock: FakeClock) -> None:
    async with make_client(Recorder(envelope([{"id": "not-a-number"}])), clock) as client:
        with pytest.raises(errors.MalformedResponse, match="documented shape"):
            await client.request("GET", "/things", list[Thing])


async def test_invalid_json_is_malformed_response(clock: FakeClock) -> None:
    broken = httpx.Response(
        200, content=b'{"success": true, "data": [', headers={"content-type": "application/json"}
    )
    async with make_client(Recorder(broken), clock) as client:
        with pytest.raises(errors.MalformedResponse, match="not valid JSON"):
            await client.request("GET", "/things")


# --- status → exception ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, errors.BadRequest),
        (401, errors.AuthenticationFailed),
        (402, errors.PaymentRequired),
        (403, errors.PermissionDenied),
        (404, errors.NotFound),
        (409, errors.Conflict),
        (422, errors.ValidationFailed),
        (429, errors.RateLimited),
        (500, errors.ServerError),
        (502, errors.ServerError),
        (503, errors.ServerError),
        (418, errors.APIStatusError),
    ],
)
async def test_status_maps_to_error(status: int, cls: type[errors.APIStatusError], clock: FakeClock) -> None:
    rec = Recorder(failure(status, "Nope", {"phone": ["is invalid"]}))
    async with make_client(rec, clock, max_retries=0) as client:
        with pytest.raises(cls) as info:
            await client.request("POST", "/records/5", json_body={"a": 1})
    err = info.value
    assert type(err) is cls
    assert err.status_code == status
    assert err.api_message == "Nope"
    assert err.api_errors == {"phone": ["is invalid"]}
    assert (err.method, err.path) == ("POST", "/records/5")


async def test_422_message_lists_field_errors_verbatim(clock: FakeClock) -> None:
    rec = Recorder(
        failure(422, "An error has occurred.", [{"field": "datetime", "message": "The slot is busy"}])
    )
    async with make_client(rec, clock) as client:
        with pytest.raises(errors.ValidationFailed) as info:
            await client.request("POST", "/records/5", json_body={})
    text = info.value.model_message()
    assert "datetime: The slot is busy" in text
    assert "nothing was saved" in text


async def test_404_names_target_and_list_tool(clock: FakeClock) -> None:
    rec = Recorder(httpx.Response(404, json={"success": False, "data": None, "meta": []}))
    async with make_client(rec, clock) as client:
        with pytest.raises(errors.NotFound) as info:
            await client.request(
                "GET", "/record/45/123", target=errors.Target("appointment", "123", 45, "list_appointments")
            )
    assert (
        info.value.model_message()
        == "No appointment 123 at location 45: call list_appointments to find a valid id."
    )


async def test_401_tells_to_login(clock: FakeClock) -> None:
    async with make_client(Recorder(failure(401, "Authentication needed.")), clock) as client:
        with pytest.raises(errors.AuthenticationFailed) as info:
            await client.request("GET", "/records/1")
    assert "altegio-mcp login" in info.value.model_message()


async def test_variant_error_shape_errors_code_message(clock: FakeClock) -> None:
    body = {
        "success": False,
        "data": None,
        "errors": {"code": 404, "message": "Not found"},
        "meta": {"message": "Not found"},
    }
    async with make_client(Recorder(httpx.Response(404, json=body)), clock) as client:
        with pytest.raises(errors.NotFound) as info:
            await client.request("GET", "/company/9", auth_mode="partner")
    assert info.value.api_message == "Not found"


# --- retries ---------------------------------------------------------------------------------------

RETRY_TABLE = [
    # method, status, retried?
    ("GET", 503, True),
    ("GET", 502, True),
    ("GET", 504, True),
    ("GET", 408, True),
    ("GET", 429, True),
    ("PUT", 503, False),  # writes are re-sent only when their operation says it is safe
    ("DELETE", 503, False),
    ("GET", 500, False),
    ("GET", 404, False),
    ("GET", 422, False),
    ("POST", 503, False),
    ("POST", 429, False),
    ("PATCH", 503, False),
]


@pytest.mark.parametrize(("method", "status", "retried"), RETRY_TABLE)
async def test_retry_table(method: str, status: int, retried: bool, clock: FakeClock) -> None:
    rec = Recorder(failure(status), envelope({"ok": True}))
    async with make_client(rec, clock) as client:
        if retried:
            result = await client.request(method, "/x", json_body={} if method != "GET" else None)
            assert result.data == {"ok": True}
            assert len(rec.requests) == 2
            assert client.stats.retries == 1
        else:
            with pytest.raises(errors.APIStatusError):
                await client.request(method, "/x", json_body={})
            assert len(rec.requests) == 1


@pytest.mark.parametrize(
    ("method", "exc", "retried"),
    [
        ("GET", httpx.ConnectError("refused"), True),
        ("GET", httpx.ReadTimeout("slow"), True),
        ("DELETE", httpx.RemoteProtocolError("dropped"), False),
        ("POST", httpx.ConnectError("refused"), True),  # never reached Altegio: always safe to resend
        ("POST", httpx.ReadTimeout("slow"), False),
        ("PATCH", httpx.RemoteProtocolError("dropped"), False),
    ],
)
async def test_transport_failures(method: str, exc: Exception, retried: bool, clock: FakeClock) -> None:
    rec = Recorder(exc, envelope({"ok": True}))
    async with make_client(rec, clock) as client:
        if retried:
            assert (await client.request(method, "/x")).data == {"ok": True}
        else:
            expected = (
                errors.RequestTimedOut if isinstance(exc, httpx.TimeoutException) else errors.ConnectionFailed
            )
            with pytest.raises(expected):
                await client.request(method, "/x", json_body={})
    assert len(rec.requests) == (2 if retried else 1)


@pytest.mark.parametrize("method", ["PUT", "POST", "DELETE"])
async def test_a_write_declared_safe_to_resend_is_retried(method: str, clock: FakeClock) -> None:
    rec = Recorder(failure(503), envelope({"ok": True}))
    async with make_client(rec, clock) as client:
        result = await client.request(method, "/x", json_body={}, idempotent=True)
    assert result.data == {"ok": True}
    assert len(rec.requests) == 2


async def test_retry_gives_up_after_max_retries(clock: FakeClock) -> None:
    rec = Recorder(failure(503))
    async with make_client(rec, clock, max_retries=3) as client:
        with pytest.raises(errors.ServerError):
            await client.request("GET", "/x")
    assert len(rec.requests) == 4
    assert clock.sleeps == [0.5, 1.0, 2.0]  # exponential, jitter pinned to 0


async def test_backoff_is_capped(clock: FakeClock) -> None:
    rec = Recorder(failure(503))
    async with make_client(rec, clock, max_retries=6, retry_max_wait=1.5) as client:
        with pytest.raises(errors.ServerError):
            await client.request("GET", "/x")
    assert max(clock.sleeps) == 1.5


async def test_retry_after_seconds_is_honoured(clock: FakeClock) -> None:
    rec = Recorder(failure(429, **{"Retry-After": "7"}), envelope([]))
    async with make_client(rec, clock) as client:
        await client.request("GET", "/x")
    assert clock.sleeps[-1] == 7.0


async def test_retry_after_http_date_is_honoured(clock: FakeClock) -> None:
    when = format_datetime(NOW + timedelta(seconds=12), usegmt=True)
    rec = Recorder(failure(503, **{"Retry-After": when}), envelope([]))
    async with make_client(rec, clock) as client:
        await client.request("GET", "/x")
    assert clock.sleeps[-1] == 12.0


async def test_retry_after_beyond_cap_gives_up_and_says_how_long(clock: FakeClock) -> None:
    rec = Recorder(failure(429, **{"Retry-After": "120"}), envelope([]))
    async with make_client(rec, clock, retry_max_wait=30) as client:
        with pytest.raises(errors.RateLimited) as info:
            await client.request("GET", "/x")
    assert len(rec.requests) == 1
    assert info.value.retry_after == 120
    assert "120 s" in info.value.model_message()


# --- rate limit ------------------------------------------------------------------------------------


async def test_limiter_spaces_requests_per_second(clock: FakeClock) -> None:
    rec = Recorder(envelope([]))
    async with make_client(rec, clock, rate_per_second=5, rate_per_minute=1000) as client:
        for _ in range(10):
            await client.request("GET", "/x")
    # a burst of 5, then one every 0.2 s
    assert len(clock.sleeps) == 5
    assert all(abs(s - 0.2) < 1e-9 for s in clock.sleeps)
    assert clock.now - 1000.0 == pytest.approx(1.0)


async def test_limiter_holds_per_minute_budget(clock: FakeClock) -> None:
    rec = Recorder(envelope([]))
    async with make_client(rec, clock, rate_per_second=1000, rate_per_minute=60) as client:
        for _ in range(70):
            await client.request("GET", "/x")
    # 60 at once, then 10 more at one per second
    assert clock.now - 1000.0 == pytest.approx(10.0)


async def test_limiter_is_shared_by_concurrent_calls() -> None:
    """15 calls arriving together: 5 go at once, the rest queue 0.2 s apart, in arrival order."""
    import anyio

    waits: list[float] = []

    async def record_only(seconds: float) -> None:
        waits.append(seconds)

    frozen = FakeClock()
    frozen.sleep = record_only  # type: ignore[method-assign]
    rec = Recorder(envelope([]))
    client = make_client(rec, frozen, rate_per_second=5, rate_per_minute=1000)
    async with client, anyio.create_task_group() as tg:
        for _ in range(15):
            tg.start_soon(client.request, "GET", "/x")
    assert len(rec.requests) == 15
    assert waits == pytest.approx([0.2 * n for n in range(1, 11)])


# --- binary ----------------------------------------------------------------------------------------


async def test_pdf_comes_back_as_bytes(clock: FakeClock) -> None:
    pdf = b"%PDF-1.4\n%%EOF\n"
    rec = Recorder(httpx.Response(200, content=pdf, headers={"content-type": "application/pdf"}))
    async with make_client(rec, clock) as client:
        result = await client.request_bytes("GET", "/attendance/receipt_print/5")
    assert result.content == pdf
    assert result.content_type == "application/pdf"


async def test_pdf_endpoint_answering_json_is_an_error(clock: FakeClock) -> None:
    async with make_client(Recorder(envelope({"no": "pdf"})), clock) as client:
        with pytest.raises(errors.MalformedResponse, match="application/pdf"):
            await client.request_bytes("GET", "/attendance/receipt_print/5")
    async with make_client(Recorder(failure(200, "Receipt not ready")), clock) as client:
        with pytest.raises(errors.UnsuccessfulResponse, match="Receipt not ready"):
            await client.request_bytes("GET", "/attendance/receipt_print/5")


# --- secrecy ---------------------------------------------------------------------------------------


async def test_canary_tokens_never_leak(clock: FakeClock, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    scripted = [
        failure(401, "Authentication needed."),
        failure(422, "bad", {"x": ["y"]}),
        httpx.ConnectError("refused"),
        httpx.ReadTimeout("slow"),
        httpx.Response(200, content=b"not json"),
    ]
    texts: list[str] = []
    for item in scripted:
        async with make_client(Recorder(item), clock, max_retries=1) as client:
            texts.append(repr(client._auth))  # pyright: ignore[reportPrivateUsage]
            texts.append(repr(client.settings))
            try:
                await client.request("POST", "/records/1", json_body={})
            except errors.AltegioError as exc:
                texts += [str(exc), repr(exc), exc.model_message(), str(exc.__cause__), repr(exc.__cause__)]
    texts += [record.getMessage() for record in caplog.records]
    blob = "\n".join(texts)
    assert CANARY_PARTNER not in blob
    assert CANARY_USER not in blob
