"""A client's history: the comments and files on their card, and their past visits and sales.

Client-card comments are notes the team leaves on a client (not public reviews: see `reviews.py`).
The visit history is a read sent as POST; it pages by a date cursor (Altegio's
`meta.dateCursor.next`), which this module hands out as `next_cursor` and takes back as `cursor`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import Field, JsonValue, TypeAdapter, field_validator

from altegio_mcp.errors import APIStatusError, InvalidArgument
from altegio_mcp.operations import support
from altegio_mcp.operations.base import (
    Args,
    ClientId,
    LocationId,
    LooseText,
    OpContext,
    Operation,
    OptionalClientId,
    OptionalDate,
    Out,
    Result,
    UserText,
    Wire,
    WireNamed,
    as_list,
    empty_is_none,
    first_of,
)
from altegio_mcp.operations.clients import TOOLSET, Phone, client_target
from altegio_mcp.operations.records import ATTENDANCE_CODES, ATTENDANCE_NAMES, AttendanceName
from altegio_mcp.operations.support import RECENT, check_date_order, local_iso, post_never_twice
from altegio_mcp.text import one_line
from altegio_mcp.timeutil import parse_api_datetime, span

PaymentStatus = Literal["not_paid", "paid_not_full", "paid_full", "paid_over"]


# --- client-card comments ------------------------------------------------------------------------


class WireFile(Wire):
    link: str | None = None
    filename: str | None = None


class WireComment(Wire):
    id: int
    create_date: str | None = None
    type: str | None = None
    text: LooseText = None
    files: list[WireFile] = Field(default_factory=list[WireFile])
    user: WireNamed | None = None

    @field_validator("user", mode="before")
    @classmethod
    def _user(cls, value: object) -> object:
        return empty_is_none(value)

    @field_validator("files", mode="before")
    @classmethod
    def _files(cls, value: object) -> object:
        return as_list(value)


COMMENTS = TypeAdapter(list[WireComment])
ONE_COMMENT = TypeAdapter(WireComment)


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


def to_comment(wire: WireComment, tz: ZoneInfo) -> ClientComment:
    return ClientComment(
        id=wire.id,
        created=local_iso(wire.create_date, tz),
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
        target=client_target(loc, a.client_id),
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
    path = f"/clients/{loc}/clients/{a.client_id}/comments"

    async def find_saved() -> WireComment | None:
        # The same text on this client in the last minutes is this comment (a lost answer, a retry).
        res = await ctx.call("GET", path, COMMENTS, target=client_target(loc, a.client_id))
        now = support.utc_now()
        for w in res.data:
            made = parse_api_datetime(w.create_date, tz)
            if made is not None and now - made < RECENT and (w.text or "").strip() == a.text.strip():
                return w
        return None

    async def refusal(_exc: APIStatusError) -> Exception | None:
        return None

    posted = await post_never_twice(
        ctx,
        path,
        {"text": a.text},
        refusal=refusal,
        find_saved=find_saved,
        check=f"list_client_comments(location_id={loc}, client_id={a.client_id})",
        precheck=True,
    )
    if posted.found is not None:
        if posted.existed:
            ctx.notes.append(
                "The same comment was added minutes ago: returned it instead of adding it twice."
            )
        return ClientCommentResult(comment=to_comment(posted.found, tz))
    return ClientCommentResult(comment=to_comment(ONE_COMMENT.validate_python(first_of(posted.answer)), tz))


def render_comment(out: ClientCommentResult) -> str:
    return "\n".join([f"Added comment {describe_comment(out.comment)}", *out.notes])


# --- visit history -------------------------------------------------------------------------------


class WireLine(Wire):
    title: str | None = None
    cost_to_pay: float | None = None
    paid_sum: float | None = None
    payment_status: str | None = None


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
    staff: WireNamed | None = None

    @field_validator("staff", mode="before")
    @classmethod
    def _staff(cls, value: object) -> object:
        return empty_is_none(value)

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
        start=local_iso(wire.date, tz),
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
    check_date_order(a.start_date, a.end_date)
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
        target=client_target(loc, a.client_id or a.client_phone or ""),
        idempotent=True,  # a search: safe to retry although it is a POST
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
        target=lambda a: client_target(a.location_id, a.client_id),
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
        resend_safe=False,
        target=lambda a: client_target(a.location_id, a.client_id),
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
