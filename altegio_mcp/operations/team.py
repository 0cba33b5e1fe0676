"""Team members (legacy: staff, masters): the list of a location and one team member.

Altegio marks a team member as fired, removed (`status` 1) or hidden from online booking with 0/1
flags that arrive as numbers, strings or booleans; they are read as booleans. The list leaves those
three kinds out unless asked, since they cannot take new appointments. `GET
/company/{id}/staff/{team_member_id}` is documented as an object but its example is a one-item array;
both are read.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator, Field, JsonValue, TypeAdapter, field_validator

from altegio_mcp.errors import Target
from altegio_mcp.operations.base import (
    RAW_JSON,
    Args,
    Detail,
    LocationId,
    OpContext,
    Operation,
    Out,
    Result,
    TeamMemberId,
    Wire,
    WireTitled,
    empty_is_none,
    wire_fields,
)
from altegio_mcp.operations.catalog import ONE_SERVICE
from altegio_mcp.operations.support import location_target, member_target, pick_by_id
from altegio_mcp.text import one_line

TOOLSET = "team"


def _flag(value: object) -> object:
    """`1`, `'1'`, `true` → True; `0`, `'0'`, `''`, `null` → False."""
    if isinstance(value, str):
        return value.strip() not in {"", "0", "false"}
    return bool(value)


Flag = Annotated[bool, BeforeValidator(_flag)]


class WireTeamMember(Wire):
    id: int
    name: str | None = None
    specialization: str | None = None
    position: WireTitled | None = None
    bookable: bool | None = None
    fired: Flag = False
    status: Flag = False
    hidden: Flag = False

    @field_validator("position", mode="before")
    @classmethod
    def _empty_position(cls, value: object) -> object:
        return empty_is_none(value)


TEAM = TypeAdapter(list[WireTeamMember])
ONE_MEMBER = TypeAdapter(WireTeamMember)
ANY = RAW_JSON


class TeamMember(Out):
    id: int
    name: str | None = None
    specialization: str | None = None
    position: str | None = None
    bookable: bool | None = Field(default=None, description="Bookable online.")
    fired: bool | None = None
    removed: bool | None = None
    hidden: bool | None = Field(default=None, description="Hidden from online booking.")
    details: dict[str, JsonValue] | None = None


def to_member(wire: WireTeamMember, *, detail: bool = False) -> TeamMember:
    return TeamMember(
        id=wire.id,
        name=wire.name,
        specialization=wire.specialization or None,
        position=wire.position.title if wire.position else None,
        bookable=wire.bookable,
        fired=wire.fired or None,
        removed=wire.status or None,
        hidden=wire.hidden or None,
        details=wire_fields(wire) if detail else None,
    )


def unavailable(m: TeamMember) -> bool:
    return bool(m.fired or m.removed or m.hidden)


def describe(m: TeamMember) -> str:
    parts = [f"#{m.id} {one_line(m.name, 50)}"]
    role = " ".join(p for p in (m.specialization, f"({m.position})" if m.position else "") if p)
    if role:
        parts.append(role)
    if m.bookable is not None:
        parts.append("bookable online" if m.bookable else "not bookable online")
    parts += [flag for flag, on in (("fired", m.fired), ("removed", m.removed), ("hidden", m.hidden)) if on]
    return " · ".join(parts)


# --- list ------------------------------------------------------------------------------------------


class ListTeamMembersArgs(Args):
    location_id: LocationId
    service_id: int | None = Field(default=None, ge=1, description="Only those who perform this service.")
    include_unavailable: bool = Field(default=False, description="Also fired, removed and hidden ones.")
    detail: Detail


class TeamMemberList(Result):
    location_id: int
    service_id: int | None = Field(default=None, description="The service the list is filtered by.")
    items: list[TeamMember]


async def service_team(ctx: OpContext, loc: int, service_id: int) -> set[int]:
    """Who performs a service: the service's own team list (`GET /company/{id}/services/{id}`);
    Altegio's team list has no service filter."""
    path = f"/company/{loc}/services/{service_id}"
    target = Target("service", str(service_id), loc, "list_services")
    res = await ctx.call("GET", path, RAW_JSON, target=target)
    wire = pick_by_id(ONE_SERVICE, res.data, service_id, what="service", path=path, target=target)
    return {member.id for member in wire.staff}


async def list_team_members(ctx: OpContext, a: ListTeamMembersArgs) -> TeamMemberList:
    loc = ctx.location_id(a.location_id)
    res = await ctx.call("GET", f"/staff/{loc}", TEAM, target=location_target(loc))
    members = [to_member(w, detail=a.detail) for w in res.data]
    if a.service_id is not None:
        performers = await service_team(ctx, loc, a.service_id)
        members = [m for m in members if m.id in performers]
    out = TeamMemberList(location_id=loc, service_id=a.service_id, items=members)
    if not a.include_unavailable:
        out.items = [m for m in members if not unavailable(m)]
        left_out = len(members) - len(out.items)
        if left_out:
            out.notes.append(
                f"{left_out} fired, removed or hidden team members left out; include_unavailable=true lists them."
            )
    return out


def render_list(out: TeamMemberList) -> str:
    who = f" performing service {out.service_id}" if out.service_id else ""
    if not out.items:
        return "\n".join([f"No team members{who} at location {out.location_id}.", *out.notes])
    head = f"{len(out.items)} team members{who} at location {out.location_id}:"
    return "\n".join([head, *(describe(m) for m in out.items), *out.notes])


# --- get -------------------------------------------------------------------------------------------


class GetTeamMemberArgs(Args):
    location_id: LocationId
    team_member_id: TeamMemberId
    detail: Detail


class TeamMemberResult(Result):
    team_member: TeamMember


async def get_team_member(ctx: OpContext, a: GetTeamMemberArgs) -> TeamMemberResult:
    loc = ctx.location_id(a.location_id)
    path = f"/company/{loc}/staff/{a.team_member_id}"
    target = member_target(loc, a.team_member_id)
    res = await ctx.call("GET", path, ANY, target=target)
    wire = pick_by_id(ONE_MEMBER, res.data, a.team_member_id, what="team member", path=path, target=target)
    return TeamMemberResult(team_member=to_member(wire, detail=a.detail))


def render_one(out: TeamMemberResult) -> str:
    return "\n".join([describe(out.team_member), *out.notes])


# --- declarations ----------------------------------------------------------------------------------

OPERATIONS = (
    Operation(
        name="list_team_members",
        title="List team members",
        description="List a location's team members (legacy: staff, masters), optionally those performing a service: specialization, position, bookable.",
        method="GET",
        path="/staff/{location_id}",
        input_model=ListTeamMembersArgs,
        output_model=TeamMemberList,
        toolset=TOOLSET,
        kind="read",
        handler=list_team_members,
        render=render_list,
    ),
    Operation(
        name="get_team_member",
        core=False,
        title="Get a team member",
        description="Get one team member (legacy: staff, master): specialization, position, status.",
        method="GET",
        path="/company/{location_id}/staff/{team_member_id}",
        input_model=GetTeamMemberArgs,
        output_model=TeamMemberResult,
        toolset=TOOLSET,
        kind="read",
        handler=get_team_member,
        render=render_one,
        target=lambda a: Target("team member", str(a.team_member_id), a.location_id, "list_team_members"),
    ),
)
