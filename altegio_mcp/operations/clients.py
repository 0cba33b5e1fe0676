"""Clients: search, read, create, edit, client-card comments and visit history.

A create never makes a second client after a flaky network: when the POST times out or the
connection drops, the location's clients are searched by phone (Altegio allows one client per
phone) and an existing match is returned instead of posting again. An edit is a PUT that needs
`name` and `phone`, so the client is read first and the whole record is sent back with only the
fields the caller gave changed. Client search and visit history are reads sent as POST.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import AfterValidator, BeforeValidator, Field, JsonValue, TypeAdapter, field_validator

from altegio_mcp.errors import APIStatusError, Conflict, InvalidArgument, Target, TransportError
from altegio_mcp.operations.base import (
    Args,
    ClientId,
    Detail,
    LocationId,
    OpContext,
    Operation,
    OptionalClientId,
    OptionalDate,
    Out,
    Page,
    PageMeta,
    Result,
    UserText,
    Wire,
    as_list,
    first_of,
    page_meta,
)
from altegio_mcp.operations.records import ATTENDANCE_CODES, ATTENDANCE_NAMES, AttendanceName
from altegio_mcp.text import clean_text, one_line
from altegio_mcp.timeutil import iso, parse_api_datetime, span

TOOLSET = "clients"
# Fields the search returns per client (it returns only what is asked; `name` is the full name).
SEARCH_FIELDS: list[JsonValue] = ["id", "name", "phone", "email", "visits_count", "last_visit_date"]
GENDER_IDS = {"unknown": 0, "male": 1, "female": 2}
IMPORTANCE_IDS = {"no importance class": 0, "bronze": 1, "silver": 2, "gold": 3}
PaymentStatus = Literal["not_paid", "paid_not_full", "paid_full", "paid_over"]


def digits_of(phone: str | None) -> str:
    return "".join(ch for ch in phone or "" if ch.isdigit())


def _phone_digits(value: str) -> str:
    if not 9 <= len(digits_of(value)) <= 15:
        raise ValueError("a phone needs 9 to 15 digits")
    return ("+" if value.startswith("+") else "") + digits_of(value)


Phone = Annotated[
    str,
    Field(pattern=r"^\+?[0-9 ()-]{9,24}$", description="Phone, 9-15 digits, e.g. +13155550175."),
    AfterValidator(_phone_digits),
]


def _text(value: object) -> object:
    """Phones, cards and the like arrive as numbers in some answers; keep them as text."""
    return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


LooseText = Annotated[str | None, BeforeValidator(_text)]


def _client_target(loc: int | None, client_id: int | str) -> Target:
    return Target("client", str(client_id), loc, "search_clients")


# --- wire models -----------------------------------------------------------------------------------


# Birthdays are dates of the past century, not booking dates, so they skip the 2000-2100 bound.
Birthday = Annotated[date | None, Field(default=None, ge=date(1900, 1, 1), le=date(2100, 1, 1))]


class WireTag(Wire):
    id: int | None = None
    title: str | None = None


class WireClient(Wire):
    id: int
    name: LooseText = None
    surname: LooseText = None
    middle_name: LooseText = None
    phone: LooseText = None
    email: LooseText = None
    comment: LooseText = None
    card: LooseText = None
    birth_date: LooseText = None
    gender_id: int | None = None
    gender: LooseText = None
    importance_id: int | None = None
    importance: LooseText = None
    discount: float | None = None
    sms_check: int | None = None
    sms_not: int | None = None
    categories: list[WireTag] | None = None
    custom_fields: dict[str, JsonValue] | None = None
    visits: int | None = None
    visits_count: int | None = None
    last_visit_date: str | None = None

    @field_validator("categories", mode="before")
    @classmethod
    def _tags(cls, value: object) -> object:
        return None if value is None else as_list(value)

    @field_validator("custom_fields", mode="before")
    @classmethod
    def _fields(cls, value: object) -> object:
        return value or None  # `[]` when there are none


class WireCommentUser(Wire):
    id: int | None = None
    name: str | None = None


class WireFile(Wire):
    link: str | None = None
    filename: str | None = None


class WireComment(Wire):
    id: int
    create_date: str | None = None
    type: str | None = None
    text: LooseText = None
    files: list[WireFile] = Field(default_factory=list[WireFile])
    user: WireCommentUser | None = None

    @field_validator("user", mode="before")
    @classmethod
    def _user(cls, value: object) -> object:
        return value or None

    @field_validator("files", mode="before")
    @classmethod
    def _files(cls, value: object) -> object:
        return as_list(value)


CLIENTS = TypeAdapter(list[WireClient])
ONE_CLIENT = TypeAdapter(WireClient)
COMMENTS = TypeAdapter(list[WireComment])
ONE_COMMENT = TypeAdapter(WireComment)
ANY = TypeAdapter(JsonValue)


# --- outputs ---------------------------------------------------------------------------------------


class Client(Out):
    id: int
    name: UserText
    surname: UserText
    phone: str | None = None
    email: str | None = None
    visits: int | None = None
    last_visit: str | None = Field(default=None, description="Date of the last visit.")
    comment: UserText
    details: dict[str, JsonValue] | None = None


def to_client(wire: WireClient, *, detail: bool = False) -> Client:
    dumped: dict[str, Any] = wire.model_dump(mode="json", exclude_none=True) if detail else {}
    return Client(
        id=wire.id,
        name=wire.name or None,
        surname=wire.surname or None,
        phone=wire.phone or None,
        email=wire.email or None,
        visits=wire.visits_count if wire.visits_count is not None else wire.visits,
        last_visit=(wire.last_visit_date or "")[:10] or None,
        comment=wire.comment or None,
        details=dumped or None,
    )


def describe(c: Client) -> str:
    full = " ".join(p for p in (c.name, c.surname) if p)
    parts = [f"#{c.id} {one_line(full, 60)}".strip()]
    parts += [p for p in (c.phone, c.email) if p]
    if c.visits is not None:
        parts.append(f"{c.visits} visits")
    if c.last_visit:
        parts.append(f"last {c.last_visit}")
    if c.comment:
        parts.append(f"note: {one_line(c.comment, 60)}")
    return " · ".join(parts)


class ClientResult(Result):
    client: Client


def render_one(out: ClientResult) -> str:
    return "\n".join([describe(out.client), *out.notes])


# --- search / get ----------------------------------------------------------------------------------


class SearchClientsArgs(Args):
    location_id: LocationId
    query: str | None = Field(default=None, min_length=1, max_length=100, description="Name, phone or email.")
    client_ids: list[Annotated[int, Field(ge=1)]] | None = Field(
        default=None, min_length=1, max_length=200, description="Only these client ids."
    )
    page: Page
    count: int = Field(default=25, ge=1, le=200, description="Per page.")
    order_by: Literal["id", "name", "last_visit_date", "first_visit_date", "visit_count", "sold_amount"] = (
        "id"
    )
    descending: bool = False


class ClientList(Result):
    location_id: int
    items: list[Client]
    meta: PageMeta


def _search_text(query: str) -> str:
    """A phone typed with spaces or dashes is searched by its digits."""
    digits = digits_of(query)
    looks_like_phone = len(digits) >= 3 and all(ch.isdigit() or ch in "+ ()-" for ch in query)
    return digits if looks_like_phone else query


async def _search(
    ctx: OpContext, loc: int, filters: list[JsonValue], page: int, count: int, order: tuple[str, bool]
) -> tuple[list[WireClient], dict[str, JsonValue]]:
    body: dict[str, JsonValue] = {
        "page": page,
        "page_size": count,
        "fields": SEARCH_FIELDS,
        "order_by": order[0],
        "order_by_direction": "DESC" if order[1] else "ASC",
        "operation": "AND",
        "filters": filters,
    }
    res = await ctx.call(
        "POST",
        f"/company/{loc}/clients/search",
        CLIENTS,
        json_body=body,
        target=Target("location", str(loc), None, "list_locations"),
    )
    return res.data, res.meta


async def search_clients(ctx: OpContext, a: SearchClientsArgs) -> ClientList:
    loc = ctx.location_id(a.location_id)
    filters: list[JsonValue] = []
    if a.query:
        filters.append({"type": "quick_search", "state": {"value": _search_text(a.query)}})
    if a.client_ids:
        ids: list[JsonValue] = list(a.client_ids)
        filters.append({"type": "id", "state": {"value": ids}})
    found, meta = await _search(ctx, loc, filters, a.page, a.count, (a.order_by, a.descending))
    items = [to_client(w) for w in found]
    return ClientList(location_id=loc, items=items, meta=page_meta(meta, a.page, a.count, len(items)))


def render_list(out: ClientList) -> str:
    meta = out.meta
    total = f" of {meta.total}" if meta.total is not None else ""
    lines = [f"{meta.count}{total} clients, page {meta.page}:"] + [describe(c) for c in out.items]
    if not out.items:
        lines = [f"No clients match (page {meta.page})."]
    if meta.next_page:
        lines.append(f"More: call again with page={meta.next_page}.")
    return "\n".join(lines + out.notes)


class GetClientArgs(Args):
    location_id: LocationId
    client_id: ClientId
    detail: Detail


async def fetch_client(ctx: OpContext, loc: int, client_id: int) -> WireClient:
    res = await ctx.call("GET", f"/client/{loc}/{client_id}", ANY, target=_client_target(loc, client_id))
    return ONE_CLIENT.validate_python(first_of(res.data))


async def get_client(ctx: OpContext, a: GetClientArgs) -> ClientResult:
    loc = ctx.location_id(a.location_id)
    return ClientResult(client=to_client(await fetch_client(ctx, loc, a.client_id), detail=a.detail))


# --- create (never twice) ------------------------------------------------------------------------


class DuplicatePhone(Conflict):
    """Altegio refused a client because another one already has the phone."""

    def __init__(self, source: APIStatusError, loc: int, phone: str, existing: WireClient | None) -> None:
        super().__init__(
            source.message,
            method=source.method,
            path=source.path,
            status_code=source.status_code,
            api_message=source.api_message,
            api_errors=source.api_errors,
        )
        self.location_id = loc
        self.phone = phone
        self.existing = existing

    def model_message(self) -> str:
        who = "another client"
        if self.existing is not None:
            name = one_line(clean_text(self.existing.name), 40)
            who = f"client {self.existing.id}" + (f" ({name})" if name else "")
        return (
            f"Not saved: {who} at location {self.location_id} already has phone {self.phone}. "
            f'Use that client\'s id (search_clients with query="{digits_of(self.phone)}" finds it) '
            "instead of creating another one."
        )


def _is_duplicate_phone(exc: APIStatusError) -> bool:
    detail = exc.upstream_detail().lower()
    return "phone" in detail and "already exist" in detail


def _same_phone(a: str | None, b: str) -> bool:
    """Equal digits, or one number the other with a country code in front (at least 9 digits)."""
    x, y = digits_of(a), digits_of(b)
    short, long_ = sorted((x, y), key=len)
    return bool(short) and (x == y or (len(short) >= 9 and long_.endswith(short)))


async def find_by_phone(ctx: OpContext, loc: int, phone: str) -> WireClient | None:
    quick: JsonValue = {"type": "quick_search", "state": {"value": digits_of(phone)}}
    found, _ = await _search(ctx, loc, [quick], 1, 50, ("id", False))
    return next((w for w in found if _same_phone(w.phone, phone)), None)


async def _duplicate(
    ctx: OpContext, exc: APIStatusError, loc: int, phone: str, own_id: int | None
) -> DuplicatePhone:
    try:
        existing = await find_by_phone(ctx, loc, phone)
    except Exception:  # naming the other client is a courtesy; the refusal stands on its own
        existing = None
    if existing is not None and existing.id == own_id:
        existing = None
    return DuplicatePhone(exc, loc, phone, existing)


class CreateClientArgs(Args):
    location_id: LocationId
    name: str = Field(min_length=1, max_length=100, description="First name (or full name).")
    phone: Phone
    surname: str | None = Field(default=None, max_length=100)
    email: str | None = Field(default=None, max_length=120, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    birth_date: Birthday = Field(default=None, description="Birthday, YYYY-MM-DD.")
    comment: str | None = Field(default=None, max_length=1000, description="Note on the client card.")


class CreatedClient(Result):
    client: Client
    created: bool = Field(description="false: an existing client with this phone was returned.")


async def create_client(ctx: OpContext, a: CreateClientArgs) -> CreatedClient:
    loc = ctx.location_id(a.location_id)
    body: dict[str, JsonValue] = {"name": a.name, "phone": a.phone}
    for key, value in (("surname", a.surname), ("email", a.email), ("comment", a.comment)):
        if value:
            body[key] = value
    if a.birth_date:
        body["birth_date"] = a.birth_date.isoformat()
    for attempt in range(2):
        try:
            res = await ctx.call("POST", f"/clients/{loc}", ANY, json_body=body)
        except APIStatusError as exc:
            if _is_duplicate_phone(exc):
                raise await _duplicate(ctx, exc, loc, a.phone, None) from exc
            raise
        except TransportError:
            found = await find_by_phone(ctx, loc, a.phone)
            if found is not None:
                ctx.notes.append(
                    f"The connection failed mid-request; client {found.id} already has phone {a.phone}, "
                    "so it was returned and no second client was created."
                )
                return CreatedClient(client=to_client(found), created=False)
            if attempt == 1:
                raise
            ctx.notes.append("The first attempt failed before Altegio saved anything; it was sent once more.")
            continue
        return CreatedClient(client=to_client(ONE_CLIENT.validate_python(first_of(res.data))), created=True)
    raise AssertionError("unreachable")  # pragma: no cover


def render_created(out: CreatedClient) -> str:
    head = "Created client" if out.created else "Existing client (not created again)"
    return "\n".join([f"{head}: {describe(out.client)}", *out.notes])


# --- update (read, merge, write the full record) ------------------------------------------------------


class UpdateClientArgs(Args):
    location_id: LocationId
    client_id: ClientId
    name: str | None = Field(default=None, min_length=1, max_length=100, description="New first name.")
    surname: str | None = Field(default=None, max_length=100, description="New surname ('' clears it).")
    phone: Phone | None = None
    email: str | None = Field(default=None, max_length=120, description="New email ('' clears it).")
    birth_date: Birthday = Field(default=None, description="New birthday, YYYY-MM-DD.")
    comment: str | None = Field(default=None, max_length=1000, description="New card note ('' clears it).")


class UpdatedClient(Result):
    client: Client
    changed: list[str] = Field(description="Fields this call changed.")


def full_record(wire: WireClient) -> dict[str, JsonValue]:
    """The PUT body that leaves the client as it is: every editable field Altegio returned.

    `spent` and `balance` are left out on purpose: the API documents them as amounts at the time
    the client was added, and its own example shows the balance moving when it is sent again.
    """
    body: dict[str, JsonValue] = {"name": wire.name or "", "phone": wire.phone or ""}
    texts = ("surname", "middle_name", "email", "card", "birth_date", "comment")
    for key in texts:
        value = getattr(wire, key)
        if value is not None:
            body[key] = value
    gender = wire.gender_id if wire.gender_id is not None else GENDER_IDS.get((wire.gender or "").lower())
    importance = wire.importance_id
    if importance is None:
        importance = IMPORTANCE_IDS.get((wire.importance or "").lower())
    numbers = {
        "gender_id": gender,
        "importance_id": importance,
        "discount": wire.discount,
        "sms_check": wire.sms_check,
        "sms_not": wire.sms_not,
    }
    body.update({k: v for k, v in numbers.items() if v is not None})
    if wire.categories is not None:
        # Tags are `categories` on read and create, but `labels` on edit.
        body["labels"] = [t.id for t in wire.categories if t.id is not None]
    if wire.custom_fields:
        body["custom_fields"] = wire.custom_fields
    return body


async def update_client(ctx: OpContext, a: UpdateClientArgs) -> UpdatedClient:
    loc = ctx.location_id(a.location_id)
    changes = a.model_dump(exclude_none=True, exclude={"location_id", "client_id"})
    if not changes:
        raise InvalidArgument(
            "name", "nothing to change: pass at least one of name, surname, phone, email, birth_date, comment"
        )
    wire = await fetch_client(ctx, loc, a.client_id)
    body = full_record(wire)
    for key, value in changes.items():
        body[key] = value.isoformat() if isinstance(value, date) else value
    target = _client_target(loc, a.client_id)
    try:
        res = await ctx.call("PUT", f"/client/{loc}/{a.client_id}", ANY, json_body=body, target=target)
    except APIStatusError as exc:
        if a.phone and _is_duplicate_phone(exc):
            raise await _duplicate(ctx, exc, loc, a.phone, a.client_id) from exc
        raise
    data = res.data[0] if isinstance(res.data, list) and res.data else res.data
    # The edit page documents no answer body; without one the client is read back.
    saved = (
        ONE_CLIENT.validate_python(data)
        if isinstance(data, dict) and data.get("id")
        else await fetch_client(ctx, loc, a.client_id)
    )
    return UpdatedClient(client=to_client(saved), changed=sorted(changes))


def render_updated(out: UpdatedClient) -> str:
    return "\n".join([f"Updated ({', '.join(out.changed)}): {describe(out.client)}", *out.notes])


# --- client-card comments ------------------------------------------------------------------------


class ClientCommentArgs(Args):
    location_id: LocationId
    client_id: ClientId


class AddClientCommentArgs(ClientCommentArgs):
    text: str = Field(min_length=1, max_length=2000, description="Comment text.")


class FileLink(Out):
    link: str | None = None
    filename: UserText


class ClientComment(Out):
    id: int
    created: str | None = None
    type: str | None = Field(default=None, description="default (text) or file (an upload).")
    text: UserText
    files: list[FileLink] | None = None
    author: UserText


class ClientCommentList(Result):
    client_id: int
    items: list[ClientComment]


class ClientCommentResult(Result):
    comment: ClientComment


def _local(raw: str | None, tz: ZoneInfo) -> str | None:
    when = parse_api_datetime(raw, tz)
    return iso(when.astimezone(tz)) if when else None


def to_comment(wire: WireComment, tz: ZoneInfo) -> ClientComment:
    return ClientComment(
        id=wire.id,
        created=_local(wire.create_date, tz),
        type=wire.type,
        text=wire.text or None,
        files=[FileLink(link=f.link, filename=f.filename) for f in wire.files] or None,
        author=wire.user.name if wire.user else None,
    )


def describe_comment(c: ClientComment) -> str:
    head = f"#{c.id} {span(c.created, None)}" + (f" by {one_line(c.author, 40)}" if c.author else "")
    body = [one_line(c.text, 200)] if c.text else []
    body += [f"file {one_line(f.filename, 60)} <{f.link}>" for f in c.files or []]
    return f"{head}: {'; '.join(body) or '(empty)'}"


async def list_client_comments(ctx: OpContext, a: ClientCommentArgs) -> ClientCommentList:
    loc = ctx.location_id(a.location_id)
    tz = await ctx.zone(loc)
    res = await ctx.call(
        "GET",
        f"/clients/{loc}/clients/{a.client_id}/comments",
        COMMENTS,
        target=_client_target(loc, a.client_id),
    )
    return ClientCommentList(client_id=a.client_id, items=[to_comment(w, tz) for w in res.data])


def render_comments(out: ClientCommentList) -> str:
    if not out.items:
        return "\n".join([f"No comments on client {out.client_id}.", *out.notes])
    head = f"{len(out.items)} comments on client {out.client_id}:"
    return "\n".join([head, *(describe_comment(c) for c in out.items), *out.notes])


async def add_client_comment(ctx: OpContext, a: AddClientCommentArgs) -> ClientCommentResult:
    loc = ctx.location_id(a.location_id)
    tz = await ctx.zone(loc)
    res = await ctx.call(
        "POST",
        f"/clients/{loc}/clients/{a.client_id}/comments",
        ANY,
        json_body={"text": a.text},
        target=_client_target(loc, a.client_id),
    )
    return ClientCommentResult(comment=to_comment(ONE_COMMENT.validate_python(first_of(res.data)), tz))


def render_comment(out: ClientCommentResult) -> str:
    return "\n".join([f"Added comment {describe_comment(out.comment)}", *out.notes])


# --- visit history -------------------------------------------------------------------------------


class WireLine(Wire):
    title: str | None = None
    cost_to_pay: float | None = None
    paid_sum: float | None = None
    payment_status: str | None = None


class WirePerson(Wire):
    id: int | None = None
    name: str | None = None


class WirePastItem(Wire):
    """A past appointment (`records[]`) or a product sale (`goods_transactions[]`)."""

    id: int
    comment: LooseText = None
    date: str | None = None
    visit_id: int | None = None
    record_id: int | None = None
    attendance: int | None = None
    services: list[WireLine] = Field(default_factory=list[WireLine])
    goods: list[WireLine] = Field(default_factory=list[WireLine])
    staff: WirePerson | None = None

    @field_validator("staff", mode="before")
    @classmethod
    def _staff(cls, value: object) -> object:
        return value or None

    @field_validator("services", "goods", mode="before")
    @classmethod
    def _lines(cls, value: object) -> object:
        return as_list(value)


class WireHistory(Wire):
    records: list[WirePastItem] = Field(default_factory=list[WirePastItem])
    goods_transactions: list[WirePastItem] = Field(default_factory=list[WirePastItem])

    @field_validator("records", "goods_transactions", mode="before")
    @classmethod
    def _items(cls, value: object) -> object:
        return as_list(value)


HISTORY = TypeAdapter(WireHistory)
CURSOR = r"^(\d{4}-\d{2}-\d{2})?\.\.(\d{4}-\d{2}-\d{2})?$"


class ListClientVisitsArgs(Args):
    location_id: LocationId
    client_id: OptionalClientId = Field(
        default=None, ge=1, description="The client; search_clients finds it."
    )
    client_phone: Phone | None = Field(default=None, description="Or the client's phone.")
    start_date: OptionalDate = Field(default=None, description="From this date (YYYY-MM-DD).")
    end_date: OptionalDate = Field(default=None, description="Up to this date (YYYY-MM-DD).")
    attendance: Literal["no-show", "waiting", "arrived", "confirmed"] | None = Field(
        default=None, description="Only visits with this status."
    )
    payment_statuses: list[PaymentStatus] = Field(default_factory=list[PaymentStatus], max_length=4)
    cursor: str | None = Field(default=None, pattern=CURSOR, description="next_cursor of a previous call.")


class PastLine(Out):
    title: str | None = None
    cost: float | None = None
    paid: float | None = None
    payment_status: str | None = None


class PastVisit(Out):
    appointment_id: int | None = None
    visit_id: int | None = None
    start: str | None = None
    status: AttendanceName | None = None
    team_member: str | None = None
    services: list[PastLine] | None = None
    products: list[PastLine] | None = None
    comment: UserText


class VisitHistory(Result):
    items: list[PastVisit]
    next_cursor: str | None = Field(default=None, description="Pass as cursor for older visits; null: none.")


def _lines(lines: list[WireLine]) -> list[PastLine] | None:
    out = [
        PastLine(title=x.title, cost=x.cost_to_pay, paid=x.paid_sum, payment_status=x.payment_status)
        for x in lines
    ]
    return out or None


def to_past(wire: WirePastItem, tz: ZoneInfo, *, sale: bool) -> PastVisit:
    code = wire.attendance
    return PastVisit(
        appointment_id=(wire.record_id or None) if sale else wire.id,
        visit_id=wire.visit_id or None,
        start=_local(wire.date, tz),
        status=ATTENDANCE_NAMES.get(code, "unknown") if code is not None and not sale else None,
        team_member=wire.staff.name if wire.staff else None,
        services=_lines(wire.services),
        products=_lines(wire.goods),
        comment=wire.comment or None,
    )


def _next_cursor(meta: dict[str, JsonValue]) -> str | None:
    cursor = meta.get("dateCursor")
    nxt = cursor.get("next") if isinstance(cursor, dict) else None
    if not isinstance(nxt, dict):
        return None
    low, high = (str(nxt.get(k) or "")[:10] for k in ("from", "to"))
    return f"{low}..{high}" if low or high else None


async def list_client_visits(ctx: OpContext, a: ListClientVisitsArgs) -> VisitHistory:
    loc = ctx.location_id(a.location_id)
    if a.client_id is None and a.client_phone is None:
        raise InvalidArgument("client_id", "give client_id (search_clients finds it) or client_phone")
    if a.start_date and a.end_date and a.end_date < a.start_date:
        raise InvalidArgument("end_date", f"{a.end_date} is before start_date {a.start_date}")
    low = a.start_date.isoformat() if a.start_date else None
    high = a.end_date.isoformat() if a.end_date else None
    if a.cursor:
        # The cursor is Altegio's `meta.dateCursor.next` window; it replaces the date range.
        low, high = (part or None for part in a.cursor.split(".."))
    tz = await ctx.zone(loc)
    statuses: list[JsonValue] = list(a.payment_statuses)
    body: dict[str, JsonValue] = {
        "client_id": a.client_id,
        "client_phone": a.client_phone,
        "from": low,
        "to": high,
        "payment_statuses": statuses,
        "attendance": ATTENDANCE_CODES[a.attendance] if a.attendance else None,
    }
    res = await ctx.call(
        "POST",
        f"/company/{loc}/clients/visits/search",
        HISTORY,
        json_body=body,
        target=_client_target(loc, a.client_id or a.client_phone or ""),
    )
    items = [to_past(w, tz, sale=False) for w in res.data.records]
    items += [to_past(w, tz, sale=True) for w in res.data.goods_transactions]
    items.sort(key=lambda v: datetime.fromisoformat(v.start).timestamp() if v.start else 0.0, reverse=True)
    return VisitHistory(items=items, next_cursor=_next_cursor(res.meta))


def describe_past(v: PastVisit) -> str:
    parts = [f"{span(v.start, None)}"]
    if v.appointment_id:
        parts[0] = f"#{v.appointment_id} {parts[0]}"
    if v.status:
        parts.append(v.status)
    if v.team_member:
        parts.append(f"with {one_line(v.team_member, 40)}")
    for line in (v.services or []) + (v.products or []):
        money = f" {line.cost:g}" if line.cost is not None else ""
        parts.append(
            f"{one_line(line.title, 40)}{money}"
            + (f" ({line.payment_status})" if line.payment_status else "")
        )
    if v.comment:
        parts.append(f"note: {one_line(v.comment, 60)}")
    return " · ".join(parts)


def render_visits(out: VisitHistory) -> str:
    lines = [f"{len(out.items)} past visits and sales, newest first:"] + [describe_past(v) for v in out.items]
    if not out.items:
        lines = ["No visits match."]
    if out.next_cursor:
        lines.append(f'More: call again with the same arguments and cursor="{out.next_cursor}".')
    return "\n".join(lines + out.notes)


# --- declarations ----------------------------------------------------------------------------------

OPERATIONS = (
    Operation(
        name="search_clients",
        title="Search clients",
        description="Find clients by name, phone or email, or by ids. Use before booking or creating a client.",
        method="POST",
        path="/company/{location_id}/clients/search",
        input_model=SearchClientsArgs,
        output_model=ClientList,
        toolset=TOOLSET,
        kind="read",
        handler=search_clients,
        render=render_list,
        idempotent=True,
    ),
    Operation(
        name="get_client",
        title="Get a client",
        description="Get one client's card: name, phone, email, visits, note.",
        method="GET",
        path="/client/{location_id}/{id}",
        input_model=GetClientArgs,
        output_model=ClientResult,
        toolset=TOOLSET,
        kind="read",
        handler=get_client,
        render=render_one,
        target=lambda a: _client_target(a.location_id, a.client_id),
    ),
    Operation(
        name="create_client",
        title="Add a client",
        description="Add a client (name + phone); refuses a phone already on file (search_clients first).",
        method="POST",
        path="/clients/{location_id}",
        input_model=CreateClientArgs,
        output_model=CreatedClient,
        toolset=TOOLSET,
        kind="write",
        handler=create_client,
        render=render_created,
    ),
    Operation(
        name="update_client",
        title="Edit a client",
        description="Edit a client's card: pass only what changes; the rest is kept.",
        method="PUT",
        path="/client/{location_id}/{id}",
        input_model=UpdateClientArgs,
        output_model=UpdatedClient,
        toolset=TOOLSET,
        kind="write",
        handler=update_client,
        render=render_updated,
        target=lambda a: _client_target(a.location_id, a.client_id),
    ),
    Operation(
        name="list_client_comments",
        core=False,
        title="List client comments",
        description="List the comments and files on a client's card (not reviews).",
        method="GET",
        path="/clients/{location_id}/clients/{client_id}/comments",
        input_model=ClientCommentArgs,
        output_model=ClientCommentList,
        toolset=TOOLSET,
        kind="read",
        handler=list_client_comments,
        render=render_comments,
        target=lambda a: _client_target(a.location_id, a.client_id),
    ),
    Operation(
        name="add_client_comment",
        core=False,
        title="Add a client comment",
        description="Add a comment to a client's card (not a review).",
        method="POST",
        path="/clients/{location_id}/clients/{client_id}/comments",
        input_model=AddClientCommentArgs,
        output_model=ClientCommentResult,
        toolset=TOOLSET,
        kind="write",
        handler=add_client_comment,
        render=render_comment,
        target=lambda a: _client_target(a.location_id, a.client_id),
    ),
    Operation(
        name="list_client_visits",
        core=False,
        title="List a client's visits",
        description="A client's visit history (legacy: records) and product sales, newest first; pages by cursor.",
        method="POST",
        path="/company/{location_id}/clients/visits/search",
        input_model=ListClientVisitsArgs,
        output_model=VisitHistory,
        toolset=TOOLSET,
        kind="read",
        handler=list_client_visits,
        render=render_visits,
        idempotent=True,
    ),
)
