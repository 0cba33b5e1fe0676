"""The `Operation` declaration, the per-call `OpContext`, and the vocabulary every operation shares.

An `Operation` is the single source of a tool: name, title, description, HTTP method and path,
input and output models, toolset, kind (read / write / destructive), which token it needs, how
to describe a destructive call before it runs, and how to render its result as short text. The
MCP layer (`tools.py`) derives everything else from it.

Field aliases (`LocationId`, `AppointmentId`, `IsoDateTime`, …) carry their descriptions once, so
every tool describes an id or a date the same way and says which tool lists valid values.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Annotated, Any, Generic, Literal, TypeVar, cast
from zoneinfo import ZoneInfo

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    JsonValue,
    PrivateAttr,
    TypeAdapter,
)
from pydantic.config import ExtraValues

from altegio_mcp.client import AltegioAuth, AltegioClient, ApiResult, ApiVersion, Query
from altegio_mcp.errors import (
    AltegioError,
    APIStatusError,
    ConfigurationError,
    ConnectionFailed,
    InvalidArgument,
    LocationNotGranted,
    MalformedResponse,
    NotDelivered,
    RequestTimedOut,
    ServerError,
    Target,
    WriteNotDone,
    WriteOutcomeUnknown,
)
from altegio_mcp.text import USER_TEXT_NOTE
from altegio_mcp.timeutil import TimeError, iso, localize, zone

Method = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
Kind = Literal["read", "write", "destructive"]

InT = TypeVar("InT", bound="Args")
OutT = TypeVar("OutT", bound="Result")
T = TypeVar("T")


# --- shared argument vocabulary ---------------------------------------------------------------

# No description: the server's instructions say once that location_id defaults to the server's
# location (repeated on every tool it cost ~1.4 kB of the default tool list).
LocationId = Annotated[int | None, Field(default=None, ge=1)]
AppointmentId = Annotated[int, Field(ge=1)]  # a bad id is refused naming list_appointments
TeamMemberId = Annotated[int, Field(ge=1)]  # a bad id is refused naming list_team_members
OptionalTeamMemberId = Annotated[
    int | None,
    Field(default=None, ge=1, description="Only this team member."),
]
ClientId = Annotated[int, Field(ge=1, description="Client id; see search_clients.")]
OptionalClientId = Annotated[int | None, Field(default=None, ge=1, description="Only this client id.")]
ServiceId = Annotated[int, Field(ge=1, description="Service id; see list_services.")]
ServiceIds = Annotated[
    list[Annotated[int, Field(ge=1)]],
    Field(min_length=1, max_length=20, description="Service ids; see list_services."),
]
VisitId = Annotated[int, Field(ge=1, description="Visit id (an appointment's visit_id).")]
Ids = list[Annotated[int, Field(ge=1)]]
OptionalServiceIds = Annotated[
    Ids | None,
    Field(default=None, min_length=1, max_length=20, description="Service ids; see list_services."),
]
# Booking dates make no sense outside these years, and dates near year 1 or 9999 overflow the
# datetime arithmetic of zones and day windows, so they are refused with the schema's own error.
FIRST_YEAR, LAST_YEAR = 2000, 2100
AnyDay = TypeVar("AnyDay", date, datetime, None)


def calendar_year(value: AnyDay) -> AnyDay:
    """Pydantic validator: a date or datetime in FIRST_YEAR..LAST_YEAR (None passes)."""
    if value is not None and not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValueError(f"the year must be between {FIRST_YEAR} and {LAST_YEAR}")
    return value


IsoDate = Annotated[date, AfterValidator(calendar_year), Field(description="Local date, YYYY-MM-DD.")]
OptionalDate = Annotated[
    date | None,
    AfterValidator(calendar_year),
    Field(default=None, description="Local date, YYYY-MM-DD."),
]
IsoDateTime = Annotated[
    datetime,
    AfterValidator(calendar_year),
    Field(description="ISO 8601; no offset = location's local time."),
]
OptionalDateTime = Annotated[
    datetime | None,
    AfterValidator(calendar_year),
    Field(default=None, description="ISO 8601; no offset = location's local time."),
]
AllowPast = Annotated[bool, Field(default=False)]  # the name says it; a refusal explains it
Page = Annotated[int, Field(default=1, ge=1, le=9999)]
Detail = Annotated[
    bool,
    Field(default=False, description="Every Altegio field (long)."),
]


# Public text: cleaned on the way in, with the rest of Altegio's answer (`text.clean_wire`).
UserText = Annotated[str | None, Field(default=None, description=USER_TEXT_NOTE)]


# Altegio's answer passed through as it came: the wire model that reads it validates it once, so
# validating it as `JsonValue` first would walk the whole answer twice.
RAW_JSON: TypeAdapter[JsonValue] = cast("TypeAdapter[JsonValue]", TypeAdapter(Any))


class Args(BaseModel):
    """Base of every tool's input: flat fields, unknown names rejected, strings trimmed."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class NoArgs(Args):
    """An operation without arguments."""


class Wire(BaseModel):
    """Base of the models that read Altegio's answers: unknown fields kept, shapes tolerated."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, coerce_numbers_to_str=True)


class WireTitled(Wire):
    """A nested `{id, title}` reference: a position, category, tag, cash desk or payment item."""

    id: int | None = None
    title: str | None = None


class WireNamed(Wire):
    """A nested `{id, name}` reference: a team member or a user."""

    id: int | None = None
    name: str | None = None


def empty_is_none(value: object) -> object:
    """`[]`, `{}` and `null` all mean "none" in Altegio's answers."""
    return value if value else None


def number_as_text(value: object) -> object:
    """Phones, cards and ids such as `api_id` arrive as numbers in some answers; keep them as text."""
    return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


LooseText = Annotated[str | None, BeforeValidator(number_as_text)]


def wire_fields(wire: BaseModel) -> dict[str, JsonValue]:
    """Every field Altegio returned, nulls left out: what `detail=true` adds to a result."""
    dumped: dict[str, Any] = wire.model_dump(mode="json", exclude_none=True)
    return dumped


class Out(BaseModel):
    """Base of every tool's structured output."""

    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True, slots=True)
class Attachment:
    """A document a result carries besides its JSON (the receipt PDF)."""

    uri: str
    mime_type: str
    data: bytes


NOW_DESCRIPTION = "The location's current local date and time, ISO 8601 with offset."


class Result(Out):
    """Base of results: notes about how the inputs were read, and an optional attachment."""

    notes: list[str] = Field(
        default_factory=list[str], description="How inputs were read (e.g. timezone), and warnings."
    )
    _attachment: Attachment | None = PrivateAttr(default=None)

    @property
    def attachment(self) -> Attachment | None:
        return self._attachment

    def attach(self, attachment: Attachment) -> None:
        self._attachment = attachment


class PageMeta(Out):
    """Where a list result sits among all results."""

    page: int = Field(description="This page number.")
    count: int = Field(description="Items on this page.")
    total: int | None = Field(default=None, description="Items on all pages, when Altegio says.")
    next_page: int | None = Field(default=None, description="Call again with page=this for more; null: none.")


def page_meta(meta: Mapping[str, JsonValue], page: int, per_page: int, count: int) -> PageMeta:
    """Build `PageMeta` from Altegio's `meta` (`total_count` or `count`)."""
    raw_total = meta.get("total_count", meta.get("count"))
    total = int(raw_total) if isinstance(raw_total, int | float | str) and str(raw_total).isdigit() else None
    more = page * per_page < total if total is not None else count >= per_page
    return PageMeta(page=page, count=count, total=total, next_page=page + 1 if more else None)


def next_page_hint(meta: PageMeta) -> list[str]:
    """The line a paged result ends with when there is more; none on the last page."""
    return [f"More: call again with page={meta.next_page}."] if meta.next_page else []


def as_list(value: object) -> list[Any]:
    """Altegio sometimes answers one object where the schema says an array, or the reverse."""
    if value is None:
        return []
    if isinstance(value, list):
        return list(value)  # pyright: ignore[reportUnknownArgumentType]
    return [value]


def first_of(value: object) -> object:
    """The object form of an answer that may come as a one-item array."""
    if isinstance(value, list):
        items: list[object] = list(value)  # pyright: ignore[reportUnknownArgumentType]
        return items[0] if items else None
    return value


# --- per-call context ----------------------------------------------------------------------------


@dataclass(slots=True)
class LocationInfo:
    id: int
    title: str
    timezone: str
    currency: str | None = None


class LocationDirectory:
    """Caches each location's timezone and title (partner-token reads), shared by every caller."""

    ttl_seconds = 3600.0

    def __init__(self, client: AltegioClient, clock: Callable[[], float] = time.monotonic) -> None:
        self._client = client
        self._clock = clock
        self._cache: dict[int, tuple[float, LocationInfo]] = {}

    def remember(self, info: LocationInfo) -> None:
        self._cache[info.id] = (self._clock(), info)

    async def get(self, location_id: int) -> LocationInfo:
        hit = self._cache.get(location_id)
        if hit is not None and self._clock() - hit[0] < self.ttl_seconds:
            return hit[1]
        result = await self._client.request(
            "GET",
            f"/company/{location_id}",
            dict[str, JsonValue],
            auth_mode="partner",
            target=Target("location", str(location_id), None, "list_locations"),
        )
        data = result.data
        info = LocationInfo(
            id=location_id,
            title=str(data.get("title") or f"location {location_id}"),
            timezone=str(data.get("timezone_name") or "UTC"),
            currency=str(data["currency_short_title"]) if data.get("currency_short_title") else None,
        )
        self.remember(info)
        return info


@dataclass(slots=True)
class Caller:
    """Who a call acts for: a label for humans and the Altegio user token it carries.

    `locations` limits the call to those location ids (an OAuth grant names the locations the
    user chose); None means every location the user token can reach.
    """

    label: str
    auth: AltegioAuth
    key_id: str = "local"
    login: str | None = None
    token_source: str = ""
    locations: frozenset[int] | None = None

    def allows(self, location_id: int) -> bool:
        return self.locations is None or location_id in self.locations

    def default_location(self, server_default: int | None) -> int | None:
        """The server's default location when this caller may use it, else its only location."""
        if self.locations is None or (server_default is not None and server_default in self.locations):
            return server_default
        return next(iter(self.locations)) if len(self.locations) == 1 else None


@dataclass(slots=True)
class OpContext:
    """What an operation's handler may use for one call."""

    client: AltegioClient
    caller: Caller
    locations: LocationDirectory
    default_location_id: int | None
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    """The current time: the sandbox's own clock in sandbox mode (its data is anchored on it)."""
    notes: list[str] = field(default_factory=list[str])
    writes_sent: int = 0
    resend_safe: bool = False
    """Whether this operation's writes may be re-sent after a lost answer (declared per operation)."""
    journal: Callable[[str, str], None] | None = None
    """Called with (method, path) before each write is sent: the audit's write-ahead intent."""
    settled: list[str] = field(default_factory=list[str])
    """How each write whose answer was lost was confirmed by reading it back."""

    def location_id(self, value: int | None) -> int:
        """The location a call is about: the argument or the default, checked against the caller."""
        if value is not None:
            return self.check_location(value)
        if self.default_location_id is not None:
            return self.check_location(self.default_location_id)
        raise ConfigurationError(
            "location_id is required (no default location is configured): call list_locations to "
            "find the id, then pass it as location_id."
        )

    def check_location(self, location_id: int) -> int:
        """Refuse, before anything is sent, a location outside the caller's grant."""
        granted = self.caller.locations
        if granted is not None and location_id not in granted:
            raise LocationNotGranted(location_id, sorted(granted))
        return location_id

    async def zone(self, location_id: int) -> ZoneInfo:
        info = await self.locations.get(location_id)
        return zone(info.timezone)

    async def now_at(self, location_id: int) -> str:
        """The location's current local date and time, ISO 8601 with its offset."""
        return iso(self.now().astimezone(await self.zone(location_id)))

    async def local_time(self, location_id: int, value: datetime, field_name: str = "datetime") -> datetime:
        """The location-local, offset-carrying form of an input time; a naive one adds a note."""
        tz = await self.zone(location_id)
        try:
            aware, note = localize(value, tz)
        except TimeError as exc:
            raise InvalidArgument(field_name, str(exc)) from exc
        if note:
            self.notes.append(note)
        return aware

    async def call(
        self,
        method: Method,
        path: str,
        model: type[T] | TypeAdapter[T],
        *,
        params: Query | None = None,
        json_body: JsonValue | None = None,
        partner_only: bool = False,
        target: Target | None = None,
        idempotent: bool | None = None,
        api_version: ApiVersion = 1,
        extra: ExtraValues | None = None,
    ) -> ApiResult[T]:
        """One request. A write (anything but a GET, or a POST flagged `idempotent` as a search)
        goes through `write` without a read-back: a lost answer then says the outcome is unknown.
        `extra="ignore"` reads only the fields `model` declares (see `AltegioClient.request`)."""
        if method == "GET" or idempotent:
            return await self.client.request(
                method,
                path,
                model,
                params=params,
                json_body=json_body,
                auth=self.caller.auth,
                auth_mode="partner" if partner_only else "user",
                target=target,
                idempotent=idempotent,
                api_version=api_version,
                extra=extra,
            )
        answer = await self.write(
            method, path, model, params=params, json_body=json_body, target=target, api_version=api_version
        )
        if isinstance(answer, Verified):  # pragma: no cover - only with a read-back
            raise AssertionError("a write without a read-back cannot be verified")
        return answer

    async def write(
        self,
        method: Method,
        path: str,
        model: type[T] | TypeAdapter[T],
        *,
        params: Query | None = None,
        json_body: JsonValue | None = None,
        target: Target | None = None,
        verify: Callable[[], Awaitable[Verdict]] | None = None,
        check: str = "the matching get_ or list_ tool",
        api_version: ApiVersion = 1,
    ) -> ApiResult[T] | Verified:
        """Send one write as a small state machine: intent → sent → outcome.

        The intent is journalled (the audit's write-ahead line) before anything is sent. The
        request is re-sent automatically only when the operation declares that safe
        (`resend_safe`), or when it never reached Altegio. When the answer is lost (the connection
        dropped, the answer was cut off or timed out, or a 5xx), `verify` reads the target back:
        done (a `Verified` with what it found), not done (`WriteNotDone`), or unknown
        (`WriteOutcomeUnknown`, naming `check`, the exact read to look with). After a timeout the
        read waits `write_settle_seconds` first, and "not there yet" stays unknown: Altegio may
        still commit it.
        """
        self.writes_sent += 1
        if self.journal is not None:
            self.journal(method, path)
        try:
            return await self.client.request(
                method,
                path,
                model,
                params=params,
                json_body=json_body,
                auth=self.caller.auth,
                target=target,
                idempotent=self.resend_safe,
                write=True,
                api_version=api_version,
            )
        except NotDelivered as exc:
            raise WriteNotDone(
                exc.message,
                cause=exc,
                check="the connection to Altegio could not be made, so nothing reached it",
            ) from exc
        except (ConnectionFailed, RequestTimedOut, MalformedResponse, ServerError) as exc:
            lost = exc
        timed_out = isinstance(lost, RequestTimedOut)
        if verify is None:
            raise WriteOutcomeUnknown(_lost_text(lost), cause=lost, check=check) from lost
        if timed_out:
            await self.client.pause(self.client.settings.write_settle_seconds)
        try:
            verdict = await verify()
        except AltegioError as exc:
            raise WriteOutcomeUnknown(
                f"{_lost_text(lost)}, and reading it back failed too ({type(exc).__name__})",
                cause=lost,
                check=check,
            ) from exc
        if verdict.done:
            self.notes.append(
                f"Altegio's answer was lost ({_lost_text(lost)}); reading it back ({verdict.how}) "
                "shows the change was made, once. Do not repeat it."
            )
            self.settled.append(verdict.how)
            return Verified(found=verdict.found, how=verdict.how)
        if verdict.done is False and not timed_out:
            raise WriteNotDone(_lost_text(lost), cause=lost, check=verdict.how) from lost
        late = ", and Altegio may still be saving it" if timed_out and verdict.done is False else ""
        raise WriteOutcomeUnknown(_lost_text(lost) + late, cause=lost, check=check) from lost


def _lost_text(exc: AltegioError) -> str:
    if isinstance(exc, APIStatusError):
        return f"Altegio answered HTTP {exc.status_code}"
    return exc.message


@dataclass(frozen=True, slots=True)
class Verdict:
    """What reading a write's target back showed: `done` True, False, or None (cannot tell).

    `how` names the read (for the model and the audit); `found` is what it found, when useful.
    """

    done: bool | None
    how: str
    found: Any = None


@dataclass(frozen=True, slots=True)
class Verified:
    """A write whose answer was lost but whose effect a read-back confirmed."""

    found: Any
    how: str


# --- the declaration -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Confirmation(Generic[InT]):
    """How a destructive operation is previewed before it may run.

    `applies(ctx, args)` says whether this particular call needs confirming (an `update_visit`
    that only edits the comment does not); `preview(ctx, args)` fetches the target and says in
    plain words what will change.
    """

    preview: Callable[[OpContext, InT], Awaitable[str]]
    applies: Callable[[OpContext, InT], bool] = lambda _ctx, _args: True


@dataclass(frozen=True, slots=True, kw_only=True)
class Operation(Generic[InT, OutT]):
    """One Altegio API operation, declared once.

    `core` operations make up the default tool set (the default toolsets' core); the others join
    when their toolset is named explicitly, so the everyday list stays short for the model.
    """

    name: str
    title: str
    description: str
    method: Method
    path: str
    input_model: type[InT]
    output_model: type[OutT]
    toolset: str
    kind: Kind
    handler: Callable[[OpContext, InT], Awaitable[OutT]]
    render: Callable[[OutT], str]
    auth: Literal["user", "partner"] = "user"
    core: bool = True
    confirmation: Confirmation[InT] | None = None
    idempotent: bool | None = None
    resend_safe: bool | None = None
    """Writes only, and required for them: whether re-sending the request after a lost answer is
    safe (one effect however often it arrives). A full-replace PUT is; a PUT that appends a payment,
    a POST that creates, or a DELETE whose repeat answers 404 is not."""
    target: Callable[[InT], Target | None] = lambda _args: None
    read_only_variant: Operation[Any, Any] | None = None
    """What stands in for this operation in read-only mode (a tool that refuses writes itself);
    None: the operation is dropped in read-only mode unless it only reads."""
    omitted: Mapping[str, str] = field(default_factory=dict[str, str])
    """Official parameters of this operation the tool deliberately never sends, each with a one-line
    reason (checked against the contract data by tests/contract)."""

    def __post_init__(self) -> None:
        if self.kind != "read" and self.resend_safe is None:
            raise ValueError(f"{self.name}: a write must declare resend_safe (is re-sending it safe?)")

    @property
    def read_only(self) -> bool:
        return self.kind == "read"

    @property
    def overwrites(self) -> bool:
        """Changes or removes existing data (MCP's destructiveHint), as opposed to only adding."""
        return self.kind == "destructive" or (
            self.kind == "write" and self.method in {"PUT", "PATCH", "DELETE"}
        )

    @property
    def is_idempotent(self) -> bool:
        """MCP's idempotentHint: repeating the call has no further effect. Declared, or else a read,
        or a write whose re-send is safe; never derived from the HTTP method."""
        if self.idempotent is not None:
            return self.idempotent
        return self.kind == "read" or bool(self.resend_safe)
