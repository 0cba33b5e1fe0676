"""The team's schedule (toolset `availability`): working, busy and free hours per team member per day.

`get_team_schedule` reads the working and busy intervals of many team members over many days in
one staff-side call (`GET /company/{id}/staff/schedule`, user token) and works out the free ones.
Times are the location's local clock times, with the UTC offset stated once and a note when a
daylight-saving change falls inside the range.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from pydantic import Field, TypeAdapter, field_validator

from altegio_mcp.errors import InvalidArgument
from altegio_mcp.operations.availability import TOOLSET
from altegio_mcp.operations.base import (
    NOW_DESCRIPTION,
    RAW_JSON,
    Args,
    Ids,
    LocationId,
    OpContext,
    Operation,
    Out,
    Result,
    Wire,
)
from altegio_mcp.operations.support import (
    CalendarDate,
    OptionalCalendarDate,
    check_date_order,
    clock_minutes,
    clock_text,
    free_spans,
    location_target,
    team_names,
    utc_offset,
    wire_list,
)

MAX_SCHEDULE_DAYS = 31  # a month per call keeps the answer readable (one line per team member per day)

ANY = RAW_JSON


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
    team_member: str | None = Field(default=None, description="The team member's name.")
    date: str
    working: list[Span]
    busy: list[BusySpan]
    free: list[Span] = Field(description="Working minus busy.")


class TeamSchedule(Result):
    location_id: int
    now: str | None = Field(default=None, description=NOW_DESCRIPTION)
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
    check_date_order(a.start_date, end)
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
    if days:
        names = await team_names(ctx, loc)
        for d in days:
            d.team_member = names.get(d.team_member_id)
    offset = utc_offset(tz, a.start_date)
    day = a.start_date
    while day < end:
        day += timedelta(days=1)
        if (changed := utc_offset(tz, day)) != offset:
            ctx.notes.append(f"The UTC offset is {changed} from {day} (daylight saving); times stay local.")
            break
    return TeamSchedule(
        location_id=loc, now=await ctx.now_at(loc), timezone=tz.key, utc_offset=offset, items=days
    )


def _span_text(spans: list[Span]) -> str:
    return ", ".join(f"{s.start}–{s.end}" for s in spans)


def render_team_schedule(out: TeamSchedule) -> str:
    head = f"Team schedules at location {out.location_id}, local times ({out.timezone}, UTC{out.utc_offset}):"
    if not out.items:
        return "\n".join([f"No schedules found at location {out.location_id}.", *out.notes])
    if out.now:
        head = head.removesuffix(":") + f"; now {datetime.fromisoformat(out.now):%a %Y-%m-%d %H:%M}:"
    lines = [head]
    for d in out.items:
        who = f"{d.team_member} #{d.team_member_id}" if d.team_member else f"#{d.team_member_id}"
        label = f"{who} {date.fromisoformat(d.date):%a %Y-%m-%d}"
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
