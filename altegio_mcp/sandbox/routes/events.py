"""Routes of Business Management v2 (`/api/v2`): group events and their appointments, as JSON:API.

v1's group-event (activity) operations are deprecated in favour of these. A v2 request needs the
v2 media type in `Accept` (400 otherwise) and the same partner + user credentials; answers are
JSON:API documents (`data` resource objects with `type`, string `id`, `attributes`, and
`relationships` when asked for through `include`), errors the usual `{success, data, meta}`.

Events are the sandbox's schedule occurrences (one `activity_id` each); a booking is an appointment
with that `activity_id`, holding `clients_count` seats of the event's capacity.
"""

from __future__ import annotations

from datetime import datetime

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from altegio_mcp.sandbox.clients import find_or_create_client, valid_phone
from altegio_mcp.sandbox.constants import V2_BASE_PATH
from altegio_mcp.sandbox.jsontypes import Json, JsonDict, JsonList, as_object, to_int, to_text
from altegio_mcp.sandbox.models import Appointment, Location, ScheduleEvent, ServiceLine, User
from altegio_mcp.sandbox.protocol import ApiError, FieldErrors, json_body, query_value
from altegio_mcp.sandbox.records import event_occupancy
from altegio_mcp.sandbox.routes.common import Context, path_int
from altegio_mcp.sandbox.visits import attach_to_visit

V2_MEDIA_TYPE = "application/vnd.api.v2+json"
FILTER_MOMENT = "%Y-%m-%d %H:%M:%S"
LIST_MOMENT = "%Y-%m-%dT%H:%M:%S"
DEFAULT_LIMIT = 50
MAX_LIMIT = 200


def _document(data: Json, meta: Json = None, status: int = 200) -> JSONResponse:
    return JSONResponse({"data": data, "meta": [] if meta is None else meta}, status_code=status)


def _moment(
    request: Request, name: str, location: Location, pattern: str, errors: FieldErrors
) -> datetime | None:
    text = query_value(request, name)
    if text is None:
        return None
    try:
        return datetime.strptime(text, pattern).replace(tzinfo=location.tz)
    except ValueError:
        shown = pattern.replace("%Y", "YYYY").replace("%m", "MM").replace("%d", "DD")
        shown = shown.replace("%H", "HH").replace("%M", "MM").replace("%S", "SS")
        errors.add(name, f"{name} must be {shown} in the location's time zone.")
        return None


def _ints(request: Request, *names: str) -> list[int]:
    values = [v for name in names for v in request.query_params.getlist(name)]
    found: list[int] = []
    for value in values:
        number = to_int(value)
        if number is None:
            raise ApiError.invalid(names[0], f"{names[0]} must hold integers.")
        found.append(number)
    return found


class EventRoutes:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def routes(self) -> list[Route]:
        base = V2_BASE_PATH + "/locations/{location_id:int}"
        booking = base + "/events/{event_id:int}/appointments"
        return [
            Route(base + "/events", self.list_events, methods=["GET"]),
            Route(base + "/events/{event_id:int}", self.get_event, methods=["GET"]),
            Route(booking, self.book, methods=["POST"]),
            Route(booking + "/{record_id:int}", self.reschedule, methods=["PATCH"]),
            Route(base + "/appointments", self.list_appointments, methods=["GET"]),
        ]

    # --- shared ---------------------------------------------------------------------------------

    def _caller(self, request: Request) -> tuple[User, Location]:
        accept = request.headers.get("accept", "")
        if V2_MEDIA_TYPE not in accept:
            raise ApiError.standard(400, f"Accept must be {V2_MEDIA_TYPE}.")
        return self.ctx.user_location(request, path_int(request, "location_id"))

    def _event(self, location: Location, event_id: int) -> ScheduleEvent:
        state = self.ctx.state
        event = next((e for e in state.schedule_events_by_id.values() if e.activity_id == event_id), None)
        schedule = state.schedule(event.schedule_id) if event is not None else None
        if event is None or schedule is None or schedule.location_id != location.id:
            raise ApiError.not_found("Event not found.")
        return event

    def _event_json(self, event: ScheduleEvent) -> JsonDict:
        state = self.ctx.state
        day = state.schedule_days_by_id[event.day_id]
        schedule = state.schedule_days_by_id[event.day_id].schedule_id
        service_id = state.schedules_by_id[schedule].service_id
        attributes: JsonDict = {
            "master_id": day.master_id,
            "staff_id": day.master_id,
            "service_id": service_id,
            "timestamp": int(event.start.timestamp()),
            "length": day.events_duration,
            "capacity": day.capacity,
            "clients_count": event_occupancy(state, event.activity_id),
            "color": "#3b2c54",
            "instructions": "",
            "stream_link": "",
            "font_color": "#ffffff",
            "notified": False,
            "comment": None,
            "schedule_id": schedule,
            "schedule_till": {
                "date": f"{state.schedules_by_id[schedule].date_end.isoformat()} 00:00:00.000000",
                "timezone_type": 3,
                "timezone": self.ctx.state.locations_by_id[
                    state.schedules_by_id[schedule].location_id
                ].timezone_name,
            },
            "schedule_event_modified": False,
            "date": event.start.isoformat(timespec="seconds"),
        }
        return {"type": "activity", "id": str(event.activity_id), "attributes": attributes}

    def _appointment_json(self, appointment: Appointment, include: list[str]) -> JsonDict:
        location = self.ctx.state.locations_by_id[appointment.location_id]
        local = appointment.start.astimezone(location.tz)
        created = appointment.create_date.astimezone(location.tz)
        attendance_slug = {-1: "absent", 0: "waiting", 1: "attended", 2: "confirmed"}[appointment.attendance]
        attributes: JsonDict = {
            "company_id": appointment.location_id,
            "external_id": appointment.api_id,
            "visit_id": appointment.visit_id,
            "booking_user_id": 0,
            "bookform_id": 0,
            "master_id": appointment.staff_id,
            "staff_id": appointment.staff_id,
            "client_id": appointment.client_id or 0,
            "comer_id": None,
            "source": 0,
            "attendance": appointment.attendance,
            "attendance_status": appointment.attendance,
            "attendance_status_slug": attendance_slug,
            "client_fictive_name": None,
            "client_fictive_phone": None,
            "client_fictive_email": None,
            "clients_count": appointment.clients_count,
            "activity_id": appointment.activity_id,
            "custom_color": appointment.custom_color,
            "custom_font_color": "",
            "length": appointment.length,
            "duration": appointment.length,
            "paid_full": 0,
            "is_paid": False,
            "is_overpaid": False,
            "timestamp": int(appointment.start.timestamp()),
            "date": local.strftime(FILTER_MOMENT),
            "created_datetime": created.strftime(FILTER_MOMENT),
            "from_url": "",
            "is_mobile": 0,
            "comment": appointment.comment,
            "prepaid_status": 0,
            "record_from": "",
            "payment_status": None,
            "is_sale_bill_printed": False,
            "is_client_notification_sent": False,
        }
        resource: JsonDict = {"type": "record", "id": str(appointment.id), "attributes": attributes}
        if "client_schedule" in include:
            series: Json = None
            if appointment.client_schedule_id is not None:
                series = {"type": "client_schedule", "id": str(appointment.client_schedule_id)}
            resource["relationships"] = {"client_schedule": {"data": series}}
        return resource

    # --- events ---------------------------------------------------------------------------------

    async def list_events(self, request: Request) -> Response:
        _, location = self._caller(request)
        errors = FieldErrors()
        start = _moment(request, "filter[from]", location, FILTER_MOMENT, errors)
        end = _moment(request, "filter[to]", location, FILTER_MOMENT, errors)
        for name, value in (("filter[from]", start), ("filter[to]", end)):
            if value is None and query_value(request, name) is None:
                errors.add(name, f"{name} is required.")
        now = self.ctx.state.now().astimezone(location.tz).replace(microsecond=0)
        if start is not None and start < now:
            errors.add("filter[from]", "filter[from] must not be earlier than the current time.")
        if start is not None and end is not None and end <= start:
            errors.add("filter[to]", "filter[to] must be later than filter[from].")
        errors.raise_if_any()
        if start is None or end is None:  # both were checked above
            raise ApiError.invalid("filter[from]", "filter[from] and filter[to] are required.")
        masters = set(_ints(request, "filter[master_ids][]", "filtermaster_ids"))
        services = set(_ints(request, "filter[service_ids][]"))
        free_min = to_int(query_value(request, "filter[capacity]")) or 0
        page = max(to_int(query_value(request, "page")) or 1, 1)
        limit = min(max(to_int(query_value(request, "limit")) or DEFAULT_LIMIT, 1), MAX_LIMIT)
        state = self.ctx.state
        found: JsonList = []
        for event in sorted(state.schedule_events_by_id.values(), key=lambda e: (e.start, e.activity_id)):
            schedule = state.schedules_by_id[event.schedule_id]
            day = state.schedule_days_by_id[event.day_id]
            if schedule.location_id != location.id or not start <= event.start <= end:
                continue
            if (masters and day.master_id not in masters) or (
                services and schedule.service_id not in services
            ):
                continue
            if day.capacity - event_occupancy(state, event.activity_id) < free_min:
                continue
            found.append(self._event_json(event))
        return _document(found[(page - 1) * limit : page * limit])

    async def get_event(self, request: Request) -> Response:
        _, location = self._caller(request)
        return _document(self._event_json(self._event(location, path_int(request, "event_id"))))

    # --- bookings -------------------------------------------------------------------------------

    async def book(self, request: Request) -> Response:
        user, location = self._caller(request)
        event = self._event(location, path_int(request, "event_id"))
        body = await json_body(request)
        errors = FieldErrors()
        client = as_object(body.get("client"))
        if client is None:
            errors.add("client", "client is required.")
        seats = to_int(body.get("clients_count"))
        if body.get("clients_count") is None:
            errors.add("clients_count", "clients_count is required.")
        elif seats is None or seats < 1:
            errors.add("clients_count", "clients_count must be a positive integer.")
        name = phone = email = ""
        client_id: int | None = None
        if client is not None:
            for key in ("id", "name", "phone", "email", "surname", "patronymic", "gender", "birthday"):
                if key not in client:
                    errors.add(f"client.{key}", f"client.{key} is required (null when unknown).")
            client_id = to_int(client.get("id"))
            name = (to_text(client.get("name")) or "").strip()
            phone = to_text(client.get("phone")) or ""
            email = to_text(client.get("email")) or ""
            if not name:
                errors.add("client.name", "client.name is required.")
            if phone and (not phone.isdigit() or not valid_phone(phone)):
                errors.add("client.phone", "client.phone must be 9 to 15 digits, or empty.")
            if client_id is None and not phone:
                errors.add("client.phone", "client.phone is required for a new client.")
        errors.raise_if_any()
        if seats is None:  # checked above
            raise ApiError.invalid("clients_count", "clients_count is required.")
        state = self.ctx.state
        day = state.schedule_days_by_id[event.day_id]
        if event_occupancy(state, event.activity_id) + seats > day.capacity:
            raise ApiError.invalid("clients_count", "Not enough free places in the event.")
        if client_id is not None:
            existing = state.client(client_id)
            if existing is None or existing.location_id != location.id:
                raise ApiError.invalid("client.id", f"Client {client_id} was not found at this location.")
            booked = existing
        else:
            booked = find_or_create_client(state, location, "+" + phone, name, email)
        schedule = state.schedules_by_id[event.schedule_id]
        service = state.services_by_id[schedule.service_id]
        now = state.now().astimezone(location.tz)
        appointment = Appointment(
            id=state.next_id("appointment"),
            location_id=location.id,
            staff_id=day.master_id,
            client_id=booked.id,
            services=[ServiceLine(service.id, service.title, service.price_min, 0, service.price_min)],
            start=event.start,
            length=day.events_duration + day.technical_break,
            visit_id=0,
            create_date=now,
            last_change_date=now,
            created_user_id=user.id,
            activity_id=event.activity_id,
            via_partner=True,
            schedule_event_id=event.id,
            clients_count=seats,
        )
        state.appointments_by_id[appointment.id] = appointment
        attach_to_visit(state, appointment)
        return _document(self._appointment_json(appointment, []), status=201)

    async def reschedule(self, request: Request) -> Response:
        _, location = self._caller(request)
        event = self._event(location, path_int(request, "event_id"))
        state = self.ctx.state
        appointment = state.appointment(path_int(request, "record_id"))
        if (
            appointment is None
            or appointment.deleted
            or appointment.location_id != location.id
            or appointment.activity_id != event.activity_id
        ):
            raise ApiError.not_found("Appointment not found in this event.")
        body = await json_body(request)
        target_id = to_int(body.get("reschedule_activity_id"))
        if target_id is None:
            raise ApiError.invalid("reschedule_activity_id", "reschedule_activity_id is required.")
        target = self._event(location, target_id)
        seats = to_int(body.get("clients_count")) if body.get("clients_count") is not None else None
        seats = seats or appointment.clients_count
        day = state.schedule_days_by_id[target.day_id]
        taken = event_occupancy(state, target.activity_id) - (
            appointment.clients_count if target.activity_id == appointment.activity_id else 0
        )
        if taken + seats > day.capacity:
            raise ApiError.invalid("reschedule_activity_id", "Not enough free places in the event.")
        service_id = state.schedules_by_id[target.schedule_id].service_id
        service = state.services_by_id[service_id]
        appointment.activity_id = target.activity_id
        appointment.schedule_event_id = target.id
        appointment.start = target.start
        appointment.length = day.events_duration + day.technical_break
        appointment.staff_id = day.master_id
        appointment.services = [
            ServiceLine(service.id, service.title, service.price_min, 0, service.price_min)
        ]
        appointment.clients_count = seats
        comment = body.get("comment")
        if isinstance(comment, str):
            appointment.comment = comment
        appointment.last_change_date = state.now().astimezone(location.tz)
        return _document(self._appointment_json(appointment, []))

    async def list_appointments(self, request: Request) -> Response:
        _, location = self._caller(request)
        errors = FieldErrors()
        start = _moment(request, "filter[date_intersect_from]", location, LIST_MOMENT, errors)
        end = _moment(request, "filter[date_intersect_to]", location, LIST_MOMENT, errors)
        if (start is None) != (end is None) and not errors.items:
            errors.add("filter[date_intersect_to]", "give filter[date_intersect_from] and _to together.")
        if start is not None and end is not None and end <= start:
            errors.add("filter[date_intersect_to]", "the end must be later than the start.")
        errors.raise_if_any()
        client_id = to_int(query_value(request, "filter[client_id]"))
        activity_id = to_int(query_value(request, "filter[activity_id]"))
        include = [v for raw in request.query_params.getlist("include") for v in raw.split(",")]
        page = max(to_int(query_value(request, "page")) or 1, 1)
        limit = min(max(to_int(query_value(request, "limit")) or DEFAULT_LIMIT, 1), MAX_LIMIT)
        found = [
            a
            for a in self.ctx.state.appointments(location.id)
            if (client_id is None or a.client_id == client_id)
            and (activity_id is None or a.activity_id == activity_id)
            and (start is None or a.end > start)
            and (end is None or a.start < end)
        ]
        found.sort(key=lambda a: (a.start, a.id))
        data: JsonList = [
            self._appointment_json(a, include) for a in found[(page - 1) * limit : page * limit]
        ]
        pagination: JsonDict = {"page": page, "offset": (page - 1) * limit, "limit": limit}
        return _document(data, {"pagination": pagination})
