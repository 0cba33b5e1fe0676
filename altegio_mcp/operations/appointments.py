"""Appointments (legacy: records): list, get, update (read-merge-write), delete, partner list, and
the declarations of every tool in the `appointments` toolset.

The create path (idempotency key, recovery after a lost answer, nearest free times for a refused
slot) lives in `booking.py`; it is declared here so the toolset's tools stay in one table. An
update re-books the slot it moves to with the same helpers.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from pydantic import Field, WithJsonSchema

from altegio_mcp.errors import InvalidArgument, NotFound, Target, ValidationFailed
from altegio_mcp.operations.base import (
    NOW_DESCRIPTION,
    RAW_JSON,
    AllowPast,
    AppointmentId,
    Args,
    Confirmation,
    Detail,
    IsoDateTime,
    LocationId,
    LocationInfo,
    OpContext,
    Operation,
    OptionalClientId,
    OptionalDate,
    OptionalDateTime,
    OptionalTeamMemberId,
    Page,
    PageMeta,
    Result,
    Verdict,
    first_of,
    next_page_hint,
    page_meta,
)
from altegio_mcp.operations.booking import (
    CreateAppointmentArgs,
    client_of,
    create_appointment,
    explain_busy,
    length_seconds,
)
from altegio_mcp.operations.record_body import (
    NO_DEFAULT,
    EditExtras,
    Services,
    extras_body,
    past_start,
    priced_line,
    record_body,
    service_ids_of,
)
from altegio_mcp.operations.records import (
    APPOINTMENT_OR_LIST,
    APPOINTMENTS,
    ONE_APPOINTMENT,
    Appointment,
    AppointmentResult,
    WireAppointment,
    appointment_fields,
    describe,
    to_appointment,
)
from altegio_mcp.operations.support import check_date_order, location_target
from altegio_mcp.timeutil import now_text, zone

ANY = RAW_JSON

TOOLSET = "appointments"


def _appointment_target(location_id: int | None, appointment_id: int) -> Target:
    return Target("appointment", str(appointment_id), location_id, "list_appointments")


# --- results ---------------------------------------------------------------------------------------


class AppointmentList(Result):
    location_id: int | None = None
    now: str | None = Field(default=None, description=NOW_DESCRIPTION)
    timezone: str | None = Field(default=None, description="IANA zone the times are in.")
    items: list[Appointment]
    meta: PageMeta


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
    if out.now:
        lines.append(now_text(datetime.fromisoformat(out.now)))
    return "\n".join([*lines, *next_page_hint(meta), *out.notes])


def render_one(out: AppointmentResult) -> str:
    return "\n".join([describe(out.appointment), *out.notes])


def render_updated(out: UpdatedAppointment) -> str:
    changed = ", ".join(out.changed) or "nothing"
    return "\n".join([f"Updated ({changed}): {describe(out.appointment)}", *out.notes])


def render_deleted(out: DeletedAppointment) -> str:
    return "\n".join([f"Deleted appointment #{out.appointment_id}: {out.was}", *out.notes])


# --- list / get ------------------------------------------------------------------------------------


class ListFilters(Args):
    # Rarely used filters of list_appointments.
    created_from: OptionalDate = None
    created_to: OptionalDate = None
    changed_after: OptionalDateTime = None
    changed_before: OptionalDateTime = None
    created_by: int | None = Field(default=None, ge=1)
    finance: bool = False
    consumables: bool = False


# The model validates in full; the schema the model reads is its one-line summary.
Filters = Annotated[
    ListFilters | None,
    NO_DEFAULT,
    WithJsonSchema(
        {
            "type": "object",
            "description": "created_from, created_to, changed_after, changed_before, created_by, finance, consumables",
        }
    ),
]


class ListAppointmentsArgs(Args):
    location_id: LocationId
    start_date: OptionalDate = Field(default=None, description="From this local date.")
    end_date: OptionalDate = Field(default=None, description="To this local date, inclusive.")
    team_member_id: OptionalTeamMemberId
    client_id: OptionalClientId
    include_deleted: bool = Field(default=False, description="Also list deleted appointments.")
    filters: Filters = None
    page: Page
    count: int = Field(default=25, ge=1, le=100, description="Per page.")
    detail: Detail


def _local_moment(value: datetime | None, tz: ZoneInfo) -> str | None:
    """`changed_after`/`changed_before` as the list expects them: location-local, no offset."""
    if value is None:
        return None
    local = value.astimezone(tz) if value.tzinfo else value
    return local.strftime("%Y-%m-%dT%H:%M:%S")


def _listed(wire: WireAppointment, tz: ZoneInfo, a: ListAppointmentsArgs) -> dict[str, object]:
    fields = appointment_fields(wire, tz, detail=a.detail)
    extra = wire.model_extra or {}
    f = a.filters or ListFilters()
    asked = [k for k, on in (("finance_transactions", f.finance), ("consumables", f.consumables)) if on]
    if asked and fields["details"] is None:
        fields["details"] = {key: extra[key] for key in asked if key in extra}
    return fields


async def list_appointments(ctx: OpContext, a: ListAppointmentsArgs) -> AppointmentList:
    loc = ctx.location_id(a.location_id)
    tz = await ctx.zone(loc)
    check_date_order(a.start_date, a.end_date)
    f = a.filters or ListFilters()
    params: dict[str, Any] = {
        "page": a.page,
        "count": a.count,
        "staff_id": a.team_member_id,
        "client_id": a.client_id,
        "start_date": a.start_date.isoformat() if a.start_date else None,
        "end_date": a.end_date.isoformat() if a.end_date else None,
        "with_deleted": 1 if a.include_deleted else None,
        "c_start_date": f.created_from.isoformat() if f.created_from else None,
        "c_end_date": f.created_to.isoformat() if f.created_to else None,
        "changed_after": _local_moment(f.changed_after, tz),
        "changed_before": _local_moment(f.changed_before, tz),
        "created_user_id": f.created_by,
        "include_finance_transactions": 1 if f.finance else None,
        "include_consumables": 1 if f.consumables else None,
    }
    # Altegio sends some sixty fields per appointment and the compact result reads thirty: keeping
    # the rest (documents, goods, the team member's avatar…) costs a third of reading the list, so
    # they are kept only when the result shows them (`detail`, or finance/consumables).
    whole = a.detail or f.finance or f.consumables
    res = await ctx.call(
        "GET",
        f"/records/{loc}",
        APPOINTMENTS,
        params=params,
        target=location_target(loc),
        extra=None if whole else "ignore",
    )
    items = [_listed(w, tz, a) for w in res.data]
    return AppointmentList.model_validate(  # the items validated in one pass
        {
            "location_id": loc,
            "now": await ctx.now_at(loc),
            "timezone": tz.key,
            "items": items,
            "meta": page_meta(res.meta, a.page, a.count, len(items)),
        }
    )


class GetAppointmentArgs(Args):
    location_id: LocationId
    appointment_id: AppointmentId
    detail: Detail


async def fetch_appointment(ctx: OpContext, loc: int, appointment_id: int) -> WireAppointment:
    res = await ctx.call(
        "GET",
        f"/record/{loc}/{appointment_id}",
        APPOINTMENT_OR_LIST,
        target=_appointment_target(loc, appointment_id),
    )
    found = first_of(res.data)
    if not isinstance(found, WireAppointment):  # an empty list
        return ONE_APPOINTMENT.validate_python(found)  # raises the usual shape error
    return found


async def get_appointment(ctx: OpContext, a: GetAppointmentArgs) -> AppointmentResult:
    loc = ctx.location_id(a.location_id)
    tz = await ctx.zone(loc)
    wire = await fetch_appointment(ctx, loc, a.appointment_id)
    return AppointmentResult(appointment=to_appointment(wire, tz, detail=a.detail))


class ListPartnerAppointmentsArgs(Args):
    location_id: LocationId = Field(default=None, ge=1, description="Only this location (legacy: salon_id).")
    start_date: OptionalDate = Field(default=None, description="Visits from this date.")
    end_date: OptionalDate = Field(default=None, description="Visits up to this date.")
    created_start_date: OptionalDate = Field(default=None, description="Created on or after this date.")
    created_end_date: OptionalDate = Field(default=None, description="Created on or before this date.")
    user_id: int | None = Field(default=None, ge=1, description="Only those this user created.")
    page: Page
    count: int = Field(default=25, ge=1, le=100, description="Per page.")
    detail: Detail


def partner_day(value: date | None) -> str | None:
    """The partner list's date format: DD.MM.YYYY."""
    return value.strftime("%d.%m.%Y") if value else None


async def _item_zone(ctx: OpContext, wire: WireAppointment) -> ZoneInfo:
    """An item's own location zone: `company.timezone_name`, else that location's (looked up)."""
    if wire.company is not None and wire.company.id and wire.company.timezone_name:
        ctx.locations.remember(
            LocationInfo(
                id=wire.company.id,
                title=wire.company.title or f"location {wire.company.id}",
                timezone=wire.company.timezone_name,
            )
        )
        return zone(wire.company.timezone_name)
    if wire.location is not None:
        return await ctx.zone(wire.location)
    ctx.notes.append(f"Appointment {wire.id} came without its location: its times are shown in UTC.")
    return ZoneInfo("UTC")


async def list_partner_appointments(ctx: OpContext, a: ListPartnerAppointmentsArgs) -> AppointmentList:
    params: dict[str, Any] = {
        "page": a.page,
        "editable_length": a.count,
        "salon_id": a.location_id,
        "start_date": partner_day(a.start_date),
        "end_date": partner_day(a.end_date),
        "created_start_date": partner_day(a.created_start_date),
        "created_end_date": partner_day(a.created_end_date),
        "user_id": a.user_id,
    }
    if a.location_id is not None:
        ctx.check_location(a.location_id)
    res = await ctx.call(
        "GET", "/records/partner", APPOINTMENTS, params=params, extra=None if a.detail else "ignore"
    )
    items: list[Appointment] = []
    for wire in res.data:
        if wire.location and not ctx.caller.allows(wire.location):
            continue  # outside the caller's locations
        items.append(to_appointment(wire, await _item_zone(ctx, wire), detail=a.detail))
    return AppointmentList(
        location_id=a.location_id, items=items, meta=page_meta(res.meta, a.page, a.count, len(items))
    )


# --- update (read, merge, write the full record) ------------------------------------------------------


class UpdateAppointmentArgs(Args):
    location_id: LocationId
    appointment_id: AppointmentId
    datetime: IsoDateTime | None = Field(default=None, description="New start; no offset = location time.")
    team_member_id: OptionalTeamMemberId = Field(default=None, ge=1, description="New team member.")
    service_ids: Services | None = None
    duration_minutes: int | None = Field(default=None, ge=5, le=1440, description="New length in minutes.")
    client_id: OptionalClientId = Field(default=None, ge=1, description="New client.")
    comment: str | None = Field(default=None, max_length=1000, description="New comment ('' clears it).")
    extras: EditExtras = None
    save_if_busy: bool = Field(default=False, description="Save even if busy.")
    allow_past: AllowPast


EVENT_FIXED = ("datetime", "team_member_id", "service_ids", "duration_minutes")


def _changed(a: UpdateAppointmentArgs) -> list[str]:
    fields = a.model_dump(
        exclude_none=True, exclude={"location_id", "appointment_id", "save_if_busy", "allow_past", "extras"}
    )
    names = list(fields)
    if a.extras is not None:
        names += [f"extras.{name}" for name in a.extras.model_dump(exclude_none=True)]
    return sorted(names)


async def _new_length(
    ctx: OpContext, loc: int, wire: WireAppointment, a: UpdateAppointmentArgs, staff_id: int
) -> int | None:
    """The length to send: the minutes given; else the new services' length plus the break; else the
    current length, adjusted by a changed technical break (the services keep their time)."""
    old_break = wire.technical_break_duration or 0
    new_break = a.extras.break_minutes * 60 if a.extras and a.extras.break_minutes is not None else old_break
    if a.duration_minutes is not None:
        return a.duration_minutes * 60
    if a.service_ids is not None:
        ids = service_ids_of(a.service_ids)
        if set(ids) != {s.id for s in wire.services}:
            return await length_seconds(ctx, loc, staff_id, ids, None) + new_break
    if wire.duration is None:
        return None
    return wire.duration - old_break + new_break


async def update_appointment(ctx: OpContext, a: UpdateAppointmentArgs) -> UpdatedAppointment:
    loc = ctx.location_id(a.location_id)
    changes = _changed(a)
    if not changes:
        raise InvalidArgument(
            "datetime",
            "nothing to change: pass at least one of datetime, team_member_id, service_ids, "
            "duration_minutes, client_id, comment, extras",
        )
    tz = await ctx.zone(loc)
    start = await ctx.local_time(loc, a.datetime) if a.datetime else None
    if start is not None:
        await past_start(ctx, loc, start, a.allow_past)
    wire = await fetch_appointment(ctx, loc, a.appointment_id)
    if wire.activity_id:
        fixed = [name for name in EVENT_FIXED if getattr(a, name) is not None]
        if a.extras is not None and a.extras.break_minutes is not None:
            fixed.append("extras.break_minutes")
        if fixed:
            raise InvalidArgument(
                fixed[0],
                f"appointment {a.appointment_id} is a booking in group event {wire.activity_id}, whose "
                "time, team member and services come from the event: move it with "
                "move_event_booking",
            )
    start = start or wire.start(tz)
    staff_id = a.team_member_id or wire.staff_id or (wire.staff.id if wire.staff else None)
    if not wire.activity_id and (start is None or staff_id is None):
        raise InvalidArgument("appointment_id", f"appointment {a.appointment_id} has no start or team member")
    body = record_body(wire, start)
    if not wire.activity_id and staff_id is not None:
        body["staff_id"] = staff_id
        body["seance_length"] = await _new_length(ctx, loc, wire, a, staff_id)
        if a.service_ids is not None:
            current = {line.id: line for line in wire.services if line.id is not None}
            body["services"] = [
                priced_line(c, current.get(c if isinstance(c, int) else c.id)) for c in a.service_ids
            ]
    if a.client_id is not None:
        body["client"] = await client_of(ctx, loc, a.client_id)
    if a.comment is not None:
        body["comment"] = a.comment
    body.update(extras_body(a.extras))
    if "client" not in body:
        raise InvalidArgument(
            "client_id", f"appointment {a.appointment_id} has no client; give client_id to set one"
        )
    body["save_if_busy"] = a.save_if_busy
    service_ids = [s.id for s in wire.services if s.id is not None]
    if a.service_ids is not None:
        service_ids = service_ids_of(a.service_ids)
    try:
        res = await ctx.call(
            "PUT",
            f"/record/{loc}/{a.appointment_id}",
            ANY,
            json_body=body,
            target=_appointment_target(loc, a.appointment_id),
        )
    except ValidationFailed as exc:
        if wire.activity_id or start is None or staff_id is None:
            raise
        raise await explain_busy(ctx, exc, loc, staff_id, start, service_ids) from exc
    updated = ONE_APPOINTMENT.validate_python(first_of(res.data))
    return UpdatedAppointment(appointment=to_appointment(updated, tz), changed=changes)


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
    how = f"get_appointment(location_id={loc}, appointment_id={a.appointment_id})"

    async def verify() -> Verdict:
        try:
            wire = await fetch_appointment(ctx, loc, a.appointment_id)
        except NotFound:
            return Verdict(done=True, how=f"{how} answers 404: it is gone")
        if wire.deleted:
            return Verdict(done=True, how=f"{how} shows it deleted")
        return Verdict(done=False, how=f"{how} still finds it")

    await ctx.write(
        "DELETE",
        f"/record/{loc}/{a.appointment_id}",
        ANY,
        target=_appointment_target(loc, a.appointment_id),
        verify=verify,
        check=how,
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
        omitted={
            "include_consumables": "consumables are stock write-offs, not part of the appointment view",
            "include_finance_transactions": "payments are read with get_visit_details",
        },
        handler=get_appointment,
        render=render_one,
        target=lambda a: _appointment_target(a.location_id, a.appointment_id),
    ),
    Operation(
        name="create_appointment",
        title="Book an appointment",
        description="Book an appointment (legacy: record) with a team member (staff) at a time from list_free_times; a busy slot is refused with free times.",
        method="POST",
        path="/records/{location_id}",
        input_model=CreateAppointmentArgs,
        output_model=AppointmentResult,
        toolset=TOOLSET,
        kind="write",
        omitted={
            "activity_id": "group events are booked with book_group_event (v1's event booking is deprecated for v2)",
        },
        handler=create_appointment,
        render=render_one,
        resend_safe=False,
    ),
    Operation(
        name="update_appointment",
        title="Change an appointment",
        description="Move or change an appointment (legacy: record); all else is resent as is. Attendance/payment: update_visit.",
        method="PUT",
        path="/record/{location_id}/{record_id}",
        input_model=UpdateAppointmentArgs,
        output_model=UpdatedAppointment,
        toolset=TOOLSET,
        kind="write",
        omitted={
            "send_sms": "an edit sends no new confirmation SMS; reminders are kept (sms_remain_hours)",
            "include_consumables": "the answer is not shown; the tool reports the appointment it re-reads",
            "include_finance_transactions": "the answer is not shown; the tool reports the appointment it re-reads",
        },
        handler=update_appointment,
        render=render_updated,
        resend_safe=True,  # a full replace: the same record however often it arrives
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
        omitted={
            "include_consumables": "copied from the GET by the docs; no effect on a delete",
            "include_finance_transactions": "copied from the GET by the docs; no effect on a delete",
        },
        handler=delete_appointment,
        render=render_deleted,
        confirmation=Confirmation(preview=preview_delete),
        idempotent=True,  # a second delete changes nothing more
        resend_safe=False,  # but a repeat answers 404 after success: settled by reading it back
        target=lambda a: _appointment_target(a.location_id, a.appointment_id),
    ),
    Operation(
        name="list_partner_appointments",
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
