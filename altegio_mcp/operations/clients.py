"""Clients: the client card as Altegio sends it and as tools return it, plus search and read.

Client search is a read sent as POST. The shared client vocabulary (`Phone`, `Client`,
`client_target`, `fetch_client`, `find_clients`) is used by `client_edits.py` (create and edit) and
`client_history.py` (comments and past visits).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field, JsonValue, TypeAdapter, field_validator

from altegio_mcp.errors import Target
from altegio_mcp.operations.base import (
    RAW_JSON,
    Args,
    ClientId,
    Detail,
    LocationId,
    LooseText,
    OpContext,
    Operation,
    Out,
    Page,
    PageMeta,
    Result,
    UserText,
    Wire,
    WireTitled,
    as_list,
    first_of,
    next_page_hint,
    page_meta,
    wire_fields,
)
from altegio_mcp.operations.support import location_target
from altegio_mcp.text import one_line

TOOLSET = "clients"
# Fields the search returns per client (it returns only what is asked; `name` is the full name).
SEARCH_FIELDS: list[JsonValue] = ["id", "name", "phone", "email", "visits_count", "last_visit_date"]


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


def client_target(loc: int | None, client_id: int | str) -> Target:
    return Target("client", str(client_id), loc, "search_clients")


# --- wire models -----------------------------------------------------------------------------------


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
    categories: list[WireTitled] | None = None
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


CLIENTS = TypeAdapter(list[WireClient])
ONE_CLIENT = TypeAdapter(WireClient)
ANY = RAW_JSON


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
    return Client(
        id=wire.id,
        name=wire.name or None,
        surname=wire.surname or None,
        phone=wire.phone or None,
        email=wire.email or None,
        visits=wire.visits_count if wire.visits_count is not None else wire.visits,
        last_visit=(wire.last_visit_date or "")[:10] or None,
        comment=wire.comment or None,
        details=wire_fields(wire) if detail else None,
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


async def find_clients(
    ctx: OpContext, loc: int, filters: list[JsonValue], page: int, count: int, order: tuple[str, bool]
) -> tuple[list[WireClient], dict[str, JsonValue]]:
    """One page of the client search (`POST .../clients/search`) with these filters, and its meta."""
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
        target=location_target(loc),
        idempotent=True,  # a search: safe to retry although it is a POST
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
    found, meta = await find_clients(ctx, loc, filters, a.page, a.count, (a.order_by, a.descending))
    items = [to_client(w) for w in found]
    return ClientList(location_id=loc, items=items, meta=page_meta(meta, a.page, a.count, len(items)))


def render_list(out: ClientList) -> str:
    meta = out.meta
    total = f" of {meta.total}" if meta.total is not None else ""
    lines = [f"{meta.count}{total} clients, page {meta.page}:"] + [describe(c) for c in out.items]
    if not out.items:
        lines = [f"No clients match (page {meta.page})."]
    return "\n".join([*lines, *next_page_hint(meta), *out.notes])


class GetClientArgs(Args):
    location_id: LocationId
    client_id: ClientId
    detail: Detail


async def fetch_client(ctx: OpContext, loc: int, client_id: int) -> WireClient:
    res = await ctx.call("GET", f"/client/{loc}/{client_id}", ANY, target=client_target(loc, client_id))
    return ONE_CLIENT.validate_python(first_of(res.data))


async def get_client(ctx: OpContext, a: GetClientArgs) -> ClientResult:
    loc = ctx.location_id(a.location_id)
    return ClientResult(client=to_client(await fetch_client(ctx, loc, a.client_id), detail=a.detail))


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
        target=lambda a: client_target(a.location_id, a.client_id),
    ),
)
