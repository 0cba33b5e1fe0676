"""Appointments as Altegio sends them (tolerant wire models) and as tools return them (compact).

Altegio's appointment ("record") object has some sixty fields and varies between endpoints: `staff`
or `client` may be `[]` or `null`, durations come as `seance_length` or `length`, attendance as
`attendance` or `visit_attendance`. `WireAppointment` accepts all of that; `Appointment` is the
compact, offset-carrying shape every appointment tool returns, and `AppointmentResult` the result
of the tools that return one appointment.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import Field, JsonValue, TypeAdapter, field_validator

from altegio_mcp.operations.base import Out, Result, UserText, Wire, empty_is_none, wire_fields
from altegio_mcp.text import one_line
from altegio_mcp.timeutil import end_of, iso, parse_api_datetime, span

AttendanceName = Literal["no-show", "waiting", "arrived", "confirmed", "unknown"]
ATTENDANCE_NAMES: dict[int, AttendanceName] = {-1: "no-show", 0: "waiting", 1: "arrived", 2: "confirmed"}
ATTENDANCE_CODES: dict[str, int] = {name: code for code, name in ATTENDANCE_NAMES.items()}


class WirePerson(Wire):
    id: int | None = None
    name: str | None = None
    surname: str | None = None
    display_name: str | None = None
    phone: str | None = None
    email: str | None = None
    specialization: str | None = None


class WireServiceLine(Wire):
    id: int | None = None
    title: str | None = None
    cost: float | None = None
    first_cost: float | None = None
    discount: float | None = None
    amount: float | None = None


class WireLabel(Wire):
    """A tag (`record_labels` item): an object on read, a bare id in some answers."""

    id: int | None = None
    title: str | None = None


class WireCompany(Wire):
    """The location a partner-list item belongs to."""

    id: int | None = None
    title: str | None = None
    timezone_name: str | None = None


class WireAppointment(Wire):
    id: int
    company_id: int | None = None
    company: WireCompany | None = None
    staff_id: int | None = None
    staff: WirePerson | None = None
    client: WirePerson | None = None
    services: list[WireServiceLine] = Field(default_factory=list[WireServiceLine])
    datetime: str | None = None
    date: str | None = None
    seance_length: int | None = None
    length: int | None = None
    attendance: int | None = None
    visit_attendance: int | None = None
    confirmed: int | None = None
    visit_id: int | None = None
    comment: str | None = None
    api_id: str | None = None
    deleted: bool | None = None
    activity_id: int | None = None
    create_date: str | None = None
    last_change_date: str | None = None
    online: bool | None = None
    record_from: str | None = None
    paid_full: int | None = None
    prepaid: bool | None = None
    created_user_id: int | None = None
    sms_remain_hours: int | None = None
    email_remain_hours: int | None = None
    custom_color: str | None = None
    record_labels: list[WireLabel] = Field(default_factory=list[WireLabel])
    technical_break_duration: int | None = None
    custom_fields: dict[str, JsonValue] | None = None

    @field_validator("staff", "client", "company", "custom_fields", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return empty_is_none(value)

    @field_validator("record_labels", mode="before")
    @classmethod
    def _labels(cls, value: object) -> object:
        items: list[object] = list(value) if isinstance(value, list) else []  # pyright: ignore[reportUnknownArgumentType]
        return [item if isinstance(item, dict) else {"id": item} for item in items]  # pyright: ignore[reportUnknownVariableType]

    @property
    def location(self) -> int | None:
        """The appointment's location: `company_id`, or the partner list's `company.id`."""
        return self.company_id or (self.company.id if self.company else None)

    @property
    def tag_ids(self) -> list[int]:
        return [label.id for label in self.record_labels if label.id is not None]

    @field_validator("services", mode="before")
    @classmethod
    def _none_is_empty(cls, value: object) -> object:
        return value or []

    @property
    def duration(self) -> int | None:
        return self.seance_length if self.seance_length is not None else self.length

    @property
    def attendance_code(self) -> int | None:
        return self.attendance if self.attendance is not None else self.visit_attendance

    def start(self, tz: ZoneInfo) -> datetime | None:
        return parse_api_datetime(self.datetime, tz) or parse_api_datetime(self.date, tz)


APPOINTMENTS = TypeAdapter(list[WireAppointment])
ONE_APPOINTMENT = TypeAdapter(WireAppointment)
APPOINTMENT_OR_LIST = TypeAdapter(WireAppointment | list[WireAppointment])
"""`GET /record` answers one object, or (in some versions) a one-item array: read in one pass."""


class PersonRef(Out):
    id: int | None = Field(default=None, description="Id.")
    name: UserText = Field(default=None, description="Name. User-provided text.")


class ClientRef(PersonRef):
    phone: str | None = Field(default=None, description="Phone.")
    email: str | None = None


class Tag(Out):
    id: int
    title: str | None = None


class ServiceLine(Out):
    id: int | None = None
    title: str | None = None
    cost: float | None = Field(default=None, description="Price charged, location currency.")


class Appointment(Out):
    """One appointment, compact. `start`/`end` carry the location's UTC offset."""

    id: int
    location_id: int | None = None
    start: str | None = Field(default=None, description="ISO 8601 with offset.")
    end: str | None = Field(default=None, description="ISO 8601 with offset.")
    duration_minutes: int | None = None
    client: ClientRef | None = None
    team_member: PersonRef | None = None
    services: list[ServiceLine] = Field(default_factory=list[ServiceLine])
    status: AttendanceName = Field(
        default="unknown", description="waiting, confirmed, arrived (done) or no-show."
    )
    confirmed: bool | None = None
    paid_full: bool | None = None
    prepaid: bool | None = Field(default=None, description="Online prepayment offered.")
    visit_id: int | None = None
    activity_id: int | None = Field(default=None, description="Group event id.")
    tags: list[Tag] | None = None
    comment: UserText = Field(default=None, description="Comment. User-provided text.")
    created: str | None = Field(default=None, description="When booked, with offset.")
    online: bool | None = Field(default=None, description="Booked online by the client.")
    record_from: str | None = Field(default=None, description="Online form it came from.")
    api_id: str | None = Field(default=None, description="External id / idempotency key.")
    deleted: bool | None = None
    details: dict[str, JsonValue] | None = Field(
        default=None, description="Every field Altegio returned (only with detail=true)."
    )


class AppointmentResult(Result):
    appointment: Appointment


def _client_name(person: WirePerson) -> str | None:
    if person.display_name:
        return person.display_name
    parts = [p for p in (person.name, person.surname) if p]
    return " ".join(parts) or None


def to_appointment(wire: WireAppointment, tz: ZoneInfo, *, detail: bool = False) -> Appointment:
    return Appointment.model_validate(appointment_fields(wire, tz, detail=detail))


def appointment_fields(wire: WireAppointment, tz: ZoneInfo, *, detail: bool = False) -> dict[str, object]:
    """An `Appointment` as plain values: a list validates all of them in one pass."""
    start = wire.start(tz)
    end = end_of(start, wire.duration) if start else None
    code = wire.attendance_code
    created = parse_api_datetime(wire.create_date, tz)
    client, staff = wire.client, wire.staff
    # One validation of plain values (nested ones included) instead of a model per nested object.
    return {
        "id": wire.id,
        "location_id": wire.location,
        "start": iso(start.astimezone(tz)) if start else None,
        "end": iso(end.astimezone(tz)) if end else None,
        "duration_minutes": wire.duration // 60 if wire.duration else None,
        "client": {
            "id": client.id,
            "name": _client_name(client),
            "phone": client.phone,
            "email": client.email or None,
        }
        if client
        else None,
        "team_member": {"id": staff.id or wire.staff_id, "name": staff.name}
        if staff
        else ({"id": wire.staff_id} if wire.staff_id else None),
        "services": [{"id": s.id, "title": s.title, "cost": s.cost} for s in wire.services],
        "status": ATTENDANCE_NAMES.get(code, "unknown") if code is not None else "unknown",
        "confirmed": bool(wire.confirmed) if wire.confirmed is not None else None,
        "paid_full": bool(wire.paid_full) if wire.paid_full is not None else None,
        "prepaid": wire.prepaid,
        "visit_id": wire.visit_id or None,
        "activity_id": wire.activity_id or None,
        "tags": [{"id": t.id, "title": t.title} for t in wire.record_labels if t.id is not None] or None,
        "comment": wire.comment or None,
        "created": iso(created.astimezone(tz)) if created else None,
        "online": wire.online,
        "record_from": wire.record_from or None,
        "api_id": wire.api_id or None,
        "deleted": wire.deleted or None,
        "details": wire_fields(wire) if detail else None,
    }


def describe(appt: Appointment) -> str:
    """One line: `#123 Fri 2026-11-28 15:00–16:00 (-05:00) · Anna Smith +1… · Maria · Haircut · confirmed`."""
    when = span(appt.start, appt.end)
    parts = [f"#{appt.id} {when}"]
    if appt.client:
        parts.append(" ".join(p for p in (one_line(appt.client.name, 40), appt.client.phone or "") if p))
    if appt.team_member:
        parts.append(f"with {one_line(appt.team_member.name, 40) or f'team member {appt.team_member.id}'}")
    if appt.services:
        parts.append(", ".join(s.title or f"service {s.id}" for s in appt.services))
    parts.append(appt.status)
    if appt.visit_id:
        parts.append(f"visit {appt.visit_id}")
    if appt.deleted:
        parts.append("DELETED")
    return " · ".join(parts)
