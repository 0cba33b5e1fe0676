"""Appointments (legacy: records): list, get, create, update (read-merge-write), delete, partner list.

Creates never double-book by default and never book twice after a flaky network: each create
carries an `api_id` (the caller's idempotency key, or one derived from the booking), and after a
timeout or dropped connection the server looks for that `api_id` before trying again.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from typing import Any

from pydantic import Field, JsonValue, TypeAdapter

from altegio_mcp.errors import InvalidArgument, Target, TransportError, ValidationFailed
from altegio_mcp.operations.base import (
    AppointmentId,
    Args,
    Confirmation,
    Detail,
    IsoDateTime,
    LocationId,
    OpContext,
    Operation,
    OptionalClientId,
    OptionalDate,
    OptionalTeamMemberId,
    Page,
    PageMeta,
    Result,
    ServiceIds,
    TeamMemberId,
    first_of,
    page_meta,
)
from altegio_mcp.operations.records import Appointment, WireAppointment, describe, to_appointment
from altegio_mcp.operations.support import free_times, service_durations
from altegio_mcp.timeutil import iso

APPOINTMENTS = TypeAdapter(list[WireAppointment])
ONE_APPOINTMENT = TypeAdapter(WireAppointment)
ANY = TypeAdapter(JsonValue)

TOOLSET = "appointments"


def _appointment_target(location_id: int | None, appointment_id: int) -> Target:
    return Target("appointment", str(appointment_id), location_id, "list_appointments")


# --- results ---------------------------------------------------------------------------------------


class AppointmentList(Result):
    location_id: int | None = None
    timezone: str | None = Field(default=None, description="IANA zone the times are in.")
    items: list[Appointment]
    meta: PageMeta


class AppointmentResult(Result):
    appointment: Appointment


class UpdatedAppointment(Result):
    appointment: Appointment
    changed: list[str] = Field(description="Fields this call changed.")


class DeletedAppointment(Result):
    deleted: bool
    appointment_id: int
    was: str = Field(description="What the deleted appointment was.")


def render_list(out: AppointmentList) -> str:
    meta = out.meta
    total = f" of {meta.total}" if meta.total is not None else ""
    head = f"{meta.count}{total} appointments"
    if out.location_id:
        head += f" at location {out.location_id} ({out.timezone})"
    lines = [f"{head}, page {meta.page}:"] + [describe(a) for a in out.items]
    if not out.items:
        lines = [f"No appointments match (page {meta.page})."]
    if meta.next_page:
        lines.append(f"More: call again with page={meta.next_page}.")
    return "\n".join(lines + out.notes)


def render_one(out: AppointmentResult) -> str:
    return "\n".join([describe(out.appointment), *out.notes])


def render_updated(out: UpdatedAppointment) -> str:
    changed = ", ".join(out.changed) or "nothing"
    return "\n".join([f"Updated ({changed}): {describe(out.appointment)}", *out.notes])


def render_deleted(out: DeletedAppointment) -> str:
    return "\n".join([f"Deleted appointment #{out.appointment_id}: {out.was}", *out.notes])


# --- list / get ------------------------------------------------------------------------------------


class ListAppointmentsArgs(Args):
    location_id: LocationId
    start_date: OptionalDate = Field(default=None, description="From this local date.")
    end_date: OptionalDate = Field(default=None, description="To this local date, inclusive.")
    team_member_id: OptionalTeamMemberId
    client_id: OptionalClientId
    include_deleted: bool = Field(default=False, description="Also list deleted appointments.")
    page: Page
    count: int = Field(default=25, ge=1, le=100, description="Per page.")
    detail: Detail


async def list_appointments(ctx: OpContext, a: ListAppointmentsArgs) -> AppointmentList:
    loc = ctx.location_id(a.location_id)
    tz = await ctx.zone(loc)
    if a.start_date and a.end_date and a.end_date < a.start_date:
        raise InvalidArgument("end_date", f"{a.end_date} is before start_date {a.start_date}")
    params: dict[str, Any] = {
        "page": a.page,
        "count": a.count,
        "staff_id": a.team_member_id,
        "client_id": a.client_id,
        "start_date": a.start_date.isoformat() if a.start_date else None,
        "end_date": a.end_date.isoformat() if a.end_date else None,
        "with_deleted": 1 if a.include_deleted else None,
    }
    res = await ctx.call(
        "GET",
        f"/records/{loc}",
        APPOINTMENTS,
        params=params,
        target=Target("location", str(loc), None, "list_locations"),
    )
    items = [to_appointment(w, tz, detail=a.detail) for w in res.data]
    return AppointmentList(
        location_id=loc, timezone=tz.key, items=items, meta=page_meta(res.meta, a.page, a.count, len(items))
    )


class GetAppointmentArgs(Args):
    location_id: LocationId
    appointment_id: AppointmentId
    detail: Detail


async def fetch_appointment(ctx: OpContext, loc: int, appointment_id: int) -> WireAppointment:
    res = await ctx.call(
        "GET", f"/record/{loc}/{appointment_id}", ANY, target=_appointment_target(loc, appointment_id)
    )
    return ONE_APPOINTMENT.validate_python(first_of(res.data))


async def get_appointment(ctx: OpContext, a: GetAppointmentArgs) -> AppointmentResult:
    loc = ctx.location_id(a.location_id)
    tz = await ctx.zone(loc)
    wire = await fetch_appointment(ctx, loc, a.appointment_id)
    return AppointmentResult(appointment=to_appointment(wire, tz, detail=a.detail))


class ListPartnerAppointmentsArgs(Args):
    location_id: LocationId = Field(default=None, ge=1, description="Only this location (legacy: salon_id).")
    start_date: OptionalDate = Field(default=None, description="Visits from this date (YYYY-MM-DD).")
    end_date: OptionalDate = Field(default=None, description="Visits up to this date (YYYY-MM-DD).")
    created_start_date: OptionalDate = Field(default=None, description="Created on or after this date.")
    created_end_date: OptionalDate = Field(default=None, description="Created on or before this date.")
    page: Page
    count: int = Field(default=25, ge=1, le=100, description="Per page.")
    detail: Detail


async def list_partner_appointments(ctx: OpContext, a: ListPartnerAppointmentsArgs) -> AppointmentList:
    def day(value: date | None) -> str | None:
        return value.isoformat() if value else None

    params: dict[str, Any] = {
        "page": a.page,
        "editable_length": a.count,
        "salon_id": a.location_id,
        "start_date": day(a.start_date),
        "end_date": day(a.end_date),
        "created_start_date": day(a.created_start_date),
        "created_end_date": day(a.created_end_date),
    }
    res = await ctx.call("GET", "/records/partner", APPOINTMENTS, params=params)
    items: list[Appointment] = []
    for wire in res.data:
        zone_of = wire.company_id or a.location_id or ctx.default_location_id
        tz = await ctx.zone(zone_of) if zone_of else None
        if tz is None:
            raise InvalidArgument("location_id", "Altegio returned an appointment without its location")
        items.append(to_appointment(wire, tz, detail=a.detail))
    return AppointmentList(
        location_id=a.location_id, items=items, meta=page_meta(res.meta, a.page, a.count, len(items))
    )


# --- create ----------------------------------------------------------------------------------------


class CreateAppointmentArgs(Args):
    location_id: LocationId
    team_member_id: TeamMemberId
    service_ids: ServiceIds
    datetime: IsoDateTime
    client_id: int | None = Field(
        default=None,
        ge=1,
        description="Existing client; or give client_name and client_phone.",
    )
    client_name: str | None = Field(
        default=None, min_length=1, max_length=100, description="New client's name."
    )
    client_phone: str | None = Field(
        default=None,
        pattern=r"^\+?[0-9 ()-]{9,20}$",
        description="New client's phone, 9-15 digits.",
    )
    client_email: str | None = Field(default=None, max_length=120, description="Client's email.")
    duration_minutes: int | None = Field(
        default=None, ge=5, le=1440, description="Default: the services' usual length."
    )
    comment: str | None = Field(default=None, max_length=1000, description="Note on the appointment.")
    send_sms: bool = Field(default=False, description="SMS the client a confirmation.")
    save_if_busy: bool = Field(default=False, description="Book even if busy or outside working hours.")
    idempotency_key: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9._:-]+$",
        description="Reuse on a retry: never booked twice (stored as api_id).",
    )


def derived_api_id(loc: int, a: CreateAppointmentArgs, start: datetime, caller: str) -> str:
    """A stable key for one intended booking, so a retry after a lost answer finds the first one."""
    basis = "|".join(
        [
            caller,
            str(loc),
            str(a.team_member_id),
            ",".join(map(str, a.service_ids)),
            iso(start),
            str(a.client_id or ""),
            a.client_phone or "",
        ]
    )
    return "mcp-" + hashlib.sha256(basis.encode()).hexdigest()[:24]


async def client_body(ctx: OpContext, loc: int, a: CreateAppointmentArgs) -> dict[str, JsonValue]:
    if a.client_id is not None:
        res = await ctx.call(
            "GET",
            f"/client/{loc}/{a.client_id}",
            dict[str, JsonValue],
            target=Target("client", str(a.client_id), loc, "search_clients"),
        )
        data = res.data
        body: dict[str, JsonValue] = {"phone": data.get("phone"), "name": data.get("name")}
        if data.get("email") or a.client_email:
            body["email"] = a.client_email or data.get("email")
        return body
    if not (a.client_name and a.client_phone):
        raise InvalidArgument(
            "client_id",
            "give client_id (find it with search_clients) or both client_name and client_phone for a new client",
        )
    body = {"phone": a.client_phone, "name": a.client_name}
    if a.client_email:
        body["email"] = a.client_email
    return body


async def _length_seconds(
    ctx: OpContext, loc: int, team_member_id: int, service_ids: list[int], minutes: int | None
) -> int:
    if minutes is not None:
        return minutes * 60
    durations = await service_durations(ctx, loc, team_member_id)
    missing = [sid for sid in service_ids if sid not in durations]
    if missing:
        raise InvalidArgument(
            "service_ids",
            f"team member {team_member_id} does not provide service {missing[0]} at location {loc}: "
            f"call list_services with team_member_id={team_member_id}",
        )
    return sum(durations[sid] for sid in service_ids)


async def _explain_busy(
    ctx: OpContext,
    exc: ValidationFailed,
    loc: int,
    team_member_id: int,
    start: datetime,
    service_ids: list[int],
) -> ValidationFailed:
    """Add the team member's nearest free times to a refused booking, so the model can offer them."""
    try:
        times = await free_times(ctx, loc, team_member_id, start.date(), service_ids)
    except Exception:  # the suggestion is a courtesy; the refusal stands on its own
        return exc
    wanted = iso(start)
    if wanted in times:
        return exc
    nearby = sorted(times, key=lambda t: abs(datetime.fromisoformat(t) - start))[:5]
    hint = (
        f" Nearest free times for team member {team_member_id} on {start.date()}: {', '.join(sorted(nearby))}."
        if nearby
        else f" Team member {team_member_id} has no free time on {start.date()}: try list_bookable_dates."
    )
    return ValidationFailed(
        exc.message,
        method=exc.method,
        path=exc.path,
        status_code=exc.status_code,
        api_message=(exc.api_message or "The slot is not available.") + hint,
        api_errors=exc.api_errors,
    )


async def _find_by_api_id(
    ctx: OpContext, loc: int, a_day: date, team_member_id: int, api_id: str
) -> WireAppointment | None:
    res = await ctx.call(
        "GET",
        f"/records/{loc}",
        APPOINTMENTS,
        params={
            "staff_id": team_member_id,
            "start_date": a_day.isoformat(),
            "end_date": a_day.isoformat(),
            "count": 100,
        },
    )
    return next((w for w in res.data if w.api_id == api_id), None)


async def create_appointment(ctx: OpContext, a: CreateAppointmentArgs) -> AppointmentResult:
    loc = ctx.location_id(a.location_id)
    tz = await ctx.zone(loc)
    start = await ctx.local_time(loc, a.datetime)
    client = await client_body(ctx, loc, a)
    length = await _length_seconds(ctx, loc, a.team_member_id, a.service_ids, a.duration_minutes)
    api_id = a.idempotency_key or derived_api_id(loc, a, start, ctx.caller.key_id)
    body: dict[str, JsonValue] = {
        "staff_id": a.team_member_id,
        "services": [{"id": sid} for sid in a.service_ids],
        "client": client,
        "datetime": iso(start),
        "seance_length": length,
        "save_if_busy": a.save_if_busy,
        "send_sms": a.send_sms,
        "comment": a.comment or "",
        "api_id": api_id,
    }
    for attempt in range(2):
        try:
            res = await ctx.call("POST", f"/records/{loc}", ANY, json_body=body)
        except ValidationFailed as exc:
            raise await _explain_busy(ctx, exc, loc, a.team_member_id, start, a.service_ids) from exc
        except TransportError:
            found = await _find_by_api_id(ctx, loc, start.astimezone(tz).date(), a.team_member_id, api_id)
            if found is not None:
                ctx.notes.append(
                    "The connection failed after Altegio saved the booking; found it by api_id "
                    f"{api_id}, so it was not booked twice."
                )
                return AppointmentResult(appointment=to_appointment(found, tz))
            if attempt == 1:
                raise
            ctx.notes.append("The first attempt failed before Altegio saved anything; it was sent once more.")
            continue
        wire = ONE_APPOINTMENT.validate_python(first_of(res.data))
        return AppointmentResult(appointment=to_appointment(wire, tz))
    raise AssertionError("unreachable")  # pragma: no cover


# --- update (read, merge, write the full record) ------------------------------------------------------


class UpdateAppointmentArgs(Args):
    location_id: LocationId
    appointment_id: AppointmentId
    datetime: IsoDateTime | None = Field(default=None, description="New start; no offset = location time.")
    team_member_id: OptionalTeamMemberId = Field(default=None, ge=1, description="New team member.")
    service_ids: ServiceIds | None = Field(default=None, description="New full list of service ids.")
    duration_minutes: int | None = Field(default=None, ge=5, le=1440, description="New length in minutes.")
    comment: str | None = Field(default=None, max_length=1000, description="New comment ('' clears it).")
    save_if_busy: bool = Field(default=False, description="true: save even over another appointment.")


def _service_lines(wire: WireAppointment, service_ids: list[int] | None) -> list[JsonValue]:
    existing = {line.id: line for line in wire.services if line.id is not None}
    ids = service_ids if service_ids is not None else list(existing)
    lines: list[JsonValue] = []
    for sid in ids:
        line = existing.get(sid)
        if line is None:
            lines.append({"id": sid})
        else:
            lines.append(
                {
                    "id": sid,
                    "first_cost": line.first_cost if line.first_cost is not None else line.cost,
                    "discount": line.discount or 0,
                    "cost": line.cost,
                }
            )
    return lines


async def update_appointment(ctx: OpContext, a: UpdateAppointmentArgs) -> UpdatedAppointment:
    loc = ctx.location_id(a.location_id)
    changes = a.model_dump(exclude_none=True, exclude={"location_id", "appointment_id", "save_if_busy"})
    if not changes:
        raise InvalidArgument(
            "datetime",
            "nothing to change: pass at least one of datetime, team_member_id, service_ids, "
            "duration_minutes, comment",
        )
    tz = await ctx.zone(loc)
    wire = await fetch_appointment(ctx, loc, a.appointment_id)
    start = await ctx.local_time(loc, a.datetime) if a.datetime else wire.start(tz)
    staff_id = a.team_member_id or wire.staff_id or (wire.staff.id if wire.staff else None)
    if start is None or staff_id is None or wire.client is None:
        raise InvalidArgument(
            "appointment_id",
            f"appointment {a.appointment_id} is a group-event or incomplete record; edit it in Altegio",
        )
    length = wire.duration
    if a.duration_minutes is not None:
        length = a.duration_minutes * 60
    elif a.service_ids is not None and set(a.service_ids) != {s.id for s in wire.services}:
        length = await _length_seconds(ctx, loc, staff_id, a.service_ids, None)
    body: dict[str, JsonValue] = {
        "staff_id": staff_id,
        "services": _service_lines(wire, a.service_ids),
        "client": {
            k: v
            for k, v in {
                "phone": wire.client.phone,
                "name": wire.client.name,
                "email": wire.client.email,
            }.items()
            if v
        },
        "datetime": iso(start),
        "seance_length": length,
        "save_if_busy": a.save_if_busy,
        "comment": a.comment if a.comment is not None else (wire.comment or ""),
        "attendance": wire.attendance_code if wire.attendance_code is not None else 0,
    }
    if wire.api_id:
        body["api_id"] = wire.api_id
    service_ids = a.service_ids or [s.id for s in wire.services if s.id is not None]
    try:
        res = await ctx.call(
            "PUT",
            f"/record/{loc}/{a.appointment_id}",
            ANY,
            json_body=body,
            target=_appointment_target(loc, a.appointment_id),
        )
    except ValidationFailed as exc:
        raise await _explain_busy(ctx, exc, loc, staff_id, start, service_ids) from exc
    updated = ONE_APPOINTMENT.validate_python(first_of(res.data))
    return UpdatedAppointment(appointment=to_appointment(updated, tz), changed=sorted(changes))


# --- delete (destructive) ------------------------------------------------------------------------


class DeleteAppointmentArgs(Args):
    location_id: LocationId
    appointment_id: AppointmentId


async def describe_for_confirmation(ctx: OpContext, loc: int, appointment_id: int) -> str:
    tz = await ctx.zone(loc)
    info = await ctx.locations.get(loc)
    appt = to_appointment(await fetch_appointment(ctx, loc, appointment_id), tz)
    return f"{describe(appt)} at {info.title}"


async def preview_delete(ctx: OpContext, a: DeleteAppointmentArgs) -> str:
    loc = ctx.location_id(a.location_id)
    what = await describe_for_confirmation(ctx, loc, a.appointment_id)
    return f"Delete appointment {what}. This cannot be undone."


async def delete_appointment(ctx: OpContext, a: DeleteAppointmentArgs) -> DeletedAppointment:
    loc = ctx.location_id(a.location_id)
    was = await describe_for_confirmation(ctx, loc, a.appointment_id)
    await ctx.call(
        "DELETE", f"/record/{loc}/{a.appointment_id}", ANY, target=_appointment_target(loc, a.appointment_id)
    )
    return DeletedAppointment(deleted=True, appointment_id=a.appointment_id, was=was)


# --- declarations ----------------------------------------------------------------------------------

OPERATIONS = (
    Operation(
        name="list_appointments",
        title="List appointments",
        description="List a location's appointments (legacy: records) by date range, team member (staff) or client.",
        method="GET",
        path="/records/{location_id}",
        input_model=ListAppointmentsArgs,
        output_model=AppointmentList,
        toolset=TOOLSET,
        kind="read",
        handler=list_appointments,
        render=render_list,
    ),
    Operation(
        name="get_appointment",
        title="Get an appointment",
        description="Get one appointment (legacy: record): client, team member, services, status, visit id.",
        method="GET",
        path="/record/{location_id}/{record_id}",
        input_model=GetAppointmentArgs,
        output_model=AppointmentResult,
        toolset=TOOLSET,
        kind="read",
        handler=get_appointment,
        render=render_one,
        target=lambda a: _appointment_target(a.location_id, a.appointment_id),
    ),
    Operation(
        name="create_appointment",
        title="Book an appointment",
        description="Book an appointment (legacy: record) with a team member (staff); take the time from list_free_times. Busy slots are refused with free times.",
        method="POST",
        path="/records/{location_id}",
        input_model=CreateAppointmentArgs,
        output_model=AppointmentResult,
        toolset=TOOLSET,
        kind="write",
        handler=create_appointment,
        render=render_one,
    ),
    Operation(
        name="update_appointment",
        title="Change an appointment",
        description="Move or change an appointment (legacy: record): pass only what changes; the rest is kept. Attendance/payment: update_visit.",
        method="PUT",
        path="/record/{location_id}/{record_id}",
        input_model=UpdateAppointmentArgs,
        output_model=UpdatedAppointment,
        toolset=TOOLSET,
        kind="write",
        handler=update_appointment,
        render=render_updated,
        target=lambda a: _appointment_target(a.location_id, a.appointment_id),
    ),
    Operation(
        name="delete_appointment",
        title="Delete an appointment",
        description="Delete (cancel) an appointment (legacy: record). Irreversible; the person confirms first.",
        method="DELETE",
        path="/record/{location_id}/{record_id}",
        input_model=DeleteAppointmentArgs,
        output_model=DeletedAppointment,
        toolset=TOOLSET,
        kind="destructive",
        handler=delete_appointment,
        render=render_deleted,
        confirmation=Confirmation(preview=preview_delete),
        target=lambda a: _appointment_target(a.location_id, a.appointment_id),
    ),
    Operation(
        name="list_partner_appointments",
        core=False,
        title="List partner appointments",
        description="List appointments (legacy: records) made through this integration, across locations (salons).",
        method="GET",
        path="/records/partner",
        input_model=ListPartnerAppointmentsArgs,
        output_model=AppointmentList,
        toolset=TOOLSET,
        kind="read",
        handler=list_partner_appointments,
        render=render_list,
    ),
)
