"""Recurring appointments (toolset `recurring`): a client's series (client schedule) over a
group-event schedule, created, changed and deleted, and the ledger that remembers it.

A client series books one client into the future occurrences of chosen schedule days (see
`schedules.py` for schedules and their days). Altegio can create, change and delete a client series
but cannot read one, so this module records what each create or change answered in the server's
`SeriesLedger`; that record is how a change or a deletion can say in advance which days and how
many future appointments it removes. A series the ledger does not know is treated as the worst case.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import Field, JsonValue, TypeAdapter, field_validator

from altegio_mcp.errors import AltegioError, InvalidArgument, Target
from altegio_mcp.operations.base import (
    RAW_JSON,
    Args,
    ClientId,
    Confirmation,
    LocationId,
    OpContext,
    Operation,
    Result,
    SeriesRecord,
    Wire,
)
from altegio_mcp.operations.schedules import (
    EVENTS,
    TOOLSET,
    ScheduleDay,
    ScheduleId,
    WireScheduleDay,
    day_line,
    to_schedule_day,
)
from altegio_mcp.timeutil import iso, parse_api_datetime

ANY = RAW_JSON

# Occurrences whose appointment or event is gone, or never came to be.
GONE = {"event_deleted", "entity_deleted", "entity_failed"}
UPCOMING_SHOWN = 10
DATES_LISTED = 20

ClientScheduleId = Annotated[
    int,
    Field(ge=1, description="Client series id."),
]
DayIds = Annotated[
    list[Annotated[int, Field(ge=1)]],
    Field(min_length=1, max_length=7, description="Schedule day ids (1-7); see find_schedule."),
]


def utc_now() -> datetime:
    """The current time; tests replace it to pin "future" against a fixed sandbox day."""
    return datetime.now(UTC)


# --- wire model ------------------------------------------------------------------------------------


class WireClientSchedule(Wire):
    id: int
    final_day: str | None = None
    days: list[WireScheduleDay] = Field(default_factory=list[WireScheduleDay])

    @field_validator("days", mode="before")
    @classmethod
    def _none_is_empty(cls, value: object) -> object:
        return value or []


CLIENT_SCHEDULE = TypeAdapter(WireClientSchedule)


# --- results ---------------------------------------------------------------------------------------


class SeriesDay(ScheduleDay):
    upcoming: list[str] = Field(description="Next occurrences, ISO 8601 with offset (at most 10).")
    upcoming_total: int = Field(description="All future occurrences listed by Altegio.")


class SeriesResult(Result):
    location_id: int
    schedule_id: int
    client_schedule_id: int = Field(description="The series id: keep it to change or delete the series.")
    final_day: str | None = Field(default=None, description="Last day of the series, with offset.")
    days: list[SeriesDay]
    detached_day_ids: list[int] | None = Field(default=None, description="Days this change removed.")
    attached_day_ids: list[int] | None = Field(default=None, description="Days this change added.")


class DeletedSeries(Result):
    deleted: bool
    client_schedule_id: int
    future_appointments_removed: int | None = Field(
        default=None, description="Known only for series this server created or changed."
    )


def render_series(out: SeriesResult) -> str:
    lines = [
        f"Recurring series {out.client_schedule_id} on schedule {out.schedule_id}, until {out.final_day or '?'}:"
    ]
    for d in out.days:
        nxt = ", ".join(s[:16].replace("T", " ") for s in d.upcoming[:3])
        lines.append(f"  {day_line(d)}; {d.upcoming_total} upcoming" + (f": {nxt}…" if nxt else ""))
    if out.detached_day_ids:
        lines.append(f"Detached days: {', '.join(map(str, out.detached_day_ids))}.")
    if out.attached_day_ids:
        lines.append(f"Attached days: {', '.join(map(str, out.attached_day_ids))}.")
    return "\n".join(lines + out.notes)


def render_deleted(out: DeletedSeries) -> str:
    count = out.future_appointments_removed
    removed = f", {count} future appointments removed" if count is not None else ""
    return "\n".join([f"Deleted recurring series {out.client_schedule_id}{removed}.", *out.notes])


# --- series days and the ledger ------------------------------------------------------------------


def _live_starts(day: WireScheduleDay, tz: ZoneInfo) -> list[datetime]:
    starts: list[datetime] = []
    for event in day.events or []:
        start = parse_api_datetime(event.event_datetime, tz)
        if start is not None and event.event_status not in GONE:
            starts.append(start.astimezone(tz))
    return sorted(starts)


def _series_day(day: WireScheduleDay, tz: ZoneInfo, now: datetime) -> SeriesDay:
    future = [s for s in _live_starts(day, tz) if s > now]
    return SeriesDay(
        **to_schedule_day(day).model_dump(),
        upcoming=[iso(s) for s in future[:UPCOMING_SHOWN]],
        upcoming_total=len(future),
    )


async def _remember(
    ctx: OpContext, loc: int, schedule_id: int, client_id: int | None, wire: WireClientSchedule
) -> SeriesResult:
    """Record the series in the ledger (Altegio cannot be asked later) and build the result."""
    tz = await ctx.zone(loc)
    now = utc_now()
    starts = sorted({s for day in wire.days for s in _live_starts(day, tz)})
    ctx.series.put(
        wire.id,
        SeriesRecord(
            location_id=loc,
            schedule_id=schedule_id,
            client_id=client_id,
            day_ids=[day.id for day in wire.days],
            future_starts=[iso(s) for s in starts],
        ),
    )
    if any(day.events is None for day in wire.days):
        ctx.notes.append("Altegio's answer did not list occurrences for every day.")
    final = parse_api_datetime(wire.final_day, tz)
    return SeriesResult(
        location_id=loc,
        schedule_id=schedule_id,
        client_schedule_id=wire.id,
        final_day=iso(final.astimezone(tz)) if final else wire.final_day,
        days=[_series_day(day, tz, now) for day in wire.days],
    )


def _check_unique(day_ids: list[int]) -> None:
    repeated = sorted({d for d in day_ids if day_ids.count(d) > 1})
    if repeated:
        raise InvalidArgument("schedule_day_ids", f"day {repeated[0]} is listed twice; list each day once")


def _schedule_target(loc: int, schedule_id: int) -> Target:
    return Target("schedule", str(schedule_id), loc, "find_schedule")


def _series_target(loc: int | None, schedule_id: int, client_schedule_id: int) -> Target:
    return Target("recurring series", f"{client_schedule_id} on schedule {schedule_id}", loc, "find_schedule")


def _series_path(loc: int, schedule_id: int, client_schedule_id: int) -> str:
    return f"/company/{loc}/schedules/{schedule_id}/client_schedules/{client_schedule_id}"


def _known(ctx: OpContext, loc: int, schedule_id: int, client_schedule_id: int) -> SeriesRecord | None:
    """The ledger's record of this series, if it is about the same location and schedule."""
    record = ctx.series.get(client_schedule_id)
    if record is None or record.location_id != loc or record.schedule_id != schedule_id:
        return None
    return record


async def _future_starts(ctx: OpContext, record: SeriesRecord) -> list[datetime]:
    tz = await ctx.zone(record.location_id)
    now = utc_now()
    starts = [parse_api_datetime(s, tz) for s in record.future_starts]
    return sorted(s.astimezone(tz) for s in starts if s is not None and s > now)


def _dates(starts: list[datetime]) -> str:
    shown = ", ".join(f"{s:%a %Y-%m-%d %H:%M}" for s in starts[:DATES_LISTED])
    more = f" and {len(starts) - DATES_LISTED} more" if len(starts) > DATES_LISTED else ""
    return shown + more


# --- create --------------------------------------------------------------------------------------------


class CreateRecurringArgs(Args):
    location_id: LocationId
    schedule_id: ScheduleId
    client_id: ClientId
    schedule_day_ids: DayIds
    comer_id: int | None = Field(default=None, ge=1, description="The client's comer (person, pet, vehicle).")


async def create_recurring(ctx: OpContext, a: CreateRecurringArgs) -> SeriesResult:
    _check_unique(a.schedule_day_ids)
    loc = ctx.location_id(a.location_id)
    body: dict[str, JsonValue] = {"client_id": a.client_id, "schedule_days_ids": list(a.schedule_day_ids)}
    if a.comer_id is not None:
        body["comer_id"] = a.comer_id
    res = await ctx.call(
        "POST",
        f"/company/{loc}/schedules/{a.schedule_id}/client_schedules",
        CLIENT_SCHEDULE,
        json_body=body,
        target=_schedule_target(loc, a.schedule_id),
    )
    return await _remember(ctx, loc, a.schedule_id, a.client_id, res.data)


# --- update (destructive when it detaches days) -----------------------------------------------------------


class UpdateRecurringArgs(Args):
    location_id: LocationId
    schedule_id: ScheduleId
    client_schedule_id: ClientScheduleId
    schedule_day_ids: DayIds = Field(description="The full new set of day ids (1-7); others detach.")


def _detaches(ctx: OpContext, a: UpdateRecurringArgs) -> bool:
    loc = a.location_id or ctx.default_location_id
    record = _known(ctx, loc, a.schedule_id, a.client_schedule_id) if loc else None
    # Fail closed: without a record of the series, any day it has and the new set lacks is detached.
    return record is None or bool(set(record.day_ids) - set(a.schedule_day_ids))


async def _day_occurrences(ctx: OpContext, loc: int, schedule_id: int, day_id: int) -> list[datetime] | None:
    tz = await ctx.zone(loc)
    try:
        res = await ctx.call("GET", f"/company/{loc}/schedules/{schedule_id}/days/{day_id}/events", EVENTS)
    except AltegioError:  # the preview still stands without the per-day count
        return None
    starts = [parse_api_datetime(e.event_datetime, tz) for e in res.data]
    return [s for s in starts if s is not None]


async def preview_update(ctx: OpContext, a: UpdateRecurringArgs) -> str:
    loc = ctx.location_id(a.location_id)
    record = _known(ctx, loc, a.schedule_id, a.client_schedule_id)
    head = (
        f"Change recurring series {a.client_schedule_id} (schedule {a.schedule_id}, location {loc}) to days "
    )
    head += ", ".join(map(str, a.schedule_day_ids)) + "."
    if record is None:
        return (
            f"{head}\nAltegio offers no read for a client series and this server did not create or change "
            "this one, so it cannot tell which days the series has now: any schedule day not listed is "
            "detached, and its future appointments are deleted. Listed days are kept or attached."
        )
    lines = [head + (f" Client {record.client_id}." if record.client_id else "")]
    future = await _future_starts(ctx, record)
    for day_id in [d for d in record.day_ids if d not in a.schedule_day_ids]:
        occurrences = await _day_occurrences(ctx, loc, a.schedule_id, day_id)
        if occurrences is None:
            lines.append(f"- detach day {day_id} and delete its future appointments")
            continue
        on_day = set(occurrences)
        going = [s for s in future if s in on_day]
        dates = f": {_dates(going)}" if going else ""
        lines.append(f"- detach day {day_id}: {len(going)} future appointments deleted{dates}")
    for day_id in [d for d in a.schedule_day_ids if d not in record.day_ids]:
        lines.append(f"- attach day {day_id}: its future occurrences are booked")
    lines.append("(From what this server recorded when it last wrote the series.)")
    return "\n".join(lines)


async def update_recurring(ctx: OpContext, a: UpdateRecurringArgs) -> SeriesResult:
    _check_unique(a.schedule_day_ids)
    loc = ctx.location_id(a.location_id)
    before = _known(ctx, loc, a.schedule_id, a.client_schedule_id)
    res = await ctx.call(
        "PATCH",
        _series_path(loc, a.schedule_id, a.client_schedule_id),
        CLIENT_SCHEDULE,
        json_body={"schedule_days_ids": list(a.schedule_day_ids)},
        target=_series_target(loc, a.schedule_id, a.client_schedule_id),
    )
    out = await _remember(ctx, loc, a.schedule_id, before.client_id if before else None, res.data)
    if before is not None:
        out.detached_day_ids = [d for d in before.day_ids if d not in a.schedule_day_ids]
        out.attached_day_ids = [d for d in a.schedule_day_ids if d not in before.day_ids]
    return out


# --- delete (destructive, always confirmed) -------------------------------------------------------------


class DeleteRecurringArgs(Args):
    location_id: LocationId
    schedule_id: ScheduleId
    client_schedule_id: ClientScheduleId


async def preview_delete(ctx: OpContext, a: DeleteRecurringArgs) -> str:
    loc = ctx.location_id(a.location_id)
    record = _known(ctx, loc, a.schedule_id, a.client_schedule_id)
    head = f"Delete recurring series {a.client_schedule_id} (schedule {a.schedule_id}, location {loc})"
    if record is None:
        return (
            f"{head}. Altegio offers no read for a client series and this server did not create or change "
            "this one, so the number of appointments is unknown: all future appointments of the series "
            "are deleted. This cannot be undone."
        )
    future = await _future_starts(ctx, record)
    client = f" for client {record.client_id}" if record.client_id else ""
    dates = f": {_dates(future)}" if future else ""
    return (
        f"{head}{client}. It deletes {len(future)} future appointments{dates} (from what this server "
        "recorded when it last wrote the series). This cannot be undone."
    )


async def delete_recurring(ctx: OpContext, a: DeleteRecurringArgs) -> DeletedSeries:
    loc = ctx.location_id(a.location_id)
    record = _known(ctx, loc, a.schedule_id, a.client_schedule_id)
    removed = len(await _future_starts(ctx, record)) if record is not None else None
    await ctx.call(
        "DELETE",
        _series_path(loc, a.schedule_id, a.client_schedule_id),
        ANY,
        target=_series_target(loc, a.schedule_id, a.client_schedule_id),
    )
    ctx.series.forget(a.client_schedule_id)
    return DeletedSeries(
        deleted=True, client_schedule_id=a.client_schedule_id, future_appointments_removed=removed
    )


# --- declarations ----------------------------------------------------------------------------------

OPERATIONS = (
    Operation(
        name="create_recurring_appointments",
        title="Create recurring appointments",
        description="Book a client into every future occurrence of schedule days (client series, legacy: client_schedules).",
        method="POST",
        path="/company/{location_id}/schedules/{schedule_id}/client_schedules",
        input_model=CreateRecurringArgs,
        output_model=SeriesResult,
        toolset=TOOLSET,
        kind="write",
        handler=create_recurring,
        render=render_series,
    ),
    Operation(
        name="update_recurring_appointments",
        title="Change recurring appointments",
        description="Set a client series' days (client_schedules): dropped days lose their future appointments; confirmed first.",
        method="PATCH",
        path="/company/{location_id}/schedules/{schedule_id}/client_schedules/{client_schedule_id}",
        input_model=UpdateRecurringArgs,
        output_model=SeriesResult,
        toolset=TOOLSET,
        kind="destructive",
        handler=update_recurring,
        render=render_series,
        confirmation=Confirmation(preview=preview_update, applies=_detaches),
        idempotent=True,
        target=lambda a: _series_target(a.location_id, a.schedule_id, a.client_schedule_id),
    ),
    Operation(
        name="delete_recurring_appointments",
        title="Delete recurring appointments",
        description="Delete a client series (client_schedules) and all its future appointments. Irreversible; confirmed first.",
        method="DELETE",
        path="/company/{location_id}/schedules/{schedule_id}/client_schedules/{client_schedule_id}",
        input_model=DeleteRecurringArgs,
        output_model=DeletedSeries,
        toolset=TOOLSET,
        kind="destructive",
        handler=delete_recurring,
        render=render_deleted,
        confirmation=Confirmation(preview=preview_delete),
        target=lambda a: _series_target(a.location_id, a.schedule_id, a.client_schedule_id),
    ),
)

__all__ = ["OPERATIONS", "utc_now"]
