"""Availability (toolset `availability`): when, and with whom, services can be booked.

The online-booking reads (`book_times`, `book_dates`, `book_staff`, `book_services`) are public
endpoints that take the partner token alone. `get_team_schedule` reads the working and busy
intervals of many team members over many days in one call and works out the free ones. Times are
the location's local time with its UTC offset; `list_free_times` returns exactly the datetimes that
`create_appointment` accepts.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Any

from pydantic import AfterValidator, Field, JsonValue, TypeAdapter, field_validator

from altegio_mcp.errors import InvalidArgument
from altegio_mcp.operations.base import (
    Args,
    Detail,
    LocationId,
    OpContext,
    Operation,
    OptionalTeamMemberId,
    Out,
    Result,
    ServiceIds,
    TeamMemberId,
    Wire,
    calendar_year,
    first_of,
)
from altegio_mcp.operations.support import (
    CalendarDate,
    OptionalCalendarDate,
    api_dates,
    bookable_slots,
    clock_minutes,
    clock_text,
    free_spans,
    location_target,
    member_target,
    utc_offset,
    wire_list,
)
from altegio_mcp.text import one_line
from altegio_mcp.timeutil import iso

TOOLSET = "availability"
MAX_SCHEDULE_DAYS = 31  # a month per call keeps the answer readable (one line per team member per day)

Ids = list[Annotated[int, Field(ge=1)]]
OptionalServiceIds = Annotated[
    Ids | None,
    Field(default=None, min_length=1, max_length=20, description="Service ids; see list_services."),
]
OptionalDateTime = Annotated[
    datetime | None,
    AfterValidator(calendar_year),
    Field(default=None, description="Start, ISO 8601; no offset = the location's local time."),
]

ANY = TypeAdapter(JsonValue)


# --- small shared helpers ------------------------------------------------------------------------


def _minutes(seconds: int | None) -> int | None:
    return seconds // 60 if seconds else None


def _money(low: float | None, high: float | None, currency: str | None) -> str:
    if not low and not high:
        return ""
    text = f"{low or 0:g}" if low == high or not high else f"{low or 0:g}–{high:g}"
    return f"{text} {currency}" if currency else text


def _dump(wire: Wire) -> dict[str, JsonValue]:
    dumped: dict[str, Any] = wire.model_dump(mode="json", by_alias=True, exclude_none=True)
    return dumped


def _empty_is_none(value: object) -> object:
    """`[]`, `{}` and `null` all mean "none" in Altegio's answers."""
    return value if value else None


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
        FreeTime(datetime=iso(s.start), time=f"{s.start:%H:%M}", length_minutes=_minutes(s.length))
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
    if a.date_from and a.date_to and a.date_to < a.date_from:
        raise InvalidArgument("date_to", f"{a.date_to} is before date_from {a.date_from}")
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


# --- list_bookable_team_members (GET /book_staff) -------------------------------------------------


class ListBookableTeamMembersArgs(Args):
    location_id: LocationId
    service_ids: OptionalServiceIds
    datetime: OptionalDateTime
    detail: Detail


class WirePosition(Wire):
    id: int | None = None
    title: str | None = None


class WireBookStaff(Wire):
    id: int
    name: str | None = None
    specialization: str | None = None
    position: WirePosition | None = None
    bookable: bool | None = None
    rating: float | None = None
    seance_date: str | None = None
    session_date: str | None = None

    @field_validator("position", mode="before")
    @classmethod
    def _no_position(cls, value: object) -> object:
        return _empty_is_none(value)


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
                details=_dump(wire) if a.detail else None,
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


class WireCategory(Wire):
    id: int | None = None
    title: str | None = None


class WireBookServices(Wire):
    services: list[WireBookService] = Field(default_factory=list[WireBookService])
    category: list[WireCategory] = Field(default_factory=list[WireCategory])
    categories: list[WireCategory] = Field(default_factory=list[WireCategory])

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
            length_minutes=_minutes(s.seance_length or s.session_length) if a.team_member_id else None,
            details=_dump(s) if a.detail else None,
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


# --- get_team_schedule (GET /company/{location_id}/staff/schedule) ---------------------------------


class GetTeamScheduleArgs(Args):
    location_id: LocationId
    start_date: CalendarDate
    end_date: OptionalCalendarDate = Field(
        default=None, description=f"Last day (default start_date); at most {MAX_SCHEDULE_DAYS} days in all."
    )
    team_member_ids: Ids | None = Field(
        default=None,
        min_length=1,
        max_length=50,
        description="Only these team members (legacy: staff).",
    )


class WireInterval(Wire):
    start: str | None = Field(default=None, alias="from")
    to: str | None = None


class WireBusy(WireInterval):
    entity_type: str | None = None
    entity_id: int | None = None


class WireScheduleDay(Wire):
    staff_id: int
    date: str
    slots: list[WireInterval] = Field(default_factory=list[WireInterval])
    busy_intervals: list[WireBusy] = Field(default_factory=list[WireBusy])

    @field_validator("slots", "busy_intervals", mode="before")
    @classmethod
    def _none_is_empty(cls, value: object) -> object:
        return value or []


class Span(Out):
    """Local HH:MM to HH:MM (24:00 is midnight)."""

    start: str
    end: str


class BusySpan(Span):
    kind: str = Field(description="appointment or event.")
    id: int | None = Field(default=None, description="Its appointment or event id.")


class ScheduleDay(Out):
    team_member_id: int
    date: str
    working: list[Span]
    busy: list[BusySpan]
    free: list[Span] = Field(description="Working minus busy.")


class TeamSchedule(Result):
    location_id: int
    timezone: str
    utc_offset: str = Field(description="Offset of the local times, e.g. -05:00.")
    items: list[ScheduleDay]


SCHEDULE = TypeAdapter(list[WireScheduleDay])
BUSY_KINDS = {"record": "appointment", "activity": "event"}


def _spans(intervals: list[WireInterval], *, busy: bool = False) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    for interval in intervals:
        start = clock_minutes(interval.start)
        end = clock_minutes(interval.to, round_up=busy)
        if start is not None and end is not None and end > start:
            spans.append((start, end))
    return spans


def _schedule_day(wire: WireScheduleDay) -> ScheduleDay:
    working = _spans(wire.slots)
    busy: list[BusySpan] = []
    busy_minutes: list[tuple[int, int]] = []
    for interval in wire.busy_intervals:
        spans = _spans([interval], busy=True)
        if not spans:
            continue
        start, end = spans[0]
        busy_minutes.append((start, end))
        kind = BUSY_KINDS.get(interval.entity_type or "", interval.entity_type or "busy")
        busy.append(BusySpan(start=clock_text(start), end=clock_text(end), kind=kind, id=interval.entity_id))
    return ScheduleDay(
        team_member_id=wire.staff_id,
        date=wire.date[:10],
        working=[Span(start=clock_text(s), end=clock_text(e)) for s, e in working],
        busy=busy,
        free=[Span(start=clock_text(s), end=clock_text(e)) for s, e in free_spans(working, busy_minutes)],
    )


async def get_team_schedule(ctx: OpContext, a: GetTeamScheduleArgs) -> TeamSchedule:
    loc = ctx.location_id(a.location_id)
    end = a.end_date or a.start_date
    if end < a.start_date:
        raise InvalidArgument("end_date", f"{end} is before start_date {a.start_date}")
    if (end - a.start_date).days >= MAX_SCHEDULE_DAYS:
        raise InvalidArgument(
            "end_date", f"at most {MAX_SCHEDULE_DAYS} days per call; ask again for the days after"
        )
    tz = await ctx.zone(loc)
    params: dict[str, Any] = {
        "start_date": a.start_date.isoformat(),
        "end_date": end.isoformat(),
        # The wire name is staff_ids[] (reference B11), not team_member_ids.
        "staff_ids[]": [str(i) for i in a.team_member_ids or []] or None,
        "include[]": ["busy_intervals"],
    }
    res = await ctx.call(
        "GET", f"/company/{loc}/staff/schedule", ANY, params=params, target=location_target(loc)
    )
    days = [_schedule_day(w) for w in SCHEDULE.validate_python(wire_list(res.data))]
    days.sort(key=lambda d: (d.date, d.team_member_id))
    offset = utc_offset(tz, a.start_date)
    day = a.start_date
    while day < end:
        day += timedelta(days=1)
        if (changed := utc_offset(tz, day)) != offset:
            ctx.notes.append(f"The UTC offset is {changed} from {day} (daylight saving); times stay local.")
            break
    return TeamSchedule(location_id=loc, timezone=tz.key, utc_offset=offset, items=days)


def _span_text(spans: list[Span]) -> str:
    return ", ".join(f"{s.start}–{s.end}" for s in spans)


def render_team_schedule(out: TeamSchedule) -> str:
    head = f"Team schedules at location {out.location_id}, local times ({out.timezone}, UTC{out.utc_offset}):"
    if not out.items:
        return "\n".join([f"No schedules found at location {out.location_id}.", *out.notes])
    lines = [head]
    for d in out.items:
        label = f"#{d.team_member_id} {date.fromisoformat(d.date):%a %Y-%m-%d}"
        if not d.working and not d.busy:
            lines.append(f"{label}: off")
            continue
        parts = [f"works {_span_text(d.working) or 'no hours'}"]
        if d.busy:
            parts.append(
                "busy "
                + ", ".join(f"{b.start}–{b.end} ({b.kind}{f' {b.id}' if b.id else ''})" for b in d.busy)
            )
        parts.append(f"free {_span_text(d.free) or 'none'}")
        lines.append(f"{label}: " + "; ".join(parts))
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
    Operation(
        name="get_team_schedule",
        title="Team schedules",
        description="Working, busy and free hours per team member (staff) per day over a date range, local time.",
        method="GET",
        path="/company/{location_id}/staff/schedule",
        input_model=GetTeamScheduleArgs,
        output_model=TeamSchedule,
        toolset=TOOLSET,
        kind="read",
        handler=get_team_schedule,
        render=render_team_schedule,
    ),
)
