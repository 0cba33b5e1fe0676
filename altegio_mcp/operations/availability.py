"""Availability (toolset `availability`): when services can be booked online.

`list_free_times` (`book_times`) and `list_bookable_dates` (`book_dates`) are public online-booking
endpoints that take the partner token alone. Times are the location's local time with its UTC
offset; `list_free_times` returns exactly the datetimes that `create_appointment` accepts. The
toolset's other tools live beside this module: who and what can be booked online in
`online_catalog.py`, the team's working and busy hours in `team_schedule.py`.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from pydantic import Field, JsonValue, TypeAdapter

from altegio_mcp.errors import AltegioError, InvalidArgument
from altegio_mcp.operations.base import (
    NOW_DESCRIPTION,
    RAW_JSON,
    Args,
    LocationId,
    OpContext,
    Operation,
    OptionalServiceIds,
    OptionalTeamMemberId,
    Out,
    Result,
    ServiceIds,
    TeamMemberId,
    Wire,
    first_of,
)
from altegio_mcp.operations.support import (
    CalendarDate,
    OptionalCalendarDate,
    api_dates,
    bookable_slots,
    check_date_order,
    member_target,
    service_durations,
    team_names,
    whole_minutes,
)
from altegio_mcp.timeutil import iso, now_text

TOOLSET = "availability"

ANY = RAW_JSON


# --- list_free_times (GET /book_times) -----------------------------------------------------------


class ListFreeTimesArgs(Args):
    location_id: LocationId
    team_member_id: TeamMemberId
    date: CalendarDate
    service_ids: ServiceIds


class FreeTime(Out):
    datetime: str = Field(description="Start with offset; pass as-is to create_appointment.")
    time: str = Field(description="Local HH:MM.")
    length_minutes: int | None = None


class FreeTimes(Result):
    location_id: int
    team_member_id: int
    team_member: str | None = Field(default=None, description="The team member's name.")
    date: str
    now: str | None = Field(default=None, description=NOW_DESCRIPTION)
    timezone: str = Field(description="IANA zone of the location.")
    items: list[FreeTime]
    reason: str | None = Field(
        default=None,
        description="Why there are none: day off, service not offered by this team member, or fully booked.",
    )
    nearest_date: str | None = Field(
        default=None, description="Nearest later day with free times, same team member and services."
    )


async def why_no_free_times(ctx: OpContext, loc: int, a: ListFreeTimesArgs, out: FreeTimes) -> None:
    """Say why a day has no free times, and the nearest day that has some."""
    who = out.team_member or f"team member {a.team_member_id}"
    offered = await service_durations(ctx, loc, a.team_member_id)
    missing = [s for s in a.service_ids if s not in offered]
    if missing:
        ids = ", ".join(map(str, missing))
        out.reason = (
            f"service not offered: {who} does not perform service {ids}; "
            f"list_team_members with service_id finds who does"
        )
        return
    bookable, working = await fetch_book_dates(ctx, loc, a.team_member_id, a.service_ids, day=a.date)
    later = [d for d in bookable if d > out.date]
    if not later:  # the answer covers one month: look into the next one
        next_month = (a.date.replace(day=1) + timedelta(days=32)).replace(day=1)
        more, _ = await fetch_book_dates(ctx, loc, a.team_member_id, a.service_ids, day=next_month)
        later = [d for d in more if d > out.date]
    out.nearest_date = later[0] if later else None
    if out.date not in working:
        out.reason = f"day off: {who} does not work on {a.date:%a %Y-%m-%d}"
    else:
        out.reason = f"fully booked: {who} has no free time left for these services on {a.date:%a %Y-%m-%d}"


async def list_free_times(ctx: OpContext, a: ListFreeTimesArgs) -> FreeTimes:
    loc = ctx.location_id(a.location_id)
    tz = await ctx.zone(loc)
    slots = await bookable_slots(ctx, loc, a.team_member_id, a.date, a.service_ids)
    items = [
        FreeTime(datetime=iso(s.start), time=f"{s.start:%H:%M}", length_minutes=whole_minutes(s.length))
        for s in slots
    ]
    names = await team_names(ctx, loc)
    out = FreeTimes(
        location_id=loc,
        team_member_id=a.team_member_id,
        team_member=names.get(a.team_member_id),
        date=a.date.isoformat(),
        now=await ctx.now_at(loc),
        timezone=tz.key,
        items=items,
    )
    if not items:
        try:
            await why_no_free_times(ctx, loc, a, out)
        except AltegioError:  # the reason is a courtesy; the empty answer stands
            out.reason = None
    return out


def render_free_times(out: FreeTimes) -> str:
    day = date.fromisoformat(out.date)
    who = (
        f"{out.team_member} (#{out.team_member_id})"
        if out.team_member
        else f"team member {out.team_member_id}"
    )
    head = f"{who} on {day:%a %Y-%m-%d} ({out.timezone}"
    now = f" {now_text(datetime.fromisoformat(out.now))}" if out.now else ""
    if not out.items:
        line = f"No free times for {head}): {out.reason or 'reason unknown; list_bookable_dates shows days that have some'}."
        if out.nearest_date:
            line += f" Nearest day with free times: {date.fromisoformat(out.nearest_date):%a %Y-%m-%d}."
        elif out.reason and not out.reason.startswith("service"):
            line += " No free day found in the next weeks; try another team member."
        return "\n".join([line + now, *out.notes])
    lengths = {item.length_minutes for item in out.items}
    length = f", {lengths.pop()} min" if len(lengths) == 1 and None not in lengths else ""
    offsets = {item.datetime[19:] for item in out.items}
    if len(offsets) == 1:
        offset = offsets.pop()
        times = ", ".join(item.time for item in out.items)
        line = (
            f"Free times for {head}, UTC{offset}{length}): {times}. Book one with create_appointment "
            f"datetime={out.date}T<time>:00{offset}."
        )
    else:  # a DST change inside the day: give each start in full
        times = ", ".join(item.datetime for item in out.items)
        line = f"Free times for {head}{length}): {times}. Book one with create_appointment as written."
    return "\n".join([line + now, *out.notes])


# --- list_bookable_dates (GET /book_dates) --------------------------------------------------------


class ListBookableDatesArgs(Args):
    location_id: LocationId
    service_ids: OptionalServiceIds
    team_member_id: OptionalTeamMemberId
    date: OptionalCalendarDate = Field(default=None, description="Any day of the month to search.")
    date_from: OptionalCalendarDate = Field(default=None, description="Range start (with date_to).")
    date_to: OptionalCalendarDate = Field(default=None, description="Range end, inclusive.")


class WireBookDates(Wire):
    booking_dates: JsonValue = None
    working_dates: JsonValue = None


class BookableDates(Result):
    location_id: int
    team_member_id: int | None = None
    team_member: str | None = Field(default=None, description="The team member's name.")
    now: str | None = Field(default=None, description=NOW_DESCRIPTION)
    bookable_dates: list[str] = Field(description="YYYY-MM-DD with free times.")
    working_dates: list[str] = Field(description="YYYY-MM-DD with working hours.")


BOOK_DATES = TypeAdapter(WireBookDates)


async def list_bookable_dates(ctx: OpContext, a: ListBookableDatesArgs) -> BookableDates:
    loc = ctx.location_id(a.location_id)
    if (a.date_from is None) != (a.date_to is None):
        field = "date_to" if a.date_to is None else "date_from"
        raise InvalidArgument(field, "date_from and date_to go together; give both, or only date for a month")
    check_date_order(a.date_from, a.date_to, start_field="date_from", end_field="date_to")
    now = await ctx.now_at(loc)
    day_range = (a.date_from, a.date_to) if a.date_from and a.date_to else None
    if day_range and a.date:
        ctx.notes.append("date was not sent: date_from/date_to set the range.")
    bookable, working = await fetch_book_dates(
        ctx,
        loc,
        a.team_member_id,
        a.service_ids or [],
        day=None if day_range else a.date,
        day_range=day_range,
    )
    names = await team_names(ctx, loc) if a.team_member_id else {}
    return BookableDates(
        location_id=loc,
        team_member_id=a.team_member_id,
        team_member=names.get(a.team_member_id) if a.team_member_id else None,
        now=now,
        bookable_dates=bookable,
        working_dates=working,
    )


async def fetch_book_dates(
    ctx: OpContext,
    loc: int,
    team_member_id: int | None,
    service_ids: list[int],
    *,
    day: date | None = None,
    day_range: tuple[date, date] | None = None,
) -> tuple[list[str], list[str]]:
    """`GET /book_dates`: the days with free times and the working days (YYYY-MM-DD)."""
    params: dict[str, Any] = {
        "service_ids[]": [str(s) for s in service_ids] or None,
        "staff_id": team_member_id,
    }
    if day_range is not None:
        params |= {"date_from": day_range[0].isoformat(), "date_to": day_range[1].isoformat()}
    elif day is not None:
        params["date"] = day.isoformat()
    res = await ctx.call(
        "GET",
        f"/book_dates/{loc}",
        ANY,
        params=params,
        partner_only=True,
        target=member_target(loc, team_member_id),
    )
    raw = first_of(res.data)
    wire = BOOK_DATES.validate_python(raw if isinstance(raw, dict) else {})
    return api_dates(wire.booking_dates), api_dates(wire.working_dates)


def render_bookable_dates(out: BookableDates) -> str:
    who = f" with {out.team_member or 'team member'} (#{out.team_member_id})" if out.team_member_id else ""
    if out.bookable_dates:
        line = (
            f"Bookable dates at location {out.location_id}{who} ({len(out.bookable_dates)}): "
            f"{', '.join(out.bookable_dates)}. Next: list_free_times for one of them."
        )
    else:
        line = f"No bookable dates at location {out.location_id}{who} in this range."
    lines = [line, f"Working dates ({len(out.working_dates)}): {', '.join(out.working_dates) or 'none'}."]
    if out.now:
        lines.append(now_text(datetime.fromisoformat(out.now)))
    return "\n".join(lines + out.notes)


# --- declarations ----------------------------------------------------------------------------------

OPERATIONS = (
    Operation(
        name="list_free_times",
        title="Free times to book",
        description="Free start times of a team member (staff) for services on a day (book_times); pass one as-is to create_appointment.",
        method="GET",
        path="/book_times/{location_id}/{team_member_id}/{date}",
        input_model=ListFreeTimesArgs,
        output_model=FreeTimes,
        toolset=TOOLSET,
        kind="read",
        handler=list_free_times,
        render=render_free_times,
        auth="partner",
    ),
    Operation(
        name="list_bookable_dates",
        title="Bookable dates",
        description="Dates with free times for services, at a location (company) or with a team member (staff) (book_dates).",
        method="GET",
        path="/book_dates/{location_id}",
        input_model=ListBookableDatesArgs,
        output_model=BookableDates,
        toolset=TOOLSET,
        kind="read",
        handler=list_bookable_dates,
        render=render_bookable_dates,
        auth="partner",
    ),
)
