"""Routes: appointments (list, create, read, full-replace edit, delete) and partner appointments."""

from __future__ import annotations

from datetime import datetime

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from altegio_mcp.sandbox.jsontypes import JsonList
from altegio_mcp.sandbox.models import Appointment, Location
from altegio_mcp.sandbox.protocol import (
    LOCATION_ALIASES,
    STAFF_ALIASES,
    ApiError,
    json_body,
    no_content,
    ok,
    page_params,
    query_date,
    query_flag,
    query_int,
    query_value,
)
from altegio_mcp.sandbox.records import (
    create_appointment,
    delete_appointment,
    read_request,
    replace_appointment,
)
from altegio_mcp.sandbox.routes.common import Context, api_route, path_int
from altegio_mcp.sandbox.timeutil import parse_moment
from altegio_mcp.sandbox.views import appointment_json, appointment_put_json, partner_appointment_json

DEFAULT_COUNT = 50
DEFAULT_PARTNER_COUNT = 25


class AppointmentRoutes:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def routes(self) -> list[Route]:
        one = "/record/{location_id:int}/{record_id:int}"
        return [
            api_route("/records/partner", self.partner_appointments, "GET"),
            api_route("/records/{location_id:int}", self.list_appointments, "GET"),
            api_route("/records/{location_id:int}", self.create, "POST"),
            api_route(one, self.get_appointment, "GET"),
            api_route(one, self.replace, "PUT"),
            api_route(one, self.delete, "DELETE"),
        ]

    def _appointment(self, location: Location, record_id: int) -> Appointment:
        appointment = self.ctx.state.appointment(record_id)
        if appointment is None or appointment.location_id != location.id or appointment.deleted:
            raise ApiError.not_found("Appointment not found.")
        return appointment

    def _moment(self, request: Request, name: str, location: Location) -> datetime | None:
        text = query_value(request, name)
        if text is None:
            return None
        moment = parse_moment(text, location.tz)
        if moment is None:
            raise ApiError.invalid(name, f"{name} must be a date and time (YYYY-MM-DDTHH:MM:SS).")
        return moment

    async def list_appointments(self, request: Request) -> Response:
        _, location = self.ctx.user_location(request, path_int(request, "location_id"))
        page, count = page_params(
            request, size_name="count", default_size=DEFAULT_COUNT, max_size=self.ctx.page_max("records")
        )
        staff_id = query_int(request, *STAFF_ALIASES)
        client_id = query_int(request, "client_id")
        created_user_id = query_int(request, "created_user_id")
        start, end = query_date(request, "start_date"), query_date(request, "end_date")
        c_start, c_end = query_date(request, "c_start_date"), query_date(request, "c_end_date")
        changed_after = self._moment(request, "changed_after", location)
        changed_before = self._moment(request, "changed_before", location)
        found = [
            a
            for a in self.ctx.state.appointments(
                location.id, include_deleted=query_flag(request, "with_deleted")
            )
            if (staff_id is None or a.staff_id == staff_id)
            and (client_id is None or a.client_id == client_id)
            and (created_user_id is None or a.created_user_id == created_user_id)
            and (start is None or a.start.date() >= start)
            and (end is None or a.start.date() <= end)
            and (c_start is None or a.create_date.date() >= c_start)
            and (c_end is None or a.create_date.date() <= c_end)
            and (changed_after is None or a.last_change_date >= changed_after)
            and (changed_before is None or a.last_change_date <= changed_before)
        ]
        found.sort(key=lambda a: (a.start, a.id))
        finance = query_flag(request, "include_finance_transactions")
        data: JsonList = [
            appointment_json(self.ctx.state, a, finance=finance)
            for a in found[(page - 1) * count : page * count]
        ]
        return ok(data, {"page": page, "total_count": len(found)})

    async def create(self, request: Request) -> Response:
        user, location = self.ctx.user_location(request, path_int(request, "location_id"))
        body = await json_body(request)
        appointment_request = read_request(self.ctx.state, location, body)
        appointment = create_appointment(self.ctx.state, location, user, appointment_request)
        return ok([appointment_json(self.ctx.state, appointment)], status=201)

    async def get_appointment(self, request: Request) -> Response:
        _, location = self.ctx.user_location(request, path_int(request, "location_id"))
        appointment = self._appointment(location, path_int(request, "record_id"))
        finance = query_flag(request, "include_finance_transactions")
        return ok(appointment_json(self.ctx.state, appointment, finance=finance))

    async def replace(self, request: Request) -> Response:
        _, location = self.ctx.user_location(request, path_int(request, "location_id"))
        appointment = self._appointment(location, path_int(request, "record_id"))
        body = await json_body(request)
        appointment_request = read_request(self.ctx.state, location, body)
        replace_appointment(self.ctx.state, location, appointment, appointment_request)
        return ok(appointment_put_json(self.ctx.state, appointment), status=201)

    async def delete(self, request: Request) -> Response:
        _, location = self.ctx.user_location(request, path_int(request, "location_id"))
        delete_appointment(self.ctx.state, self._appointment(location, path_int(request, "record_id")))
        return no_content()

    async def partner_appointments(self, request: Request) -> Response:
        """Appointments made through this partner (the API), in locations the user may see."""
        user = self.ctx.require_user(request)
        location_id = query_int(request, *LOCATION_ALIASES)
        allowed = set(user.location_ids)
        if location_id is not None:
            self.ctx.location(location_id)
            if location_id not in allowed:
                raise ApiError.forbidden()
            allowed = {location_id}
        page, count = page_params(
            request,
            size_name="editable_length",
            default_size=DEFAULT_PARTNER_COUNT,
            max_size=self.ctx.page_max("records_partner"),
        )
        start, end = query_date(request, "start_date"), query_date(request, "end_date")
        c_start, c_end = query_date(request, "created_start_date"), query_date(request, "created_end_date")
        user_id = query_int(request, "user_id")
        found = [
            a
            for a in self.ctx.state.appointments()
            if a.via_partner
            and a.location_id in allowed
            and (start is None or a.start.date() >= start)
            and (end is None or a.start.date() <= end)
            and (c_start is None or a.create_date.date() >= c_start)
            and (c_end is None or a.create_date.date() <= c_end)
            and (user_id is None or a.created_user_id == user_id)
        ]
        found.sort(key=lambda a: (a.create_date, a.id), reverse=True)
        data: JsonList = [
            partner_appointment_json(self.ctx.state, a) for a in found[(page - 1) * count : page * count]
        ]
        return ok(data, {"count": len(found)})
