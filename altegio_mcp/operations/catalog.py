"""The service catalog of a location: services, one service with per-team-member lengths, categories.

Durations come in seconds and are returned in minutes. `GET /company/{id}/services/{service_id}`
is documented as an object but its example is an array (with `meta.total_count`); both are read,
and the item with the asked id is taken. Service categories are listed with
`GET /company/{id}/service_categories`, or one category by adding its id to the path (the page's
own parameter notes call that id optional).
"""

from __future__ import annotations

from pydantic import Field, JsonValue, TypeAdapter, field_validator

from altegio_mcp.errors import Target
from altegio_mcp.operations.base import (
    RAW_JSON,
    Args,
    Detail,
    LocationId,
    LooseText,
    OpContext,
    Operation,
    OptionalTeamMemberId,
    Out,
    Result,
    ServiceId,
    Wire,
    as_list,
    wire_fields,
)
from altegio_mcp.operations.support import location_target, pick_by_id, whole_minutes
from altegio_mcp.text import one_line

TOOLSET = "catalog"


class WireServiceStaff(Wire):
    id: int
    seance_length: int | None = None
    session_length: int | None = None


class WireCatalogService(Wire):
    id: int
    title: str | None = None
    booking_title: str | None = None
    category_id: int | None = None
    price_min: float | None = None
    price_max: float | None = None
    duration: int | None = None
    seance_length: int | None = None
    active: int | None = None
    api_id: LooseText = None
    staff: list[WireServiceStaff] = Field(default_factory=list[WireServiceStaff])

    @field_validator("staff", mode="before")
    @classmethod
    def _staff_list(cls, value: object) -> object:
        return as_list(value)


class WireCategory(Wire):
    id: int
    title: str | None = None
    weight: int | None = None
    api_id: LooseText = None
    staff: list[int] = Field(default_factory=list[int])

    @field_validator("staff", mode="before")
    @classmethod
    def _ids(cls, value: object) -> object:
        return as_list(value)


SERVICES = TypeAdapter(list[WireCatalogService])
ONE_SERVICE = TypeAdapter(WireCatalogService)
CATEGORIES = TypeAdapter(list[WireCategory])
ANY = RAW_JSON


# --- outputs ---------------------------------------------------------------------------------------


class ServiceLength(Out):
    team_member_id: int
    duration_minutes: int | None = None


class Service(Out):
    id: int
    title: str | None = None
    category_id: int | None = None
    price_min: float | None = None
    price_max: float | None = None
    duration_minutes: int | None = None
    bookable_online: bool | None = None
    team_members: list[ServiceLength] | None = Field(
        default=None, description="Who provides it, with their length."
    )
    details: dict[str, JsonValue] | None = None


def to_service(wire: WireCatalogService, *, lengths: bool = False, detail: bool = False) -> Service:
    return Service(
        id=wire.id,
        title=wire.title or wire.booking_title,
        category_id=wire.category_id,
        price_min=wire.price_min,
        price_max=wire.price_max,
        duration_minutes=whole_minutes(wire.seance_length or wire.duration),
        bookable_online=bool(wire.active) if wire.active is not None else None,
        team_members=[
            ServiceLength(
                team_member_id=s.id, duration_minutes=whole_minutes(s.seance_length or s.session_length)
            )
            for s in wire.staff
        ]
        if lengths
        else None,
        details=wire_fields(wire) if detail else None,
    )


def _price(s: Service) -> str:
    if s.price_min is None and s.price_max is None:
        return ""
    if s.price_min == s.price_max or s.price_max is None:
        return f"price {s.price_min:g}"
    if s.price_min is None:
        return f"price up to {s.price_max:g}"
    return f"price {s.price_min:g}–{s.price_max:g}"


def describe(s: Service) -> str:
    parts = [f"#{s.id} {one_line(s.title, 60)}"]
    if s.duration_minutes:
        parts.append(f"{s.duration_minutes} min")
    if price := _price(s):
        parts.append(price)
    if s.category_id:
        parts.append(f"category {s.category_id}")
    if s.bookable_online is False:
        parts.append("not bookable online")
    return " · ".join(parts)


# --- list_services ---------------------------------------------------------------------------------


class ListServicesArgs(Args):
    location_id: LocationId
    team_member_id: OptionalTeamMemberId
    category_id: int | None = Field(default=None, ge=1, description="Only this category id.")
    detail: Detail


class ServiceList(Result):
    location_id: int
    items: list[Service]


async def list_services(ctx: OpContext, a: ListServicesArgs) -> ServiceList:
    loc = ctx.location_id(a.location_id)
    res = await ctx.call(
        "GET",
        f"/services/{loc}",
        SERVICES,
        params={"staff_id": a.team_member_id, "category_id": a.category_id},
        target=location_target(loc),
    )
    return ServiceList(location_id=loc, items=[to_service(w, detail=a.detail) for w in res.data])


def render_list(out: ServiceList) -> str:
    if not out.items:
        return "\n".join([f"No services match at location {out.location_id}.", *out.notes])
    head = f"{len(out.items)} services at location {out.location_id} (prices in its currency):"
    return "\n".join([head, *(describe(s) for s in out.items), *out.notes])


# --- get_service -----------------------------------------------------------------------------------


class GetServiceArgs(Args):
    location_id: LocationId
    service_id: ServiceId
    detail: Detail


class ServiceResult(Result):
    service: Service


async def get_service(ctx: OpContext, a: GetServiceArgs) -> ServiceResult:
    loc = ctx.location_id(a.location_id)
    path = f"/company/{loc}/services/{a.service_id}"
    target = Target("service", str(a.service_id), loc, "list_services")
    res = await ctx.call("GET", path, ANY, target=target)
    wire = pick_by_id(ONE_SERVICE, res.data, a.service_id, what="service", path=path, target=target)
    return ServiceResult(service=to_service(wire, lengths=True, detail=a.detail))


def render_service(out: ServiceResult) -> str:
    s = out.service
    lines = [describe(s)]
    if s.team_members:
        lines.append(
            "Team members (id: minutes): "
            + ", ".join(f"{t.team_member_id}: {t.duration_minutes or '?'}" for t in s.team_members)
        )
    elif s.team_members is not None:
        lines.append("No team member provides it.")
    return "\n".join(lines + out.notes)


# --- list_service_categories ---------------------------------------------------------------------


class ListCategoriesArgs(Args):
    location_id: LocationId
    category_id: int | None = Field(default=None, ge=1, description="Only this category.")
    team_member_id: OptionalTeamMemberId


class ServiceCategory(Out):
    id: int
    title: str | None = None
    team_member_ids: list[int] = Field(default_factory=list[int])


class CategoryList(Result):
    location_id: int
    items: list[ServiceCategory]


async def list_service_categories(ctx: OpContext, a: ListCategoriesArgs) -> CategoryList:
    loc = ctx.location_id(a.location_id)
    path = f"/company/{loc}/service_categories"
    target = location_target(loc)
    if a.category_id is not None:
        path += f"/{a.category_id}"
        target = Target("service category", str(a.category_id), loc, "list_service_categories")
    res = await ctx.call("GET", path, CATEGORIES, params={"staff_id": a.team_member_id}, target=target)
    items = [ServiceCategory(id=c.id, title=c.title, team_member_ids=c.staff) for c in res.data]
    return CategoryList(location_id=loc, items=items)


def render_categories(out: CategoryList) -> str:
    if not out.items:
        return "\n".join([f"No service categories match at location {out.location_id}.", *out.notes])
    lines = [f"{len(out.items)} service categories at location {out.location_id}:"]
    lines += [f"#{c.id} {one_line(c.title, 60)} · {len(c.team_member_ids)} team members" for c in out.items]
    return "\n".join(lines + out.notes)


# --- declarations ----------------------------------------------------------------------------------

OPERATIONS = (
    Operation(
        name="list_services",
        title="List services",
        description="List a location's services: price, usual length, category; filter by team member (legacy: staff) or category.",
        method="GET",
        path="/services/{location_id}",
        input_model=ListServicesArgs,
        output_model=ServiceList,
        toolset=TOOLSET,
        kind="read",
        handler=list_services,
        render=render_list,
    ),
    Operation(
        name="get_service",
        core=False,
        title="Get a service",
        description="Get one service with each team member's (legacy: staff) length for it.",
        method="GET",
        path="/company/{location_id}/services/{service_id}",
        input_model=GetServiceArgs,
        output_model=ServiceResult,
        toolset=TOOLSET,
        kind="read",
        omitted={
            "staff_id": "a filter of the list form; one service is read by id",
            "category_id": "a filter of the list form; one service is read by id",
        },
        handler=get_service,
        render=render_service,
        target=lambda a: Target("service", str(a.service_id), a.location_id, "list_services"),
    ),
    Operation(
        name="list_service_categories",
        core=False,
        title="List service categories",
        description="List service categories and the team members (legacy: staff) in each.",
        method="GET",
        path="/company/{location_id}/service_categories/{id}",
        input_model=ListCategoriesArgs,
        output_model=CategoryList,
        toolset=TOOLSET,
        kind="read",
        handler=list_service_categories,
        render=render_categories,
    ),
)
