"""Recurring schedules (toolset `recurring`): find a group event's or appointment's schedule and
list one schedule day's occurrences.

A schedule has up to seven days (series), each a weekday, time, length and team member; its
occurrences are generated between its start and end dates. The wire models and the day shape here
are shared with `recurring.py`, which books a client into the future occurrences of chosen days.
"""

from __future__ import annotations

from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from pydantic import Field, TypeAdapter, field_validator

from altegio_mcp.errors import Target
from altegio_mcp.operations.base import (
    Args,
    LocationId,
    OpContext,
    Operation,
    Out,
    Result,
    Wire,
    WireNamed,
    empty_is_none,
)
from altegio_mcp.operations.records import PersonRef
from altegio_mcp.operations.support import local_iso

TOOLSET = "recurring"

WEEKDAYS = {"mon": "Mon", "tue": "Tue", "wed": "Wed", "thu": "Thu", "fri": "Fri", "sat": "Sat", "sun": "Sun"}

ScheduleId = Annotated[int, Field(ge=1, description="Schedule id; see find_schedule.")]


# --- wire models -----------------------------------------------------------------------------------


class WireScheduleEvent(Wire):
    id: int
    event_status: str | None = None
    event_datetime: str | None = None
    event_entity_type: str | None = None
    event_entity_id: int | None = None
    is_entity_datetime_changed: bool | None = None
    entity_datetime: str | None = None
    entity_master: WireNamed | None = None

    @field_validator("entity_master", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return empty_is_none(value)


class WireScheduleDay(Wire):
    id: int
    day_of_week: str | None = None
    events_time: str | None = None
    events_duration: float | None = None
    events_master: WireNamed | None = None
    events: list[WireScheduleEvent] | None = None

    @field_validator("events_master", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return empty_is_none(value)


class WireSchedule(Wire):
    id: int
    original_entity_type: str | None = None
    original_entity_id: int | None = None
    date_start: str | None = None
    date_end: str | None = None
    days: list[WireScheduleDay] | None = None


SCHEDULE = TypeAdapter(WireSchedule)
EVENTS = TypeAdapter(list[WireScheduleEvent])


# --- results ---------------------------------------------------------------------------------------


class ScheduleDay(Out):
    day_id: int = Field(description="Schedule day id: what schedule_day_ids take.")
    weekday: str | None = None
    time: str | None = Field(default=None, description="Local start time HH:MM.")
    length_minutes: int | None = None
    team_member: PersonRef | None = None


class ScheduleResult(Result):
    location_id: int
    schedule_id: int
    based_on: str | None = Field(default=None, description="The appointment or group event it was made from.")
    date_start: str | None = None
    date_end: str | None = None
    days: list[ScheduleDay]


class Occurrence(Out):
    id: int = Field(description="Occurrence id within the schedule day.")
    status: str | None = Field(
        default=None, description="stable; event_* = pending sync; entity_deleted; entity_failed."
    )
    start: str | None = Field(default=None, description="Planned start, ISO 8601 with offset.")
    moved_to: str | None = Field(default=None, description="Actual start when changed by hand.")
    appointment_id: int | None = None
    event_id: int | None = Field(default=None, description="Group event (legacy: activity) id.")
    team_member: PersonRef | None = None


class OccurrenceList(Result):
    location_id: int
    schedule_id: int
    day_id: int
    items: list[Occurrence]
    total: int


def day_line(d: ScheduleDay) -> str:
    who = f" with {d.team_member.name or f'team member {d.team_member.id}'}" if d.team_member else ""
    length = f", {d.length_minutes} min" if d.length_minutes else ""
    return f"day {d.day_id}: {d.weekday or '?'} {d.time or '?'}{length}{who}"


def render_schedule(out: ScheduleResult) -> str:
    head = f"Schedule {out.schedule_id} ({out.date_start} to {out.date_end})"
    if out.based_on:
        head += f", from {out.based_on}"
    lines = [head + ":"] + [f"  {day_line(d)}" for d in out.days]
    if not out.days:
        lines.append("  No days listed.")
    return "\n".join(lines + out.notes)


def render_occurrences(out: OccurrenceList) -> str:
    lines = [f"{out.total} occurrences of day {out.day_id} (schedule {out.schedule_id}):"]
    for o in out.items:
        what = f"appointment {o.appointment_id}" if o.appointment_id else f"event {o.event_id}"
        when = (o.start or "?")[:16].replace("T", " ")
        moved = f" (moved to {o.moved_to[:16].replace('T', ' ')})" if o.moved_to else ""
        lines.append(f"  #{o.id} {when}{moved} · {o.status} · {what}")
    return "\n".join(lines + out.notes)


# --- conversions -----------------------------------------------------------------------------------


def person_ref(master: WireNamed | None) -> PersonRef | None:
    return PersonRef(id=master.id, name=master.name) if master and (master.id or master.name) else None


def to_schedule_day(day: WireScheduleDay) -> ScheduleDay:
    return ScheduleDay(
        day_id=day.id,
        weekday=WEEKDAYS.get(day.day_of_week or "", day.day_of_week),
        time=day.events_time[:5] if day.events_time else None,
        length_minutes=int(day.events_duration // 60) if day.events_duration else None,
        team_member=person_ref(day.events_master),
    )


# --- find_schedule -----------------------------------------------------------------------------------


class FindScheduleArgs(Args):
    location_id: LocationId
    entity_type: Literal["activity", "record"] = Field(
        default="activity", description="activity (group event) or record (appointment)."
    )
    entity_id: int = Field(ge=1, description="The group event or appointment id.")


async def find_schedule(ctx: OpContext, a: FindScheduleArgs) -> ScheduleResult:
    loc = ctx.location_id(a.location_id)
    what = "group event" if a.entity_type == "activity" else "appointment"
    res = await ctx.call(
        "GET",
        f"/company/{loc}/schedules/search/{a.entity_type}/{a.entity_id}",
        SCHEDULE,
        params={"include[]": ["days", "days.events_master"]},
        target=Target(f"schedule for {what}", str(a.entity_id), loc, None),
    )
    wire = res.data
    kind = {"activity": "group event", "record": "appointment"}.get(wire.original_entity_type or "")
    return ScheduleResult(
        location_id=loc,
        schedule_id=wire.id,
        based_on=f"{kind} {wire.original_entity_id}" if kind and wire.original_entity_id else None,
        date_start=wire.date_start,
        date_end=wire.date_end,
        days=[to_schedule_day(day) for day in wire.days or []],
    )


# --- list_schedule_events ----------------------------------------------------------------------------


class ListScheduleEventsArgs(Args):
    location_id: LocationId
    schedule_id: ScheduleId
    day_id: int = Field(ge=1, description="Schedule day id; find_schedule lists them.")


def _occurrence(event: WireScheduleEvent, tz: ZoneInfo) -> Occurrence:
    is_record = event.event_entity_type == "record"
    return Occurrence(
        id=event.id,
        status=event.event_status,
        start=local_iso(event.event_datetime, tz),
        moved_to=local_iso(event.entity_datetime, tz) if event.is_entity_datetime_changed else None,
        appointment_id=event.event_entity_id if is_record else None,
        event_id=None if is_record else event.event_entity_id,
        team_member=person_ref(event.entity_master),
    )


async def list_schedule_events(ctx: OpContext, a: ListScheduleEventsArgs) -> OccurrenceList:
    loc = ctx.location_id(a.location_id)
    tz = await ctx.zone(loc)
    res = await ctx.call(
        "GET",
        f"/company/{loc}/schedules/{a.schedule_id}/days/{a.day_id}/events",
        EVENTS,
        target=Target("schedule day", f"{a.day_id} of schedule {a.schedule_id}", loc, "find_schedule"),
    )
    items = [_occurrence(e, tz) for e in res.data]
    raw_total = res.meta.get("count")
    total = raw_total if isinstance(raw_total, int) else len(items)
    return OccurrenceList(
        location_id=loc, schedule_id=a.schedule_id, day_id=a.day_id, items=items, total=total
    )


# --- declarations ----------------------------------------------------------------------------------

OPERATIONS = (
    Operation(
        name="find_schedule",
        title="Find a recurring schedule",
        description="Find the schedule of a group event (activity) or appointment (record), with its day ids for recurring series.",
        method="GET",
        path="/company/{location_id}/schedules/search/{entity_type}/{entity_id}",
        input_model=FindScheduleArgs,
        output_model=ScheduleResult,
        toolset=TOOLSET,
        kind="read",
        handler=find_schedule,
        render=render_schedule,
    ),
    Operation(
        name="list_schedule_events",
        core=False,
        title="List a schedule day's occurrences",
        description="List one schedule day's occurrences: date, status, appointment (record) or event (activity).",
        method="GET",
        path="/company/{location_id}/schedules/{schedule_id}/days/{day_id}/events",
        input_model=ListScheduleEventsArgs,
        output_model=OccurrenceList,
        toolset=TOOLSET,
        kind="read",
        handler=list_schedule_events,
        render=render_occurrences,
    ),
)
