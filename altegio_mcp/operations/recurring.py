"""Recurring appointments (toolset `recurring`): a client's series (client schedule) over a
group-event schedule, created, changed and deleted.

A client series books one client into the future occurrences of chosen schedule days (see
`schedules.py` for schedules and their days). Altegio can create, change and delete a client series
but cannot read one, so the server never knows which days a series has now. The gate therefore fails
closed: every change of days and every deletion asks the person first, and previews say only what
reads made with the caller's own credentials show (the listed days' occurrences), never what this
or another process remembers. After a lost answer, a create is settled by reading the client's
appointments at the occurrences of the chosen days; a deletion by asking for the series again.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import Field, JsonValue, TypeAdapter, field_validator

from altegio_mcp.errors import AlreadyDone, InvalidArgument, NotFound, Target, WriteDoneAnswerLost
from altegio_mcp.operations.base import (
    RAW_JSON,
    Args,
    ClientId,
    Confirmation,
    LocationId,
    OpContext,
    Operation,
    Out,
    Result,
    Verdict,
    Verified,
    Wire,
)
from altegio_mcp.operations.records import APPOINTMENTS as RECORDS
from altegio_mcp.operations.schedules import (
    EVENTS,
    TOOLSET,
    ScheduleDay,
    ScheduleId,
    WireScheduleDay,
    WireScheduleEvent,
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
    Field(
        min_length=1,
        max_length=7,
        description="Schedule day ids from find_schedule (e.g. 311), not weekdays.",
    ),
]


def utc_now() -> datetime:
    """The current time; tests replace it to pin "future" against a fixed sandbox day."""
    return datetime.now(UTC)


# --- wire model ------------------------------------------------------------------------------------


class WireClientSchedule(Wire):
    id: int
    loyalty_abonement_id: int | None = None
    final_day: str | None = None
    days: list[WireScheduleDay] = Field(default_factory=list[WireScheduleDay])

    @field_validator("days", mode="before")
    @classmethod
    def _none_is_empty(cls, value: object) -> object:
        return value or []


CLIENT_SCHEDULE = TypeAdapter(WireClientSchedule)


# --- results ---------------------------------------------------------------------------------------


class FailedOccurrence(Out):
    start: str | None = None
    status: str | None = None
    entity_id: int | None = Field(default=None, description="Its appointment or event id.")


class SeriesDay(ScheduleDay):
    upcoming: list[str] = Field(description="Next occurrences, ISO 8601 with offset (at most 10).")
    upcoming_total: int = Field(description="All future occurrences listed by Altegio.")
    appointment_ids: list[int] | None = Field(default=None, description="Upcoming occurrences' appointments.")
    failed: list[FailedOccurrence] | None = Field(default=None, description="Occurrences not booked or gone.")


class SeriesResult(Result):
    location_id: int
    schedule_id: int
    client_schedule_id: int = Field(description="The series id: keep it to change or delete the series.")
    loyalty_abonement_id: int | None = Field(default=None, description="Membership it is paid from.")
    final_day: str | None = Field(default=None, description="Last day of the series, with offset.")
    days: list[SeriesDay]


class DeletedSeries(Result):
    deleted: bool
    client_schedule_id: int


def render_series(out: SeriesResult) -> str:
    lines = [
        f"Recurring series {out.client_schedule_id} on schedule {out.schedule_id}, until {out.final_day or '?'}:"
    ]
    for d in out.days:
        nxt = ", ".join(s[:16].replace("T", " ") for s in d.upcoming[:3])
        lines.append(f"  {day_line(d)}; {d.upcoming_total} upcoming" + (f": {nxt}…" if nxt else ""))
        for f in d.failed or []:
            lines.append(f"    not booked: {f.start or '?'} ({f.status}, id {f.entity_id})")
    if out.loyalty_abonement_id:
        lines.append(f"Paid from membership {out.loyalty_abonement_id}.")
    return "\n".join(lines + out.notes)


def render_deleted(out: DeletedSeries) -> str:
    return "\n".join(
        [f"Deleted recurring series {out.client_schedule_id} and its future appointments.", *out.notes]
    )


# --- series days ---------------------------------------------------------------------------------


def _live_starts(day: WireScheduleDay, tz: ZoneInfo) -> list[datetime]:
    starts: list[datetime] = []
    for event in day.events or []:
        start = parse_api_datetime(event.event_datetime, tz)
        if start is not None and event.event_status not in GONE:
            starts.append(start.astimezone(tz))
    return sorted(starts)


def _series_day(day: WireScheduleDay, tz: ZoneInfo, now: datetime) -> SeriesDay:
    future = [s for s in _live_starts(day, tz) if s > now]
    appointment_ids: list[int] = []
    failed: list[FailedOccurrence] = []
    for event in day.events or []:
        start = parse_api_datetime(event.event_datetime, tz)
        if event.event_status in GONE:
            failed.append(
                FailedOccurrence(
                    start=iso(start.astimezone(tz)) if start else None,
                    status=event.event_status,
                    entity_id=event.event_entity_id,
                )
            )
        elif event.event_entity_type == "record" and event.event_entity_id and (start is None or start > now):
            appointment_ids.append(event.event_entity_id)
    return SeriesDay(
        **to_schedule_day(day).model_dump(),
        upcoming=[iso(s) for s in future[:UPCOMING_SHOWN]],
        upcoming_total=len(future),
        appointment_ids=appointment_ids or None,
        failed=failed or None,
    )


async def _series_result(
    ctx: OpContext, loc: int, schedule_id: int, wire: WireClientSchedule
) -> SeriesResult:
    tz = await ctx.zone(loc)
    now = utc_now()
    if any(day.events is None for day in wire.days):
        ctx.notes.append("Altegio's answer did not list occurrences for every day.")
    final = parse_api_datetime(wire.final_day, tz)
    return SeriesResult(
        location_id=loc,
        schedule_id=schedule_id,
        client_schedule_id=wire.id,
        loyalty_abonement_id=wire.loyalty_abonement_id or None,
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


def _day_path(loc: int, schedule_id: int, day_id: int) -> str:
    return f"/company/{loc}/schedules/{schedule_id}/days/{day_id}/events"


async def _day_events(ctx: OpContext, loc: int, schedule_id: int, day_id: int) -> list[WireScheduleEvent]:
    """A schedule day's occurrences, read as the caller (a 403 or 404 stops the call)."""
    res = await ctx.call(
        "GET",
        _day_path(loc, schedule_id, day_id),
        EVENTS,
        target=Target("schedule day", f"{day_id} of schedule {schedule_id}", loc, "find_schedule"),
    )
    return res.data


def _future(
    events: list[WireScheduleEvent], tz: ZoneInfo, now: datetime
) -> list[tuple[datetime, int | None]]:
    """(start, group event id) of the live occurrences after `now`, in order."""
    out: list[tuple[datetime, int | None]] = []
    for event in events:
        start = parse_api_datetime(event.event_datetime, tz)
        if start is None or event.event_status in GONE or start <= now:
            continue
        entity = event.event_entity_id if event.event_entity_type == "activity" else None
        out.append((start.astimezone(tz), entity))
    return sorted(out, key=lambda item: item[0])


def _dates(starts: list[datetime]) -> str:
    shown = ", ".join(f"{s:%a %Y-%m-%d %H:%M}" for s in starts[:DATES_LISTED])
    more = f" and {len(starts) - DATES_LISTED} more" if len(starts) > DATES_LISTED else ""
    return shown + more


async def _listed_days(ctx: OpContext, loc: int, schedule_id: int, day_ids: list[int]) -> list[str]:
    """One line per listed day, from its occurrences as the caller can read them."""
    tz = await ctx.zone(loc)
    now = utc_now()
    lines: list[str] = []
    for day_id in day_ids:
        upcoming = [start for start, _ in _future(await _day_events(ctx, loc, schedule_id, day_id), tz, now)]
        when = f"{len(upcoming)} future occurrences" + (f": {_dates(upcoming)}" if upcoming else "")
        lines.append(f"- day {day_id}: {when}")
    return lines


# --- create --------------------------------------------------------------------------------------------


class CreateRecurringArgs(Args):
    location_id: LocationId
    schedule_id: ScheduleId
    client_id: ClientId
    schedule_day_ids: DayIds
    comer_id: int | None = Field(default=None, ge=1, description="The client's comer (person, pet, vehicle).")


async def _booked_occurrences(ctx: OpContext, loc: int, a: CreateRecurringArgs) -> tuple[list[int], str]:
    """Ids of the client's appointments at future occurrences of the chosen days, and the read used.

    A series books its client into each occurrence (a group event); the client's appointments that
    point at those group events are the series' trace, which Altegio does let us read.
    """
    tz = await ctx.zone(loc)
    now = utc_now()
    occurrences: list[tuple[datetime, int | None]] = []
    for day_id in a.schedule_day_ids:
        occurrences += _future(await _day_events(ctx, loc, a.schedule_id, day_id), tz, now)
    how = f"list_appointments(location_id={loc}, client_id={a.client_id})"
    if not occurrences:
        return [], how
    events = {entity for _, entity in occurrences if entity is not None}
    starts = {start for start, _ in occurrences}
    first, last = min(starts), max(starts)
    res = await ctx.call(
        "GET",
        f"/records/{loc}",
        RECORDS,
        params={
            "client_id": a.client_id,
            "start_date": first.date().isoformat(),
            "end_date": last.date().isoformat(),
            "count": 200,
        },
        target=Target("client", str(a.client_id), loc, "search_clients"),
    )
    booked: list[int] = []
    for record in res.data:
        start = parse_api_datetime(record.datetime, tz)
        at_occurrence = record.activity_id in events if record.activity_id else start in starts
        if not record.deleted and at_occurrence:
            booked.append(record.id)
    return booked, how


async def create_recurring(ctx: OpContext, a: CreateRecurringArgs) -> SeriesResult:
    _check_unique(a.schedule_day_ids)
    loc = ctx.location_id(a.location_id)
    # Never twice: a client already booked at these occurrences (an earlier call whose answer was
    # lost, most likely) is reported instead of booking the same slots again.
    already, how = await _booked_occurrences(ctx, loc, a)
    if already:
        raise AlreadyDone(
            f"Client {a.client_id} is already booked at {len(already)} future occurrences of these days "
            f"(appointments {', '.join(map(str, already[:10]))}): a series for them probably exists "
            f"already, perhaps from an earlier call whose answer was lost. Check with {how}; to change "
            "an existing series use update_recurring_appointments. Nothing was sent.",
            method="POST",
            path=f"/company/{loc}/schedules/{a.schedule_id}/client_schedules",
        )
    body: dict[str, JsonValue] = {"client_id": a.client_id, "schedule_days_ids": list(a.schedule_day_ids)}
    if a.comer_id is not None:
        body["comer_id"] = a.comer_id

    async def verify() -> Verdict:
        booked, _ = await _booked_occurrences(ctx, loc, a)
        return Verdict(done=bool(booked), how=f"{how} finds {len(booked)} appointments at its occurrences")

    res = await ctx.write(
        "POST",
        f"/company/{loc}/schedules/{a.schedule_id}/client_schedules",
        CLIENT_SCHEDULE,
        json_body=body,
        target=_schedule_target(loc, a.schedule_id),
        verify=verify,
        check=how,
    )
    if isinstance(res, Verified):
        raise WriteDoneAnswerLost(
            f"The series was created (the client is booked at its occurrences: {res.how}), but "
            "Altegio's answer with its id was lost. Do not create it again. Its id is needed only to "
            "change or delete it later",
            check=how,
        )
    return await _series_result(ctx, loc, a.schedule_id, res.data)


# --- update (always confirmed: the current days cannot be read) --------------------------------------------


class UpdateRecurringArgs(Args):
    location_id: LocationId
    schedule_id: ScheduleId
    client_schedule_id: ClientScheduleId
    schedule_day_ids: DayIds = Field(
        description="Full new set of schedule day ids (find_schedule); others detach."
    )


async def preview_update(ctx: OpContext, a: UpdateRecurringArgs) -> str:
    loc = ctx.location_id(a.location_id)
    head = (
        f"Set recurring series {a.client_schedule_id} (schedule {a.schedule_id}, location {loc}) to "
        f"exactly these days: {', '.join(map(str, a.schedule_day_ids))}."
    )
    lines = [head, *await _listed_days(ctx, loc, a.schedule_id, a.schedule_day_ids)]
    lines.append(
        "Altegio cannot show which days the series has now, so any day it has that is not listed "
        "here is detached and its future appointments are deleted. Listed days are kept or booked."
    )
    return "\n".join(lines)


async def update_recurring(ctx: OpContext, a: UpdateRecurringArgs) -> SeriesResult:
    _check_unique(a.schedule_day_ids)
    loc = ctx.location_id(a.location_id)
    res = await ctx.call(
        "PATCH",
        _series_path(loc, a.schedule_id, a.client_schedule_id),
        CLIENT_SCHEDULE,
        json_body={"schedule_days_ids": list(a.schedule_day_ids)},
        target=_series_target(loc, a.schedule_id, a.client_schedule_id),
    )
    out = await _series_result(ctx, loc, a.schedule_id, res.data)
    out.notes.append(
        "Altegio does not show a series' earlier days, so which days this change detached is not known."
    )
    return out


# --- delete (destructive, always confirmed) -------------------------------------------------------------


class DeleteRecurringArgs(Args):
    location_id: LocationId
    schedule_id: ScheduleId
    client_schedule_id: ClientScheduleId


async def preview_delete(ctx: OpContext, a: DeleteRecurringArgs) -> str:
    loc = ctx.location_id(a.location_id)
    return (
        f"Delete recurring series {a.client_schedule_id} (schedule {a.schedule_id}, location {loc}) and "
        "all its future appointments. Altegio cannot show a series before deleting it, so how many "
        "appointments go is not known. This cannot be undone."
    )


async def delete_recurring(ctx: OpContext, a: DeleteRecurringArgs) -> DeletedSeries:
    loc = ctx.location_id(a.location_id)
    path = _series_path(loc, a.schedule_id, a.client_schedule_id)
    target = _series_target(loc, a.schedule_id, a.client_schedule_id)

    async def verify() -> Verdict:
        # No read exists; asking for the deletion again is harmless: "not found" now means gone.
        try:
            await ctx.client.request("DELETE", path, ANY, auth=ctx.caller.auth, target=target)
        except NotFound:
            return Verdict(done=True, how=f"DELETE {path} again answers 404: the series is gone")
        return Verdict(done=True, how=f"DELETE {path} sent again succeeded")

    await ctx.write("DELETE", path, ANY, target=target, verify=verify, check="list_appointments")
    return DeletedSeries(deleted=True, client_schedule_id=a.client_schedule_id)


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
        resend_safe=False,
    ),
    Operation(
        name="update_recurring_appointments",
        title="Change recurring appointments",
        description="Set a client series' days (client_schedules): days not listed lose their future appointments; always confirmed first.",
        method="PATCH",
        path="/company/{location_id}/schedules/{schedule_id}/client_schedules/{client_schedule_id}",
        input_model=UpdateRecurringArgs,
        output_model=SeriesResult,
        toolset=TOOLSET,
        kind="destructive",
        handler=update_recurring,
        render=render_series,
        confirmation=Confirmation(preview=preview_update),
        idempotent=True,
        resend_safe=True,  # sets the full list of days: the same state however often it arrives
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
        idempotent=True,
        resend_safe=False,  # a repeat answers 404: settled by `verify` instead
        target=lambda a: _series_target(a.location_id, a.schedule_id, a.client_schedule_id),
    ),
)

__all__ = ["OPERATIONS", "utc_now"]
