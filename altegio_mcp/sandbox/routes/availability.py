"""Routes: the appointment calendar (dates, sessions, team member schedules) and the public
online-booking reads (`book_dates`, `book_times`, `book_staff`, `book_services`, partner token only)."""

from __future__ import annotations

import calendar
from datetime import date, datetime, timedelta

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from altegio_mcp.sandbox.booking import (
    SEARCH_DAYS,
    bookable_members,
    booking_length,
    local_today,
    member_next_date,
    online_services,
    slots,
)
from altegio_mcp.sandbox.jsontypes import Json, JsonDict, JsonList
from altegio_mcp.sandbox.models import Location, Service, TeamMember
from altegio_mcp.sandbox.protocol import (
    STAFF_ALIASES,
    ApiError,
    ok,
    query_date,
    query_int,
    query_int_list,
    query_list,
    query_value,
)
from altegio_mcp.sandbox.routes.common import Context, api_route, path_int
from altegio_mcp.sandbox.scheduling import (
    busy_intervals,
    day_window,
    grid,
    placement_problem,
    working_intervals,
    works_on,
)
from altegio_mcp.sandbox.timeutil import (
    EARLIEST,
    LATEST,
    hhmm,
    hhmmss,
    iso,
    parse_date,
    parse_moment,
    supported,
)
from altegio_mcp.sandbox.views_catalog import booking_category_json, booking_service_json, booking_staff_json

MAX_RANGE_DAYS = 92
OFF_DAY = 1


def _month_range(day: date) -> tuple[date, date]:
    return day.replace(day=1), day.replace(day=calendar.monthrange(day.year, day.month)[1])


def _calendar_date(request: Request, name: str) -> date | None:
    """A date parameter that drives calendar arithmetic, so it must lie in the supported span."""
    value = query_date(request, name)
    if value is not None and not supported(value):
        raise ApiError.invalid(name, f"{name} must be between {EARLIEST} and {LATEST}.")
    return value


def _days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=offset) for offset in range((end - start).days + 1)]


def _by_month(days: list[date]) -> Json:
    grouped: dict[str, Json] = {}
    for day in days:
        month = grouped.setdefault(str(day.month), [])
        if isinstance(month, list):
            month.append(day.day)
    return grouped if grouped else []


class AvailabilityRoutes:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def routes(self) -> list[Route]:
        return [
            api_route("/timetable/dates/{location_id:int}/{date}", self.calendar_dates, "GET"),
            api_route(
                "/timetable/seances/{location_id:int}/{team_member_id:int}/{date}", self.seances, "GET"
            ),
            api_route("/company/{location_id:int}/staff/schedule", self.staff_schedule, "GET"),
            api_route("/book_dates/{location_id:int}", self.book_dates, "GET"),
            api_route("/book_times/{location_id:int}/{team_member_id:int}/{date}", self.book_times, "GET"),
            api_route("/book_staff/{location_id:int}", self.book_staff, "GET"),
            api_route("/book_services/{location_id:int}", self.book_services, "GET"),
        ]

    def _member(self, location: Location, member_id: int) -> TeamMember:
        member = self.ctx.state.team_member(member_id)
        if member is None or member.location_id != location.id:
            raise ApiError.not_found("Team member not found.")
        return member

    @staticmethod
    def _path_date(request: Request) -> date:
        parsed = parse_date(str(request.path_params["date"]))
        if parsed is None or not supported(parsed):
            raise ApiError.invalid("date", "date must be an ISO date (YYYY-MM-DD) between 1900 and 2200.")
        return parsed

    def _services(self, request: Request, location: Location) -> list[Service]:
        services: list[Service] = []
        for service_id in query_int_list(request, "service_ids"):
            service = self.ctx.state.service(service_id)
            if service is None or service.location_id != location.id or service.group_event:
                raise ApiError.invalid(
                    "service_ids", f"Service {service_id} cannot be booked at this location."
                )
            services.append(service)
        return services

    async def calendar_dates(self, request: Request) -> Response:
        _, location = self.ctx.user_location(request, path_int(request, "location_id"))
        start, end = _month_range(self._path_date(request))
        staff_id = query_int(request, *STAFF_ALIASES)
        members = [self._member(location, staff_id)] if staff_id else self.ctx.state.team_members(location.id)
        members = [m for m in members if not m.fired and not m.status]
        data: JsonList = [d.isoformat() for d in _days(start, end) if any(works_on(m, d) for m in members)]
        return ok(data)

    async def seances(self, request: Request) -> Response:
        _, location = self.ctx.user_location(request, path_int(request, "location_id"))
        member = self._member(location, path_int(request, "team_member_id"))
        cells = grid(self.ctx.state, member, self._path_date(request))
        data: JsonList = [{"time": hhmm(moment), "is_free": free} for moment, free in cells]
        return ok(data)

    async def staff_schedule(self, request: Request) -> Response:
        _, location = self.ctx.user_location(request, path_int(request, "location_id"))
        state = self.ctx.state
        start = _calendar_date(request, "start_date") or local_today(state, location)
        end = _calendar_date(request, "end_date") or start + timedelta(days=6)
        if end < start or (end - start).days >= MAX_RANGE_DAYS:
            raise ApiError.invalid(
                "end_date", f"end_date must be on or after start_date, within {MAX_RANGE_DAYS} days."
            )
        wanted = set(query_int_list(request, "staff_ids") + query_int_list(request, "team_member_ids"))
        includes = set(query_list(request, "include"))
        members = sorted(state.team_members(location.id), key=lambda m: m.id)
        members = [m for m in members if not wanted or m.id in wanted]
        data: JsonList = []
        for day in _days(start, end):
            for member in members:
                entry: JsonDict = {
                    "staff_id": member.id,
                    "date": day.isoformat(),
                    "slots": [
                        {"from": hhmm(i.start), "to": hhmm(i.end)}
                        for i in working_intervals(state, member, day)
                    ],
                }
                if "busy_intervals" in includes:
                    window_start, window_end = day_window(state, member, day)
                    entry["busy_intervals"] = [
                        {
                            "entity_type": b.entity_type,
                            "entity_id": b.entity_id,
                            "from": hhmmss(max(b.start, window_start)),
                            "to": hhmmss(min(b.end, window_end - timedelta(seconds=1))),
                        }
                        for b in busy_intervals(state, member, window_start, window_end)
                    ]
                if "off_day_type" in includes:
                    entry["off_day_type"] = None if works_on(member, day) else OFF_DAY
                data.append(entry)
        return ok(data, {"count": len(data)})

    def _booking_range(self, request: Request, location: Location) -> tuple[date, date]:
        date_from, date_to = _calendar_date(request, "date_from"), _calendar_date(request, "date_to")
        month = _calendar_date(request, "date")
        if date_from is not None and date_to is not None:
            start, end = date_from, date_to
        elif month is not None:
            start, end = _month_range(month)
        else:
            start = local_today(self.ctx.state, location)
            end = start + timedelta(days=SEARCH_DAYS - 1)
        if end < start or (end - start).days >= MAX_RANGE_DAYS:
            raise ApiError.invalid(
                "date_to", f"date_to must be on or after date_from, within {MAX_RANGE_DAYS} days."
            )
        return start, end

    def _booking_members(
        self, request: Request, location: Location, services: list[Service]
    ) -> list[TeamMember]:
        members = bookable_members(self.ctx.state, location, services)
        staff_id = query_int(request, *STAFF_ALIASES)
        return [m for m in members if m.id == staff_id] if staff_id else members

    async def book_dates(self, request: Request) -> Response:
        location = self.ctx.partner_location(request, path_int(request, "location_id"))
        state = self.ctx.state
        services = self._services(request, location)
        members = self._booking_members(request, location, services)
        start, end = self._booking_range(request, location)
        today = local_today(state, location)
        working = [d for d in _days(start, end) if any(works_on(m, d) for m in members)]
        booking = [d for d in working if d >= today and any(slots(state, m, d, services) for m in members)]
        data: JsonDict = {
            "booking_days": _by_month(booking),
            "booking_dates": [d.isoformat() for d in booking],
            "working_days": _by_month(working),
            "working_dates": [d.isoformat() for d in working],
        }
        return ok(data)

    async def book_times(self, request: Request) -> Response:
        location = self.ctx.partner_location(request, path_int(request, "location_id"))
        state = self.ctx.state
        day = self._path_date(request)
        services = self._services(request, location)
        member_id = path_int(request, "team_member_id")
        members = bookable_members(state, location, services)
        if member_id:
            self._member(location, member_id)
            members = [m for m in members if m.id == member_id]
        offered: dict[datetime, int] = {}
        for member in members:
            for start in slots(state, member, day, services):
                offered.setdefault(start, booking_length(member, services))
        data: JsonList = [
            {"time": hhmm(start), "seance_length": length, "sum_length": length, "datetime": iso(start)}
            for start, length in sorted(offered.items())
        ]
        return ok(data)

    def _moment_query(self, request: Request, location: Location) -> datetime | None:
        text = query_value(request, "datetime")
        if text is None:
            return None
        moment = parse_moment(text, location.tz)
        if moment is None:
            raise ApiError.invalid("datetime", "datetime must be an ISO 8601 date and time.")
        return moment

    async def book_staff(self, request: Request) -> Response:
        location = self.ctx.partner_location(request, path_int(request, "location_id"))
        state = self.ctx.state
        services = self._services(request, location)
        moment = self._moment_query(request, location)
        data: JsonList = []
        for member in bookable_members(state, location, services):
            if moment is not None and (
                moment < state.now()
                or placement_problem(state, member, moment, booking_length(member, services)) is not None
            ):
                continue
            next_date = member_next_date(state, member, services)
            data.append(booking_staff_json(member, next_date.isoformat() if next_date else None))
        return ok(data)

    async def book_services(self, request: Request) -> Response:
        location = self.ctx.partner_location(request, path_int(request, "location_id"))
        state = self.ctx.state
        chosen = self._services(request, location)
        staff_id = query_int(request, *STAFF_ALIASES)
        member = self._member(location, staff_id) if staff_id else None
        moment = self._moment_query(request, location)
        services = online_services(state, location)
        if member is not None:
            services = [s for s in services if member.id in s.staff_lengths]
            if moment is not None:
                base = booking_length(member, chosen) if chosen else 0
                services = [
                    s
                    for s in services
                    if placement_problem(state, member, moment, base + s.staff_lengths[member.id]) is None
                ]
        category_ids = {s.category_id for s in services}
        categories = sorted(
            (c for c in state.categories(location.id) if c.id in category_ids),
            key=lambda c: (-c.weight, c.id),
        )
        service_items: JsonList = [
            booking_service_json(s, s.staff_lengths[member.id] if member is not None else None)
            for s in services
        ]
        category_items: JsonList = [booking_category_json(c) for c in categories]
        return ok({"services": service_items, "category": category_items, "events": []})
