"""Appointment rules: reading a create/edit body, placing it, and storing it.

`POST /records` and `PUT /record` share one reader. A standard appointment needs `staff_id` (alias
`team_member_id`), `services`, `client`, `datetime` and `seance_length`; a group-event appointment
needs `activity_id` and `client`. PUT is a full replace: `comment`, colour, labels, reminders and
custom fields not resent are cleared, while `attendance` and `api_id` keep their values when absent
(status and the caller's external id are never dropped silently).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from altegio_mcp.sandbox.clients import PHONE_DIGITS_MESSAGE, find_or_create_client, valid_phone
from altegio_mcp.sandbox.jsontypes import Json, as_list, as_object, to_bool, to_int, to_number, to_text
from altegio_mcp.sandbox.models import Appointment, Location, ScheduleEvent, ServiceLine, TeamMember, User
from altegio_mcp.sandbox.protocol import STAFF_ALIASES, ApiError, FieldErrors
from altegio_mcp.sandbox.scheduling import placement_problem
from altegio_mcp.sandbox.state import SandboxState
from altegio_mcp.sandbox.timeutil import parse_moment
from altegio_mcp.sandbox.visits import ATTENDANCE_VALUES, attach_to_visit, relink_visit

MAX_LENGTH = 86400
"""Longest appointment accepted, in seconds (a day)."""


@dataclass(slots=True)
class AppointmentRequest:
    """A validated create/edit body."""

    staff: TeamMember
    services: list[ServiceLine]
    client_phone: str
    client_name: str
    client_email: str
    start: datetime
    length: int
    event: ScheduleEvent | None = None
    save_if_busy: bool = False
    comment: str = ""
    attendance: int | None = None
    api_id: str | None = None
    custom_color: str = ""
    record_labels: list[int] = field(default_factory=list[int])
    technical_break_duration: int | None = None
    sms_remain_hours: int | None = None
    email_remain_hours: int | None = None
    custom_fields: dict[str, Json] = field(default_factory=dict[str, Json])


def read_request(state: SandboxState, location: Location, body: dict[str, object]) -> AppointmentRequest:
    """Validate a create/edit body; every problem found is named in one 422."""
    errors = FieldErrors()
    client = _read_client(body, errors)
    activity_id = to_int(body.get("activity_id")) or 0
    if activity_id:
        request = _read_group(state, location, activity_id, client, errors)
    else:
        request = _read_standard(state, location, body, client, errors)
    _read_options(body, errors, request)
    if request is None or errors.items:
        raise ApiError.validation(errors.items)
    return request


def _read_client(body: dict[str, object], errors: FieldErrors) -> tuple[str, str, str] | None:
    client = as_object(body.get("client"))
    if client is None:
        errors.add("client", "client is required: an object with phone, name and email.")
        return None
    phone = to_text(client.get("phone")) or ""
    if not phone:
        errors.add("client.phone", "client.phone is required.")
    elif not valid_phone(phone):
        errors.add("client.phone", PHONE_DIGITS_MESSAGE)
    name = (to_text(client.get("name")) or "").strip()
    email = (to_text(client.get("email")) or "").strip()
    return phone, name, email


def _read_group(
    state: SandboxState,
    location: Location,
    activity_id: int,
    client: tuple[str, str, str] | None,
    errors: FieldErrors,
) -> AppointmentRequest | None:
    event = next((e for e in state.schedule_events_by_id.values() if e.activity_id == activity_id), None)
    schedule = state.schedule(event.schedule_id) if event is not None else None
    if event is None or schedule is None or schedule.location_id != location.id:
        errors.add("activity_id", f"Group event {activity_id} was not found at this location.")
        return None
    if client is None:
        return None
    day = state.schedule_days_by_id[event.day_id]
    service = state.services_by_id[schedule.service_id]
    line = ServiceLine(service.id, service.title, service.price_min, 0, service.price_min)
    return AppointmentRequest(
        staff=state.team_members_by_id[day.master_id],
        services=[line],
        client_phone=client[0],
        client_name=client[1],
        client_email=client[2],
        start=event.start,
        length=day.events_duration + day.technical_break,
        event=event,
    )


def _read_standard(
    state: SandboxState,
    location: Location,
    body: dict[str, object],
    client: tuple[str, str, str] | None,
    errors: FieldErrors,
) -> AppointmentRequest | None:
    staff_id = next((to_int(body.get(name)) for name in STAFF_ALIASES if body.get(name) is not None), None)
    staff = state.team_member(staff_id) if staff_id is not None else None
    if staff_id is None:
        errors.add("staff_id", "staff_id (or team_member_id) is required.")
    elif staff is None or staff.location_id != location.id or staff.fired or staff.status:
        errors.add("staff_id", f"Team member {staff_id} was not found at this location.")
        staff = None
    services = _read_services(state, location, body.get("services"), errors)
    start: datetime | None = None
    raw_datetime = to_text(body.get("datetime"))
    if raw_datetime is None:
        errors.add("datetime", "datetime is required (ISO 8601).")
    else:
        start = parse_moment(raw_datetime, location.tz)
        if start is None:
            errors.add("datetime", "datetime must be an ISO 8601 date and time.")
    length = to_int(body.get("seance_length"))
    if body.get("seance_length") is None:
        errors.add("seance_length", "seance_length is required (seconds).")
    elif length is None or not 0 < length <= MAX_LENGTH:
        errors.add("seance_length", f"seance_length must be between 1 and {MAX_LENGTH} seconds.")
    if (
        staff is None
        or services is None
        or client is None
        or start is None
        or length is None
        or length <= 0
        or length > MAX_LENGTH
    ):
        return None
    return AppointmentRequest(
        staff=staff,
        services=services,
        client_phone=client[0],
        client_name=client[1],
        client_email=client[2],
        start=start,
        length=length,
    )


def _read_services(
    state: SandboxState, location: Location, raw: object, errors: FieldErrors
) -> list[ServiceLine] | None:
    if raw is None:
        errors.add("services", "services is required: a list of {id, first_cost, discount, cost}.")
        return None
    items = as_list(raw)
    if items is None:
        errors.add("services", "services must be a list.")
        return None
    lines: list[ServiceLine] = []
    for item in items:
        data = as_object(item)
        service_id = to_int(data.get("id")) if data is not None else None
        service = state.service(service_id) if service_id is not None else None
        if data is None or service is None or service.location_id != location.id:
            errors.add("services", f"Service {service_id} does not exist at this location.")
            return None
        first_cost = to_number(data.get("first_cost"))
        first_cost = service.price_min if first_cost is None else first_cost
        discount = to_number(data.get("discount")) or 0.0
        cost = to_number(data.get("cost"))
        cost = round(first_cost * (100 - discount) / 100, 2) if cost is None else cost
        lines.append(ServiceLine(service.id, service.title, first_cost, discount, cost))
    return lines


def _read_options(body: dict[str, object], errors: FieldErrors, request: AppointmentRequest | None) -> None:
    attendance = to_int(body.get("attendance"))
    if body.get("attendance") is not None and (attendance is None or attendance not in ATTENDANCE_VALUES):
        errors.add("attendance", "attendance must be one of -1, 0, 1, 2.")
    technical_break = to_int(body.get("technical_break_duration"))
    if body.get("technical_break_duration") is not None and (
        technical_break is None or technical_break % 300 or not 0 <= technical_break <= 3600
    ):
        errors.add(
            "technical_break_duration", "technical_break_duration must be a multiple of 300, at most 3600."
        )
    if request is None:
        return
    request.save_if_busy = to_bool(body.get("save_if_busy"))
    request.comment = to_text(body.get("comment")) or ""
    request.attendance = attendance
    request.api_id = to_text(body.get("api_id"))
    request.custom_color = to_text(body.get("custom_color")) or ""
    request.record_labels = [
        v for v in (to_int(i) for i in as_list(body.get("record_labels")) or []) if v is not None
    ]
    request.technical_break_duration = technical_break
    request.sms_remain_hours = to_int(body.get("sms_remain_hours"))
    request.email_remain_hours = to_int(body.get("email_remain_hours"))
    custom_fields = as_object(body.get("custom_fields"))
    request.custom_fields = _json_object(custom_fields) if custom_fields is not None else {}


def _json_object(raw: dict[str, object]) -> dict[str, Json]:
    return {key: _json_value(value) for key, value in raw.items()}


def _json_value(value: object) -> Json:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    items = as_list(value)
    if items is not None:
        return [_json_value(item) for item in items]
    mapping = as_object(value)
    return _json_object(mapping) if mapping is not None else str(value)


def event_occupancy(state: SandboxState, activity_id: int, exclude_record_id: int | None = None) -> int:
    """Seats taken in a group event: the `clients_count` of its live bookings."""
    return sum(
        a.clients_count
        for a in state.appointments_by_id.values()
        if a.activity_id == activity_id and not a.deleted and a.id != exclude_record_id
    )


def _check_placement(state: SandboxState, request: AppointmentRequest, exclude_record_id: int | None) -> None:
    if request.event is not None:
        taken = event_occupancy(state, request.event.activity_id, exclude_record_id)
        capacity = state.schedule_days_by_id[request.event.day_id].capacity
        if taken >= capacity:
            raise ApiError.invalid("activity_id", "The group event is full.")
        return
    if request.save_if_busy:
        return
    problem = placement_problem(state, request.staff, request.start, request.length, exclude_record_id)
    if problem is not None:
        raise ApiError.invalid("datetime", problem)


def create_appointment(
    state: SandboxState, location: Location, user: User, request: AppointmentRequest
) -> Appointment:
    _check_placement(state, request, None)
    client = find_or_create_client(
        state, location, request.client_phone, request.client_name or "Client", request.client_email
    )
    now = state.now().astimezone(location.tz)
    appointment = Appointment(
        id=state.next_id("appointment"),
        location_id=location.id,
        staff_id=request.staff.id,
        client_id=client.id,
        services=request.services,
        start=request.start,
        length=request.length,
        visit_id=0,
        create_date=now,
        last_change_date=now,
        created_user_id=user.id,
        attendance=request.attendance or 0,
        comment=request.comment,
        api_id=request.api_id or "",
        activity_id=request.event.activity_id if request.event is not None else 0,
        via_partner=True,
        sms_remain_hours=request.sms_remain_hours,
        email_remain_hours=request.email_remain_hours,
        custom_color=request.custom_color,
        record_labels=request.record_labels,
        technical_break_duration=request.technical_break_duration,
        custom_fields=request.custom_fields,
        schedule_event_id=request.event.id if request.event is not None else None,
    )
    state.appointments_by_id[appointment.id] = appointment
    visit = attach_to_visit(state, appointment)
    if request.attendance is not None:
        visit.attendance = request.attendance
    return appointment


def replace_appointment(
    state: SandboxState, location: Location, appointment: Appointment, request: AppointmentRequest
) -> Appointment:
    """`PUT /record`: a full replace of the appointment's editable fields."""
    if (request.event.activity_id if request.event is not None else 0) != appointment.activity_id:
        raise ApiError.invalid("activity_id", "activity_id must match the appointment's current group event.")
    _check_placement(state, request, appointment.id)
    client = find_or_create_client(
        state, location, request.client_phone, request.client_name or "Client", request.client_email
    )
    appointment.staff_id = request.staff.id
    appointment.client_id = client.id
    appointment.services = request.services
    appointment.start = request.start
    appointment.length = request.length
    appointment.comment = request.comment
    if request.attendance is not None:
        appointment.attendance = request.attendance
    if request.api_id is not None:
        appointment.api_id = request.api_id
    appointment.custom_color = request.custom_color
    appointment.record_labels = request.record_labels
    appointment.technical_break_duration = request.technical_break_duration
    appointment.sms_remain_hours = request.sms_remain_hours
    appointment.email_remain_hours = request.email_remain_hours
    appointment.custom_fields = request.custom_fields
    appointment.last_change_date = state.now().astimezone(location.tz)
    relink_visit(state, appointment)
    visit = state.visit(appointment.visit_id)
    if visit is not None and request.attendance is not None:
        visit.attendance = request.attendance
    return appointment


def delete_appointment(state: SandboxState, appointment: Appointment) -> None:
    """Soft delete: the appointment leaves every list but stays visible with `with_deleted=1`."""
    location = state.locations_by_id[appointment.location_id]
    appointment.deleted = True
    appointment.last_change_date = state.now().astimezone(location.tz)
