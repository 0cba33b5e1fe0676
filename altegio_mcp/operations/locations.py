"""Locations (legacy: companies, salons) and the caller's identity: whoami, list, get.

Every location answer carries the IANA timezone and the UTC offset in force now, and each one
read here is remembered in the `LocationDirectory`, so later calls need no `GET /company/{id}` to
learn a zone. Currency is only on the list endpoint; no v1 location endpoint has structured
opening hours, so none is invented here.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import Field, JsonValue, TypeAdapter

from altegio_mcp.errors import AuthenticationFailed, ConfigurationError, Target
from altegio_mcp.operations.base import (
    NOW_DESCRIPTION,
    RAW_JSON,
    Args,
    Detail,
    LocationId,
    LocationInfo,
    NoArgs,
    OpContext,
    Operation,
    Out,
    Page,
    PageMeta,
    Result,
    Wire,
    first_of,
    next_page_hint,
    page_meta,
    wire_fields,
)
from altegio_mcp.operations.support import location_target
from altegio_mcp.timeutil import TimeError, iso, now_text, offset_text, zone

TOOLSET = "account"
LOGIN_HINT = "no user token: run `altegio-mcp login` (or set ALTEGIO_USER_TOKEN)"
GET_NOTE = (
    "Currency is only on list_locations. Altegio v1 has no structured opening hours for a location: "
    "team-member schedules show when it works."
)


class WireLocation(Wire):
    id: int
    title: str | None = None
    city: str | None = None
    address: str | None = None
    phone: str | None = None
    timezone_name: str | None = None
    timezone: float | None = None
    currency_short_title: str | None = None


LOCATIONS = TypeAdapter(list[WireLocation])
ONE_LOCATION = TypeAdapter(WireLocation)
ANY = RAW_JSON


class Location(Out):
    id: int
    title: str | None = None
    city: str | None = None
    address: str | None = None
    phone: str | None = None
    timezone: str | None = Field(default=None, description="IANA zone of the location's times.")
    utc_offset: str | None = Field(default=None, description="UTC offset in force now, e.g. -05:00.")
    now: str | None = Field(default=None, description=NOW_DESCRIPTION)
    currency: str | None = None
    details: dict[str, JsonValue] | None = None


def local_now(tz_name: str | None, now: datetime) -> datetime | None:
    """The location's wall clock now, when its zone is known."""
    if tz_name:
        try:
            return now.astimezone(zone(tz_name))
        except TimeError:
            return None
    return None


def current_offset(local: datetime | None, hours: float | None = None) -> str | None:
    """`-05:00` for the zone now; Altegio's numeric hour offset only when the zone is unknown."""
    if local is not None:
        return offset_text(local)
    if hours is None:
        return None
    minutes = round(abs(hours) * 60)
    return f"{'-' if hours < 0 else '+'}{minutes // 60:02d}:{minutes % 60:02d}"


def to_location(wire: WireLocation, now: datetime, *, detail: bool = False) -> Location:
    local = local_now(wire.timezone_name, now)
    return Location(
        id=wire.id,
        title=wire.title,
        city=wire.city or None,
        address=wire.address or None,
        phone=wire.phone or None,
        timezone=wire.timezone_name or None,
        utc_offset=current_offset(local, wire.timezone),
        now=iso(local) if local is not None else None,
        currency=wire.currency_short_title or None,
        details=wire_fields(wire) if detail else None,
    )


def remember(ctx: OpContext, wire: WireLocation) -> None:
    """Keep the zone so the next call about this location skips `GET /company/{id}`."""
    if wire.timezone_name:
        ctx.locations.remember(
            LocationInfo(
                id=wire.id,
                title=wire.title or f"location {wire.id}",
                timezone=wire.timezone_name,
                currency=wire.currency_short_title or None,
            )
        )


def describe(loc: Location) -> str:
    parts = [f"#{loc.id} {loc.title or ''}".strip()]
    place = loc.address or loc.city
    if place:
        parts.append(place)
    if loc.timezone:
        parts.append(f"{loc.timezone} (UTC{loc.utc_offset or '?'})")
    if loc.now:
        parts.append(f"now {datetime.fromisoformat(loc.now):%a %Y-%m-%d %H:%M}")
    if loc.currency:
        parts.append(f"currency {loc.currency}")
    if loc.phone:
        parts.append(loc.phone)
    return " · ".join(parts)


# --- whoami ----------------------------------------------------------------------------------------


class WhoAmI(Result):
    user: str = Field(description="Who the server acts for.")
    login: str | None = None
    token_source: str | None = Field(default=None, description="Where the user token came from.")
    has_user_token: bool
    default_location_id: int | None = None
    now: str | None = Field(
        default=None,
        description="Current local date and time at the default location (else the first), ISO 8601 with offset.",
    )
    locations: list[Location] = Field(default_factory=list[Location], description="Locations it can manage.")


async def whoami(ctx: OpContext, _a: NoArgs) -> WhoAmI:
    caller = ctx.caller
    out = WhoAmI(
        user=caller.label,
        login=caller.login,
        token_source=caller.token_source or None,
        has_user_token=caller.auth.has_user,
        default_location_id=ctx.default_location_id,
    )
    if not caller.auth.has_user:
        out.notes.append(LOGIN_HINT)
        return out
    try:
        res = await ctx.call("GET", "/companies", LOCATIONS, params={"my": 1})
    except AuthenticationFailed:
        out.notes.append(f"Altegio refused the user token (HTTP 401); {LOGIN_HINT}")
        return out
    except ConfigurationError as exc:
        out.notes.append(exc.message)
        return out
    for wire in res.data:
        remember(ctx, wire)
    now = ctx.now()
    out.locations = [to_location(w, now) for w in res.data if granted(ctx, w)]
    home = next((loc for loc in out.locations if loc.id == ctx.default_location_id), None)
    out.now = (home or (out.locations[0] if out.locations else Location(id=0))).now
    return out


def granted(ctx: OpContext, wire: WireLocation) -> bool:
    """Whether the caller may use this location (an OAuth grant lists the ones it covers)."""
    return ctx.caller.allows(wire.id)


def render_whoami(out: WhoAmI) -> str:
    who = f"Acting for {out.user}" + (
        f" (login {out.login})" if out.login and out.login not in out.user else ""
    )
    token = f"user token: {out.token_source}" if out.has_user_token else "no user token"
    lines = [f"{who}; {token}."]
    if out.now:
        lines.append(now_text(datetime.fromisoformat(out.now)))
    if out.default_location_id is not None:
        lines.append(f"Default location: {out.default_location_id}.")
    if out.locations:
        lines.append(f"{len(out.locations)} locations it can manage:")
        lines += [describe(loc) for loc in out.locations]
    elif out.has_user_token:
        lines.append("No locations returned for this user.")
    return "\n".join(lines + out.notes)


# --- list / get ------------------------------------------------------------------------------------


class ListLocationsArgs(Args):
    my: bool = Field(default=True, description="true: only the locations this user may manage.")
    active: bool = Field(default=False, description="true: only locations with an active licence.")
    page: Page
    count: int = Field(default=50, ge=1, le=200, description="Per page.")
    detail: Detail


class LocationList(Result):
    items: list[Location]
    meta: PageMeta


async def list_locations(ctx: OpContext, a: ListLocationsArgs) -> LocationList:
    params = {"my": 1 if a.my else None, "active": 1 if a.active else None, "page": a.page, "count": a.count}
    # Without `my` the list is a partner-token read; `my=1` needs the user token as well.
    res = await ctx.call("GET", "/companies", LOCATIONS, params=params, partner_only=not a.my)
    for wire in res.data:
        remember(ctx, wire)
    now = ctx.now()
    items = [to_location(w, now, detail=a.detail) for w in res.data if granted(ctx, w)]
    return LocationList(items=items, meta=page_meta(res.meta, a.page, a.count, len(items)))


def render_list(out: LocationList) -> str:
    meta = out.meta
    if not out.items:
        lines = [f"No locations (page {meta.page})."]
    else:
        lines = [f"{meta.count} locations, page {meta.page}:"] + [describe(loc) for loc in out.items]
    return "\n".join([*lines, *next_page_hint(meta), *out.notes])


class GetLocationArgs(Args):
    location_id: LocationId
    detail: Detail


class LocationResult(Result):
    location: Location


async def get_location(ctx: OpContext, a: GetLocationArgs) -> LocationResult:
    loc = ctx.location_id(a.location_id)
    res = await ctx.call(
        "GET",
        f"/company/{loc}",
        ANY,
        partner_only=True,
        target=location_target(loc),
    )
    wire = ONE_LOCATION.validate_python(first_of(res.data))
    remember(ctx, wire)
    out = LocationResult(location=to_location(wire, ctx.now(), detail=a.detail))
    out.notes.append(GET_NOTE)
    return out


def render_one(out: LocationResult) -> str:
    return "\n".join([describe(out.location), *out.notes])


# --- declarations ----------------------------------------------------------------------------------

OPERATIONS = (
    Operation(
        name="whoami",
        title="Who am I",
        description="Which Altegio user this server acts for and its locations (legacy: companies), with timezone and currency. No tokens.",
        method="GET",
        path="/companies?my=1",
        input_model=NoArgs,
        output_model=WhoAmI,
        toolset=TOOLSET,
        kind="read",
        omitted={
            "active": "whoami reads only the caller's own locations (my=1)",
            "business_group_id": "whoami reads only the caller's own locations (my=1)",
            "business_type_id": "whoami reads only the caller's own locations (my=1)",
            "city_id": "whoami reads only the caller's own locations (my=1)",
            "count": "whoami reads only the caller's own locations (my=1)",
            "forBooking": "whoami reads only the caller's own locations (my=1)",
            "group_id": "whoami reads only the caller's own locations (my=1)",
            "hide_record_type_activity": "whoami reads only the caller's own locations (my=1)",
            "hide_record_type_mixed": "whoami reads only the caller's own locations (my=1)",
            "hide_record_type_single": "whoami reads only the caller's own locations (my=1)",
            "id": "whoami reads only the caller's own locations (my=1)",
            "include": "whoami reads only the caller's own locations (my=1)",
            "min_id": "whoami reads only the caller's own locations (my=1)",
            "page": "whoami reads only the caller's own locations (my=1)",
            "showBookforms": "whoami reads only the caller's own locations (my=1)",
            "show_deleted": "whoami reads only the caller's own locations (my=1)",
            "show_groups": "whoami reads only the caller's own locations (my=1)",
        },
        handler=whoami,
        render=render_whoami,
    ),
    Operation(
        name="list_locations",
        core=False,
        title="List locations",
        description="List locations (legacy: companies, salons) this user manages: address, timezone, offset, currency.",
        method="GET",
        path="/companies",
        input_model=ListLocationsArgs,
        output_model=LocationList,
        toolset=TOOLSET,
        kind="read",
        omitted={
            "id": "one location is read with get_location",
            "group_id": "chain filtering is not offered; my=1 lists the caller's locations",
            "city_id": "geographic search is out of scope for a front desk",
            "business_group_id": "directory search by business group is out of scope",
            "business_type_id": "directory search by business type is out of scope",
            "min_id": "id-range paging is replaced by page/count",
            "show_deleted": "deleted locations cannot be booked",
            "forBooking": "next_slot is read with list_free_times",
            "show_groups": "chains are not shown",
            "showBookforms": "booking widgets are not shown",
            "hide_record_type_single": "booking-type filters are not offered",
            "hide_record_type_activity": "booking-type filters are not offered",
            "hide_record_type_mixed": "booking-type filters are not offered",
            "include": "staff, positions, accounts, storages and expenses have their own tools or are out of scope",
        },
        handler=list_locations,
        render=render_list,
    ),
    Operation(
        name="get_location",
        core=False,
        title="Get a location",
        description="Get one location (legacy: company, salon) with timezone and current UTC offset.",
        method="GET",
        path="/company/{location_id}",
        input_model=GetLocationArgs,
        output_model=LocationResult,
        toolset=TOOLSET,
        kind="read",
        omitted={
            "my": "access rights are not shown",
            "forBooking": "next_slot is read with list_free_times",
            "show_groups": "chains are not shown",
            "showBookforms": "booking widgets are not shown",
            "bookform_id": "booking widgets are not shown",
        },
        handler=get_location,
        render=render_one,
        auth="partner",
        target=lambda a: Target("location", str(a.location_id), None, "list_locations"),
    ),
)
