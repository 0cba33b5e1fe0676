"""Who and what can be booked online (toolset `availability`): bookable team members and services.

`list_bookable_team_members` (`book_staff`) and `list_bookable_services` (`book_services`) are the
online-booking view of the team and the catalog: public endpoints that take the partner token
alone, and that narrow down by the services, team member and start already chosen. A start is read
in the location's local time and sent as its wall time, as the pages document it.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, JsonValue, TypeAdapter, field_validator

from altegio_mcp.errors import InvalidArgument
from altegio_mcp.operations.availability import TOOLSET
from altegio_mcp.operations.base import (
    RAW_JSON,
    Args,
    Detail,
    Ids,
    LocationId,
    OpContext,
    Operation,
    OptionalDateTime,
    OptionalServiceIds,
    OptionalTeamMemberId,
    Out,
    Result,
    Wire,
    WireTitled,
    empty_is_none,
    first_of,
    wire_fields,
)
from altegio_mcp.operations.support import (
    api_dates,
    location_target,
    member_target,
    whole_minutes,
    wire_list,
)
from altegio_mcp.text import one_line
from altegio_mcp.timeutil import iso

ANY = RAW_JSON


def _money(low: float | None, high: float | None, currency: str | None) -> str:
    """A price or price range with its currency, e.g. `30–45 USD`; empty when there is none."""
    if not low and not high:
        return ""
    text = f"{low or 0:g}" if low == high or not high else f"{low or 0:g}–{high:g}"
    return f"{text} {currency}" if currency else text


# --- list_bookable_team_members (GET /book_staff) -------------------------------------------------


class ListBookableTeamMembersArgs(Args):
    location_id: LocationId
    service_ids: OptionalServiceIds
    datetime: OptionalDateTime
    detail: Detail


class WireBookStaff(Wire):
    id: int
    name: str | None = None
    specialization: str | None = None
    position: WireTitled | None = None
    bookable: bool | None = None
    rating: float | None = None
    seance_date: str | None = None
    session_date: str | None = None

    @field_validator("position", mode="before")
    @classmethod
    def _no_position(cls, value: object) -> object:
        return empty_is_none(value)


class BookableTeamMember(Out):
    id: int
    name: str | None = None
    specialization: str | None = None
    position: str | None = None
    bookable: bool | None = Field(default=None, description="Has free times online.")
    next_free_date: str | None = Field(default=None, description="Next day with free times, YYYY-MM-DD.")
    rating: float | None = None
    details: dict[str, JsonValue] | None = None


class BookableTeamMembers(Result):
    location_id: int
    datetime: str | None = Field(default=None, description="The start asked about, with offset.")
    items: list[BookableTeamMember]


BOOK_STAFF = TypeAdapter(list[WireBookStaff])


async def list_bookable_team_members(ctx: OpContext, a: ListBookableTeamMembersArgs) -> BookableTeamMembers:
    loc = ctx.location_id(a.location_id)
    start = await ctx.local_time(loc, a.datetime) if a.datetime else None
    params: dict[str, Any] = {
        "service_ids[]": [str(s) for s in a.service_ids or []] or None,
        # The documented form is the location's wall time without an offset (e.g. 2026-09-09T18:30).
        "datetime": f"{start:%Y-%m-%dT%H:%M}" if start else None,
    }
    res = await ctx.call(
        "GET", f"/book_staff/{loc}", ANY, params=params, partner_only=True, target=location_target(loc)
    )
    items: list[BookableTeamMember] = []
    for wire in BOOK_STAFF.validate_python([w for w in wire_list(res.data) if w]):
        next_day = api_dates([wire.seance_date or wire.session_date])
        items.append(
            BookableTeamMember(
                id=wire.id,
                name=wire.name,
                specialization=wire.specialization or None,
                position=wire.position.title if wire.position else None,
                bookable=wire.bookable,
                next_free_date=next_day[0] if next_day else None,
                rating=wire.rating,
                details=wire_fields(wire) if a.detail else None,
            )
        )
    return BookableTeamMembers(location_id=loc, datetime=iso(start) if start else None, items=items)


def render_bookable_team_members(out: BookableTeamMembers) -> str:
    when = f" free at {out.datetime}" if out.datetime else ""
    if not out.items:
        line = f"No team members{when} for these services at location {out.location_id}."
        return "\n".join([line, *out.notes])
    lines = [f"{len(out.items)} team members{when} at location {out.location_id}:"]
    for m in out.items:
        parts = [f"#{m.id} {one_line(m.name, 40) or 'unnamed'}"]
        if m.specialization:
            parts.append(one_line(m.specialization, 40))
        if m.next_free_date:
            parts.append(f"next free {m.next_free_date}")
        elif m.bookable is False:
            parts.append("not bookable online")
        lines.append(" · ".join(parts))
    return "\n".join(lines + out.notes)


# --- list_bookable_services (GET /book_services) --------------------------------------------------


class ListBookableServicesArgs(Args):
    location_id: LocationId
    team_member_id: OptionalTeamMemberId
    datetime: OptionalDateTime
    service_ids: Ids | None = Field(
        default=None,
        min_length=1,
        max_length=20,
        description="Services already chosen for the same appointment; needs team_member_id and datetime.",
    )
    detail: Detail


class WireBookService(Wire):
    id: int
    title: str | None = None
    category_id: int | None = None
    price_min: float | None = None
    price_max: float | None = None
    seance_length: int | None = None
    session_length: int | None = None


class WireBookServices(Wire):
    services: list[WireBookService] = Field(default_factory=list[WireBookService])
    category: list[WireTitled] = Field(default_factory=list[WireTitled])
    categories: list[WireTitled] = Field(default_factory=list[WireTitled])

    @field_validator("services", "category", "categories", mode="before")
    @classmethod
    def _none_is_empty(cls, value: object) -> object:
        return value or []


class BookableService(Out):
    id: int
    title: str | None = None
    category: str | None = None
    price_min: float | None = None
    price_max: float | None = None
    length_minutes: int | None = Field(default=None, description="With this team member.")
    details: dict[str, JsonValue] | None = None


class BookableServices(Result):
    location_id: int
    team_member_id: int | None = None
    datetime: str | None = None
    currency: str | None = None
    items: list[BookableService]


BOOK_SERVICES = TypeAdapter(WireBookServices)


async def list_bookable_services(ctx: OpContext, a: ListBookableServicesArgs) -> BookableServices:
    loc = ctx.location_id(a.location_id)
    if a.datetime is not None and a.team_member_id is None:
        raise InvalidArgument(
            "datetime", "needs team_member_id (list_bookable_team_members shows who is free then)"
        )
    if a.service_ids and (a.team_member_id is None or a.datetime is None):
        raise InvalidArgument(
            "service_ids",
            "adds to an appointment being planned: give team_member_id and datetime too, or leave it out",
        )
    info = await ctx.locations.get(loc)
    start = await ctx.local_time(loc, a.datetime) if a.datetime else None
    params: dict[str, Any] = {
        "staff_id": a.team_member_id,
        "datetime": f"{start:%Y-%m-%dT%H:%M}" if start else None,
        "service_ids[]": [str(s) for s in a.service_ids or []] or None,
    }
    res = await ctx.call(
        "GET",
        f"/book_services/{loc}",
        ANY,
        params=params,
        partner_only=True,
        target=member_target(loc, a.team_member_id),
    )
    raw = first_of(res.data)
    wire = BOOK_SERVICES.validate_python(raw if isinstance(raw, dict) else {})
    titles = {c.id: c.title for c in [*wire.category, *wire.categories] if c.id is not None}
    items = [
        BookableService(
            id=s.id,
            title=s.title,
            category=titles.get(s.category_id) if s.category_id is not None else None,
            price_min=s.price_min,
            price_max=s.price_max,
            length_minutes=whole_minutes(s.seance_length or s.session_length) if a.team_member_id else None,
            details=wire_fields(s) if a.detail else None,
        )
        for s in wire.services
    ]
    return BookableServices(
        location_id=loc,
        team_member_id=a.team_member_id,
        datetime=iso(start) if start else None,
        currency=info.currency,
        items=items,
    )


def render_bookable_services(out: BookableServices) -> str:
    who = f" with team member {out.team_member_id}" if out.team_member_id else ""
    when = f" at {out.datetime}" if out.datetime else ""
    if not out.items:
        return "\n".join(
            [f"No services bookable online{who}{when} at location {out.location_id}.", *out.notes]
        )
    lines = [f"{len(out.items)} services bookable online{who}{when} at location {out.location_id}:"]
    for s in out.items:
        parts = [f"#{s.id} {one_line(s.title, 60) or 'untitled'}"]
        if s.category:
            parts.append(one_line(s.category, 40))
        if s.length_minutes:
            parts.append(f"{s.length_minutes} min")
        price = _money(s.price_min, s.price_max, out.currency)
        if price:
            parts.append(price)
        lines.append(" · ".join(parts))
    return "\n".join(lines + out.notes)


# --- declarations ----------------------------------------------------------------------------------

OPERATIONS = (
    Operation(
        name="list_bookable_team_members",
        core=False,
        title="Bookable team members",
        description="Team members (staff) bookable for services, optionally at a time, with their next free day (book_staff).",
        method="GET",
        path="/book_staff/{location_id}",
        input_model=ListBookableTeamMembersArgs,
        output_model=BookableTeamMembers,
        toolset=TOOLSET,
        kind="read",
        handler=list_bookable_team_members,
        render=render_bookable_team_members,
        auth="partner",
    ),
    Operation(
        name="list_bookable_services",
        core=False,
        title="Bookable services",
        description="Services bookable online, with category, price and, for a team member (staff), length (book_services).",
        method="GET",
        path="/book_services/{location_id}",
        input_model=ListBookableServicesArgs,
        output_model=BookableServices,
        toolset=TOOLSET,
        kind="read",
        handler=list_bookable_services,
        render=render_bookable_services,
        auth="partner",
    ),
)
