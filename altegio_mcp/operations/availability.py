"""Availability (toolset `availability`): when services can be booked online.

`list_free_times` (`book_times`) and `list_bookable_dates` (`book_dates`) are public online-booking
endpoints that take the partner token alone. Times are the location's local time with its UTC
offset; `list_free_times` returns exactly the datetimes that `create_appointment` accepts. The
toolset's other tools live beside this module: who and what can be booked online in
`online_catalog.py`, the team's working and busy hours in `team_schedule.py`.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import Field, JsonValue, TypeAdapter

from altegio_mcp.errors import InvalidArgument
from altegio_mcp.operations.base import (
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
    whole_minutes,
)
from altegio_mcp.timeutil import iso

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
    date: str
    timezone: str = Field(description="IANA zone of the location.")
    items: list[FreeTime]


async def list_free_times(ctx: OpContext, a: ListFreeTimesArgs) -> FreeTimes:
    loc = ctx.location_id(a.location_id)
    tz = await ctx.zone(loc)
    slots = await bookable_slots(ctx, loc, a.team_member_id, a.date, a.service_ids)
    items = [
        FreeTime(datetime=iso(s.start), time=f"{s.start:%H:%M}", length_minutes=whole_minutes(s.length))
        for s in slots
    ]
    return FreeTimes(
        location_id=loc,
        team_member_id=a.team_member_id,
        date=a.date.isoformat(),
        timezone=tz.key,
        items=items,
    )


def render_free_times(out: FreeTimes) -> str:
    day = date.fromisoformat(out.date)
    head = f"team member {out.team_member_id} on {day:%a %Y-%m-%d} ({out.timezone}"
    if not out.items:
        line = f"No free times for {head}); list_bookable_dates shows days that have some."
        return "\n".join([line, *out.notes])
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
    return "\n".join([line, *out.notes])


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
    bookable_dates: list[str] = Field(description="YYYY-MM-DD with free times.")
    working_dates: list[str] = Field(description="YYYY-MM-DD with working hours.")


BOOK_DATES = TypeAdapter(WireBookDates)


async def list_bookable_dates(ctx: OpContext, a: ListBookableDatesArgs) -> BookableDates:
    loc = ctx.location_id(a.location_id)
    if (a.date_from is None) != (a.date_to is None):
        field = "date_to" if a.date_to is None else "date_from"
        raise InvalidArgument(field, "date_from and date_to go together; give both, or only date for a month")
    check_date_order(a.date_from, a.date_to, start_field="date_from", end_field="date_to")
    await ctx.zone(loc)
    params: dict[str, Any] = {
        "service_ids[]": [str(s) for s in a.service_ids or []] or None,
        "staff_id": a.team_member_id,
    }
    if a.date_from and a.date_to:
        params |= {"date_from": a.date_from.isoformat(), "date_to": a.date_to.isoformat()}
        if a.date:
            ctx.notes.append("date was not sent: date_from/date_to set the range.")
    elif a.date:
        params["date"] = a.date.isoformat()
    res = await ctx.call(
        "GET",
        f"/book_dates/{loc}",
        ANY,
        params=params,
        partner_only=True,
        target=member_target(loc, a.team_member_id),
    )
    raw = first_of(res.data)
    wire = BOOK_DATES.validate_python(raw if isinstance(raw, dict) else {})
    return BookableDates(
        location_id=loc,
        team_member_id=a.team_member_id,
        bookable_dates=api_dates(wire.booking_dates),
        working_dates=api_dates(wire.working_dates),
    )


def render_bookable_dates(out: BookableDates) -> str:
    who = f" with team member {out.team_member_id}" if out.team_member_id else ""
    if out.bookable_dates:
        line = (
            f"Bookable dates at location {out.location_id}{who} ({len(out.bookable_dates)}): "
            f"{', '.join(out.bookable_dates)}. Next: list_free_times for one of them."
        )
    else:
        line = f"No bookable dates at location {out.location_id}{who} in this range."
    lines = [line, f"Working dates ({len(out.working_dates)}): {', '.join(out.working_dates) or 'none'}."]
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
