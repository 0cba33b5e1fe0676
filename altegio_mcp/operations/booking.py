"""Booking a slot: `create_appointment`, which never double-books by default and never books twice
after a flaky network, and what a re-booking (`update_appointment`) shares with it.

Each create carries an `api_id` (the caller's idempotency key, or one derived from the booking);
an identical call first looks for that `api_id`, and a lost answer is settled by looking for it. A
slot Altegio refuses comes back with the team member's nearest free times, and a booking without
an explicit length takes the length of its services with that team member. The tool itself is
declared with the other appointment tools in `appointments.py`.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime

from pydantic import Field, JsonValue

from altegio_mcp.errors import APIStatusError, InvalidArgument, Target, ValidationFailed
from altegio_mcp.operations.base import (
    AllowPast,
    Args,
    IsoDateTime,
    LocationId,
    OpContext,
    TeamMemberId,
    first_of,
)
from altegio_mcp.operations.record_body import (
    NewExtras,
    Services,
    client_body,
    extras_body,
    past_start,
    priced_line,
    service_ids_of,
)
from altegio_mcp.operations.records import (
    APPOINTMENTS,
    ONE_APPOINTMENT,
    AppointmentResult,
    WireAppointment,
    to_appointment,
)
from altegio_mcp.operations.support import free_times, post_never_twice, service_durations
from altegio_mcp.timeutil import iso


class CreateAppointmentArgs(Args):
    location_id: LocationId
    team_member_id: TeamMemberId
    service_ids: Services
    datetime: IsoDateTime
    client_id: int | None = Field(
        default=None,
        ge=1,
        description="Or client_name + client_phone.",
    )
    client_name: str | None = Field(
        default=None, min_length=1, max_length=100, description="New client's name."
    )
    client_phone: str | None = Field(
        default=None,
        pattern=r"^\+?[0-9 ()-]{9,20}$",
        description="New client's phone, 9-15 digits.",
    )
    client_email: str | None = Field(default=None, max_length=120)
    duration_minutes: int | None = Field(
        default=None, ge=5, le=1440, description="Default: the services' length."
    )
    comment: str | None = Field(default=None, max_length=1000, description="Note on the appointment.")
    send_sms: bool = Field(default=False, description="SMS the client a confirmation.")
    save_if_busy: bool = Field(default=False, description="Book even if busy.")
    allow_past: AllowPast
    extras: NewExtras = None
    idempotency_key: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9._:-]+$",
        description="Retry key: never booked twice (api_id).",
    )


def derived_api_id(loc: int, a: CreateAppointmentArgs, start: datetime, caller: str) -> str:
    """A stable key for one intended booking, so a retry after a lost answer finds the first one."""
    basis = "|".join(
        [
            caller,
            str(loc),
            str(a.team_member_id),
            ",".join(map(str, service_ids_of(a.service_ids))),
            iso(start),
            str(a.client_id or ""),
            a.client_phone or "",
        ]
    )
    return "mcp-" + hashlib.sha256(basis.encode()).hexdigest()[:24]


async def client_of(
    ctx: OpContext, loc: int, client_id: int, email: str | None = None
) -> dict[str, JsonValue]:
    """An existing client as an appointment body's `client` (phone, name, email)."""
    res = await ctx.call(
        "GET",
        f"/client/{loc}/{client_id}",
        dict[str, JsonValue],
        target=Target("client", str(client_id), loc, "search_clients"),
    )
    data = res.data
    return client_body(
        {"phone": data.get("phone"), "name": data.get("name"), "email": email or data.get("email")}
    )


async def appointment_client(ctx: OpContext, loc: int, a: CreateAppointmentArgs) -> dict[str, JsonValue]:
    if a.client_id is not None:
        return await client_of(ctx, loc, a.client_id, a.client_email)
    if not (a.client_name and a.client_phone):
        raise InvalidArgument(
            "client_id",
            "give client_id (find it with search_clients) or both client_name and client_phone for a new client",
        )
    return client_body({"phone": a.client_phone, "name": a.client_name, "email": a.client_email})


async def length_seconds(
    ctx: OpContext, loc: int, team_member_id: int, service_ids: list[int], minutes: int | None
) -> int:
    """The appointment's length: the minutes given, else its services' lengths with this team member."""
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


async def explain_busy(
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
    await past_start(ctx, loc, start, a.allow_past)
    client = await appointment_client(ctx, loc, a)
    service_ids = service_ids_of(a.service_ids)
    length = await length_seconds(ctx, loc, a.team_member_id, service_ids, a.duration_minutes)
    if a.duration_minutes is None and a.extras is not None and a.extras.break_minutes:
        length += a.extras.break_minutes * 60  # the length includes the break; the services keep their time
    api_id = a.idempotency_key or derived_api_id(loc, a, start, ctx.caller.key_id)
    body: dict[str, JsonValue] = {
        "staff_id": a.team_member_id,
        "services": [priced_line(choice, None) for choice in a.service_ids],
        "client": client,
        "datetime": iso(start),
        "seance_length": length,
        "save_if_busy": a.save_if_busy,
        "send_sms": a.send_sms,
        "comment": a.comment or "",
        "api_id": api_id,
        **extras_body(a.extras),
    }

    async def refusal(exc: APIStatusError) -> Exception | None:
        if not isinstance(exc, ValidationFailed):
            return None
        return await explain_busy(ctx, exc, loc, a.team_member_id, start, service_ids)

    async def find_saved() -> WireAppointment | None:
        return await _find_by_api_id(ctx, loc, start.astimezone(tz).date(), a.team_member_id, api_id)

    posted = await post_never_twice(
        ctx,
        f"/records/{loc}",
        body,
        refusal=refusal,
        find_saved=find_saved,
        check=f"list_appointments(location_id={loc}, team_member_id={a.team_member_id}, "
        f"start_date={start.astimezone(tz).date().isoformat()}) by api_id {api_id}",
        precheck=True,
        key=api_id,
    )
    if posted.found is not None:
        ctx.notes.append(
            f"This booking already existed (api_id {api_id}, from an identical earlier call): "
            "returned it instead of booking twice."
            if posted.existed
            else f"Found by api_id {api_id}, so it was not booked twice."
        )
        return AppointmentResult(appointment=to_appointment(posted.found, tz))
    wire = ONE_APPOINTMENT.validate_python(first_of(posted.answer))
    return AppointmentResult(appointment=to_appointment(wire, tz))
