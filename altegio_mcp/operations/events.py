"""Group events (toolset `events`), through Business Management v2: list a location's events with
their free seats, book a client into one, move that booking to another event, and find a client's
recurring series.

v1's group-event (activity) operations are deprecated in favour of v2 (`/api/v2`, JSON:API
resources, the same credentials and `Accept` header), so these tools send v2 requests through the
same client. A booking is an ordinary appointment with an `activity_id`: it is read with
get_appointment and its comment, tags or colour are edited with update_appointment (v1 takes the
event from `activity_id`); its time changes only by moving it to another event (v2 PATCH).

A client's recurring series (client schedule) has no read of its own: the v2 appointment list with
`include=client_schedule` names the series each appointment belongs to, and the v1 schedule search
of one of its events gives the schedule id that update_recurring_appointments needs.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import Field, JsonValue, TypeAdapter, field_validator

from altegio_mcp.errors import InvalidArgument, Target
from altegio_mcp.operations.base import (
    AllowPast,
    AppointmentId,
    Args,
    ClientId,
    LocationId,
    OpContext,
    Operation,
    OptionalDate,
    Out,
    Result,
    Verdict,
    Verified,
    Wire,
)
from altegio_mcp.operations.clients import digits_of, fetch_client
from altegio_mcp.operations.record_body import past_start
from altegio_mcp.operations.support import location_target
from altegio_mcp.timeutil import iso, parse_api_datetime

TOOLSET = "events"
FILTER_MOMENT = "%Y-%m-%d %H:%M:%S"
LIST_MOMENT = "%Y-%m-%dT%H:%M:%S"
DEFAULT_DAYS = 7
MAX_DAYS = 62

EventId = Field(ge=1, description="Group event id; see list_group_events.")


# --- wire models (JSON:API) ------------------------------------------------------------------------


class WireResource(Wire):
    type: str | None = None
    id: int
    attributes: dict[str, JsonValue] = Field(default_factory=dict[str, JsonValue])
    relationships: dict[str, JsonValue] | None = None


class WireDocument(Wire):
    data: list[WireResource] = Field(default_factory=list[WireResource])

    @field_validator("data", mode="before")
    @classmethod
    def _one_or_many(cls, value: object) -> object:
        return [value] if isinstance(value, dict) else value  # pyright: ignore[reportUnknownVariableType]


DOCUMENT = TypeAdapter(WireDocument)


def _int(attributes: dict[str, JsonValue], *names: str) -> int | None:
    for name in names:
        value = attributes.get(name)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return int(value)
    return None


# --- results ---------------------------------------------------------------------------------------


class GroupEvent(Out):
    id: int
    start: str | None = Field(default=None, description="ISO 8601 with offset.")
    duration_minutes: int | None = None
    service_id: int | None = None
    team_member_id: int | None = None
    capacity: int | None = None
    booked: int | None = Field(default=None, description="Seats taken.")
    free: int | None = Field(default=None, description="Seats free.")
    comment: str | None = None


class GroupEventList(Result):
    location_id: int
    timezone: str
    items: list[GroupEvent]


class EventBooking(Result):
    appointment_id: int
    event_id: int
    location_id: int
    start: str | None = Field(default=None, description="ISO 8601 with offset.")
    seats: int | None = None
    client_id: int | None = None


class ClientSeries(Out):
    client_schedule_id: int
    schedule_id: int | None = Field(default=None, description="For update_recurring_appointments.")
    appointment_ids: list[int]
    next_start: str | None = Field(default=None, description="Next occurrence, ISO 8601.")


class ClientSeriesList(Result):
    location_id: int
    client_id: int
    items: list[ClientSeries]


def to_event(resource: WireResource, tz: ZoneInfo) -> GroupEvent:
    attributes = resource.attributes
    raw_date = attributes.get("date")
    start = parse_api_datetime(raw_date, tz)
    stamp = _int(attributes, "timestamp")
    if start is None and stamp is not None:
        start = datetime.fromtimestamp(stamp, tz)
    capacity, booked = _int(attributes, "capacity"), _int(attributes, "clients_count")
    length = _int(attributes, "length")
    comment = attributes.get("comment")
    return GroupEvent(
        id=resource.id,
        start=iso(start.astimezone(tz)) if start else None,
        duration_minutes=length // 60 if length else None,
        service_id=_int(attributes, "service_id"),
        team_member_id=_int(attributes, "staff_id", "master_id"),
        capacity=capacity,
        booked=booked,
        free=max(capacity - booked, 0) if capacity is not None and booked is not None else None,
        comment=comment if isinstance(comment, str) and comment else None,
    )


def _booking(resource: WireResource, loc: int, tz: ZoneInfo) -> EventBooking:
    attributes = resource.attributes
    stamp = _int(attributes, "timestamp")
    start = (
        datetime.fromtimestamp(stamp, tz)
        if stamp is not None
        else parse_api_datetime(attributes.get("date"), tz)
    )
    return EventBooking(
        appointment_id=resource.id,
        event_id=_int(attributes, "activity_id") or 0,
        location_id=_int(attributes, "company_id") or loc,
        start=iso(start.astimezone(tz)) if start else None,
        seats=_int(attributes, "clients_count"),
        client_id=_int(attributes, "client_id") or None,
    )


def _event_target(loc: int, event_id: int) -> Target:
    return Target("group event", str(event_id), loc, "list_group_events")


async def fetch_event(ctx: OpContext, loc: int, event_id: int, tz: ZoneInfo) -> GroupEvent:
    res = await ctx.call(
        "GET",
        f"/locations/{loc}/events/{event_id}",
        DOCUMENT,
        target=_event_target(loc, event_id),
        api_version=2,
    )
    if not res.data.data:
        raise InvalidArgument(
            "event_id", f"no group event {event_id} at location {loc}: see list_group_events"
        )
    return to_event(res.data.data[0], tz)


# --- list_group_events -------------------------------------------------------------------------------


class ListGroupEventsArgs(Args):
    location_id: LocationId
    start_date: OptionalDate = Field(default=None, description="From this local date; default now.")
    days: int = Field(default=DEFAULT_DAYS, ge=1, le=MAX_DAYS, description="How many days.")
    team_member_id: int | None = Field(default=None, ge=1, description="Only this team member's.")
    service_id: int | None = Field(default=None, ge=1, description="Only this service's.")
    min_free: int | None = Field(default=None, ge=1, le=1000, description="At least this many seats free.")


async def list_group_events(ctx: OpContext, a: ListGroupEventsArgs) -> GroupEventList:
    loc = ctx.location_id(a.location_id)
    tz = await ctx.zone(loc)
    now = ctx.now().astimezone(tz).replace(microsecond=0) + timedelta(seconds=1)
    first_day: date = a.start_date or now.date()
    start = max(datetime.combine(first_day, time(0), tz), now)
    end = datetime.combine(first_day + timedelta(days=a.days), time(0), tz) - timedelta(seconds=1)
    if end <= start:
        raise InvalidArgument(
            "start_date", f"{first_day} is over: events are listed from now on ({iso(now)})"
        )
    params: dict[str, Any] = {
        "filter[from]": start.strftime(FILTER_MOMENT),
        "filter[to]": end.strftime(FILTER_MOMENT),
        "filter[master_ids][]": [a.team_member_id] if a.team_member_id else None,
        "filter[service_ids][]": [a.service_id] if a.service_id else None,
        "filter[capacity]": a.min_free,
    }
    res = await ctx.call(
        "GET", f"/locations/{loc}/events", DOCUMENT, params=params, target=location_target(loc), api_version=2
    )
    return GroupEventList(location_id=loc, timezone=tz.key, items=[to_event(r, tz) for r in res.data.data])


def render_events(out: GroupEventList) -> str:
    if not out.items:
        return "\n".join(["No group events in that range.", *out.notes])
    lines = [f"{len(out.items)} group events at location {out.location_id} ({out.timezone}):"]
    for e in out.items:
        seats = f"{e.free} of {e.capacity} free" if e.free is not None else "seats unknown"
        lines.append(f"#{e.id} {e.start} · service {e.service_id} · team member {e.team_member_id} · {seats}")
    return "\n".join([*lines, *out.notes])


# --- book_group_event ----------------------------------------------------------------------------------


class BookGroupEventArgs(Args):
    location_id: LocationId
    event_id: int = EventId
    client_id: int | None = Field(
        default=None, ge=1, description="Existing client; or client_name + client_phone."
    )
    client_name: str | None = Field(default=None, min_length=1, max_length=100)
    client_phone: str | None = Field(default=None, pattern=r"^\+?[0-9 ()-]{9,20}$")
    seats: int = Field(default=1, ge=1, le=100, description="Places to reserve.")
    allow_past: AllowPast


async def _client_object(ctx: OpContext, loc: int, a: BookGroupEventArgs) -> dict[str, JsonValue]:
    """v2's `client` object: every field present (null when unknown), phone as digits."""
    if a.client_id is not None:
        wire = await fetch_client(ctx, loc, a.client_id)
        gender = wire.gender_id if wire.gender_id in (0, 1, 2) else None
        return {
            "id": a.client_id,
            "name": wire.name or "",
            "phone": digits_of(wire.phone),
            "email": wire.email or None,
            "surname": wire.surname or None,
            "patronymic": wire.middle_name or None,
            "gender": gender,
            "birthday": wire.birth_date or None,
            "custom_field_values": None,
            "agreements": None,
        }
    if not (a.client_name and a.client_phone):
        raise InvalidArgument(
            "client_id", "give client_id (see search_clients) or client_name and client_phone"
        )
    return {
        "id": None,
        "name": a.client_name,
        "phone": digits_of(a.client_phone),
        "email": None,
        "surname": None,
        "patronymic": None,
        "gender": None,
        "birthday": None,
        "custom_field_values": None,
        "agreements": None,
    }


async def book_group_event(ctx: OpContext, a: BookGroupEventArgs) -> EventBooking:
    loc = ctx.location_id(a.location_id)
    tz = await ctx.zone(loc)
    event = await fetch_event(ctx, loc, a.event_id, tz)
    if event.start is not None:
        await past_start(ctx, loc, datetime.fromisoformat(event.start), a.allow_past, "event_id")
    if event.free is not None and event.free < a.seats:
        raise InvalidArgument(
            "seats", f"group event {a.event_id} has {event.free} free of {event.capacity}: pick another event"
        )
    body: dict[str, JsonValue] = {"client": await _client_object(ctx, loc, a), "clients_count": a.seats}
    before = {r.id for r in await _event_bookings(ctx, loc, a.event_id, a.client_id)}

    async def verify() -> Verdict:
        """A booking in the event (the client's, when known) that was not there before."""
        new = [r for r in await _event_bookings(ctx, loc, a.event_id, a.client_id) if r.id not in before]
        how = f"the appointments of group event {a.event_id}"
        if new:
            return Verdict(done=True, how=f"{how} include a new one (#{new[0].id})", found=new[0])
        return Verdict(done=False, how=f"{how} show no new booking")

    res = await ctx.write(
        "POST",
        f"/locations/{loc}/events/{a.event_id}/appointments",
        DOCUMENT,
        json_body=body,
        target=_event_target(loc, a.event_id),
        verify=verify,
        check=f"get_appointment on the bookings of group event {a.event_id} (list_appointments for its day)",
        api_version=2,
    )
    if isinstance(res, Verified):
        found: WireResource = res.found
        return _booking(found, loc, tz)
    return _booking(res.data.data[0], loc, tz)


async def _event_bookings(
    ctx: OpContext, loc: int, event_id: int, client_id: int | None
) -> list[WireResource]:
    params: dict[str, Any] = {"filter[activity_id]": event_id, "filter[client_id]": client_id, "limit": 200}
    res = await ctx.call(
        "GET",
        f"/locations/{loc}/appointments",
        DOCUMENT,
        params=params,
        target=location_target(loc),
        api_version=2,
    )
    return res.data.data


def render_booking(out: EventBooking) -> str:
    head = f"Appointment #{out.appointment_id} in group event {out.event_id} at {out.start} ({out.seats} seat(s))"
    return "\n".join([head, *out.notes])


# --- move_event_booking ---------------------------------------------------------------------------------


class MoveEventBookingArgs(Args):
    location_id: LocationId
    appointment_id: AppointmentId
    to_event_id: int = Field(ge=1, description="The event to move it to; see list_group_events.")
    seats: int | None = Field(default=None, ge=1, le=100, description="New number of places.")
    comment: str | None = Field(default=None, max_length=1000, description="New comment.")
    allow_past: AllowPast


async def move_event_booking(ctx: OpContext, a: MoveEventBookingArgs) -> EventBooking:
    loc = ctx.location_id(a.location_id)
    tz = await ctx.zone(loc)
    record = await ctx.call(
        "GET",
        f"/record/{loc}/{a.appointment_id}",
        dict[str, JsonValue],
        target=Target("appointment", str(a.appointment_id), loc, "list_appointments"),
    )
    current = record.data.get("activity_id")
    if not isinstance(current, int) or not current:
        raise InvalidArgument(
            "appointment_id",
            f"appointment {a.appointment_id} is not in a group event: move it with update_appointment",
        )
    target = await fetch_event(ctx, loc, a.to_event_id, tz)
    if target.start is not None:
        await past_start(ctx, loc, datetime.fromisoformat(target.start), a.allow_past, "to_event_id")
    body: dict[str, JsonValue] = {"reschedule_activity_id": a.to_event_id}
    if a.seats is not None:
        body["clients_count"] = a.seats
    if a.comment is not None:
        body["comment"] = a.comment
    target_ref = Target("appointment", str(a.appointment_id), loc, "list_appointments")

    async def verify() -> Verdict:
        again = await ctx.call(
            "GET", f"/record/{loc}/{a.appointment_id}", dict[str, JsonValue], target=target_ref
        )
        now_in = again.data.get("activity_id")
        how = f"get_appointment {a.appointment_id} shows it in event {now_in}"
        if now_in == a.to_event_id:
            return Verdict(done=True, how=how)
        return Verdict(done=False if now_in == current else None, how=how)

    res = await ctx.write(
        "PATCH",
        f"/locations/{loc}/events/{current}/appointments/{a.appointment_id}",
        DOCUMENT,
        json_body=body,
        target=target_ref,
        verify=verify,
        check=f"get_appointment {a.appointment_id} (its activity_id)",
        api_version=2,
    )
    if isinstance(res, Verified):
        return EventBooking(
            appointment_id=a.appointment_id,
            event_id=a.to_event_id,
            location_id=loc,
            start=target.start,
            seats=a.seats,
        )
    return _booking(res.data.data[0], loc, tz)


# --- find_client_series -----------------------------------------------------------------------------------


class FindClientSeriesArgs(Args):
    location_id: LocationId
    client_id: ClientId
    days: int = Field(default=90, ge=1, le=366, description="Look this many days ahead.")


async def find_client_series(ctx: OpContext, a: FindClientSeriesArgs) -> ClientSeriesList:
    loc = ctx.location_id(a.location_id)
    tz = await ctx.zone(loc)
    now = ctx.now().astimezone(tz).replace(microsecond=0)
    params: dict[str, Any] = {
        "filter[client_id]": a.client_id,
        "filter[date_intersect_from]": now.strftime(LIST_MOMENT),
        "filter[date_intersect_to]": (now + timedelta(days=a.days)).strftime(LIST_MOMENT),
        "include": "client_schedule",
        "limit": 200,
    }
    res = await ctx.call(
        "GET",
        f"/locations/{loc}/appointments",
        DOCUMENT,
        params=params,
        target=location_target(loc),
        api_version=2,
    )
    series: dict[int, ClientSeries] = {}
    first_event: dict[int, int] = {}
    for resource in res.data.data:
        link = (resource.relationships or {}).get("client_schedule")
        data = link.get("data") if isinstance(link, dict) else None
        raw_id = data.get("id") if isinstance(data, dict) else None
        if not isinstance(raw_id, str | int) or not str(raw_id).isdigit():
            continue
        series_id = int(raw_id)
        booking = _booking(resource, loc, tz)
        item = series.setdefault(series_id, ClientSeries(client_schedule_id=series_id, appointment_ids=[]))
        item.appointment_ids.append(booking.appointment_id)
        if booking.start and (item.next_start is None or booking.start < item.next_start):
            item.next_start = booking.start
        if booking.event_id:
            first_event.setdefault(series_id, booking.event_id)
    for series_id, item in series.items():
        event_id = first_event.get(series_id)
        if event_id is None:
            continue
        found = await ctx.call(
            "GET",
            f"/company/{loc}/schedules/search/activity/{event_id}",
            dict[str, JsonValue],
            target=_event_target(loc, event_id),
        )
        schedule_id = found.data.get("id")
        item.schedule_id = schedule_id if isinstance(schedule_id, int) else None
    return ClientSeriesList(location_id=loc, client_id=a.client_id, items=list(series.values()))


def render_series(out: ClientSeriesList) -> str:
    if not out.items:
        return "\n".join(
            [
                f"Client {out.client_id} has no recurring series ahead at location {out.location_id}.",
                *out.notes,
            ]
        )
    lines = [f"Client {out.client_id}'s recurring series at location {out.location_id}:"]
    for s in out.items:
        lines.append(
            f"series {s.client_schedule_id} (schedule {s.schedule_id}): {len(s.appointment_ids)} appointments, "
            f"next {s.next_start}"
        )
    return "\n".join([*lines, *out.notes])


# --- declarations -----------------------------------------------------------------------------------

OPERATIONS = (
    Operation(
        name="list_group_events",
        core=False,
        title="List group events",
        description="List a location's group events (classes) with free seats (Altegio v2).",
        method="GET",
        path="/v2/locations/{location_id}/events",
        input_model=ListGroupEventsArgs,
        output_model=GroupEventList,
        toolset=TOOLSET,
        kind="read",
        omitted={
            "page": "one page of up to 62 days is enough for a front desk; narrow the range instead",
            "limit": "the default page holds a range's events",
            "include": "service and team member are given by id; their names come from list_services/list_team_members",
        },
        handler=list_group_events,
        render=render_events,
    ),
    Operation(
        name="book_group_event",
        core=False,
        title="Book a group event",
        description="Book a client into a group event (v2). Edit the booking with update_appointment; move it with move_event_booking.",
        method="POST",
        path="/v2/locations/{location_id}/events/{event_id}/appointments",
        input_model=BookGroupEventArgs,
        output_model=EventBooking,
        toolset=TOOLSET,
        kind="write",
        omitted={
            "client_id": "deprecated by Altegio; client.id is sent instead",
            "comer_id": "walk-in visitor profiles are not managed by this server",
            "comer": "walk-in visitor profiles are not managed by this server",
            "is_trial_service": "trial services are not offered through this tool",
            "include": "the booking is summarised from its own attributes",
        },
        handler=book_group_event,
        render=render_booking,
        resend_safe=False,  # a second POST books a second place
    ),
    Operation(
        name="move_event_booking",
        core=False,
        title="Move a group-event booking",
        description="Move a group-event booking to another event of the location (v2 reschedule).",
        method="PATCH",
        path="/v2/locations/{location_id}/events/{event_id}/appointments/{record_id}",
        input_model=MoveEventBookingArgs,
        output_model=EventBooking,
        toolset=TOOLSET,
        kind="write",
        omitted={
            "with_comer": "walk-in visitor profiles are not managed by this server",
            "include": "the booking is summarised from its own attributes",
        },
        handler=move_event_booking,
        render=render_booking,
        resend_safe=False,  # a repeat is refused (it left that event): a lost answer is read back
    ),
    Operation(
        name="find_client_series",
        core=False,
        title="Find a client's recurring series",
        description="Find a client's recurring series (client schedules) ahead, with the ids update_recurring_appointments needs.",
        method="GET",
        path="/v2/locations/{location_id}/appointments",
        input_model=FindClientSeriesArgs,
        output_model=ClientSeriesList,
        toolset=TOOLSET,
        kind="read",
        omitted={
            "filter[activity_id]": "the series of one client are wanted, across its events",
            "page": "one page of up to 200 appointments covers the look-ahead",
        },
        handler=find_client_series,
        render=render_series,
    ),
)
