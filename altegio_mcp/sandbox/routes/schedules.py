"""Routes: group-event schedules (search by event, occurrences of a series) and client series
(`client_schedules`: create, change days, delete)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from altegio_mcp.sandbox.jsontypes import JsonDict, JsonList, as_list, to_int
from altegio_mcp.sandbox.models import ClientSchedule, Location, Schedule
from altegio_mcp.sandbox.protocol import ApiError, json_body, no_content, ok, query_list
from altegio_mcp.sandbox.recurring import check_day_ids, create_series, delete_series, update_series
from altegio_mcp.sandbox.routes.common import Context, api_route, path_int
from altegio_mcp.sandbox.state import SandboxState
from altegio_mcp.sandbox.timeutil import local_text
from altegio_mcp.sandbox.views_catalog import schedule_day_json, schedule_event_json, schedule_json

SERIES_DAY_INCLUDES = {"events_master", "events_labels", "events_resource_instances"}


def client_schedule_json(state: SandboxState, series: ClientSchedule) -> JsonDict:
    """The documented client-schedule object: `{id, loyalty_abonement_id, final_day, days[...]}`."""
    appointments = state.appointments_of_series(series.id, include_deleted=True)
    days: JsonList = []
    final = None
    for day_id in series.day_ids:
        day = state.schedule_days_by_id[day_id]
        events: JsonList = []
        for appointment in appointments:
            event = state.schedule_events_by_id.get(appointment.schedule_event_id or 0)
            if event is None or event.day_id != day_id:
                continue
            if appointment.deleted and appointment.start > state.now():
                continue
            events.append(
                schedule_event_json(
                    state, event, entity_type="record", entity_id=appointment.id, deleted=appointment.deleted
                )
            )
            final = event.start if final is None or event.start > final else final
        days.append(schedule_day_json(state, day, SERIES_DAY_INCLUDES, events))
    schedule = state.schedules_by_id[series.schedule_id]
    return {
        "id": series.id,
        "loyalty_abonement_id": None,
        "final_day": local_text(final) if final is not None else f"{schedule.date_end.isoformat()} 00:00:00",
        "days": days,
    }


class ScheduleRoutes:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def routes(self) -> list[Route]:
        base = "/company/{location_id:int}/schedules"
        series = base + "/{schedule_id:int}/client_schedules"
        return [
            api_route(base + "/search/{entity_type}/{entity_id:int}", self.search, "GET"),
            api_route(base + "/{schedule_id:int}/days/{day_id:int}/events", self.day_events, "GET"),
            api_route(series, self.create_series, "POST"),
            api_route(series + "/{client_schedule_id:int}", self.update_series, "PATCH"),
            api_route(series + "/{client_schedule_id:int}", self.delete_series, "DELETE"),
        ]

    def _schedule(self, location: Location, schedule_id: int) -> Schedule:
        schedule = self.ctx.state.schedule(schedule_id)
        if schedule is None or schedule.location_id != location.id:
            raise ApiError.not_found("Schedule not found.")
        return schedule

    def _series(self, request: Request) -> tuple[Schedule, ClientSchedule]:
        _, location = self.ctx.user_location(request, path_int(request, "location_id"))
        schedule = self._schedule(location, path_int(request, "schedule_id"))
        series = self.ctx.state.client_schedule(path_int(request, "client_schedule_id"))
        if series is None or series.schedule_id != schedule.id:
            raise ApiError.not_found("Client schedule not found.")
        return schedule, series

    async def search(self, request: Request) -> Response:
        """Find the schedule of a group event (`activity`) or of an appointment in one (`record`)."""
        _, location = self.ctx.user_location(request, path_int(request, "location_id"))
        state = self.ctx.state
        entity_type = str(request.path_params["entity_type"])
        entity_id = path_int(request, "entity_id")
        activity_id: int | None = None
        if entity_type == "activity":
            activity_id = entity_id
        elif entity_type == "record":
            appointment = state.appointment(entity_id)
            if appointment is not None and appointment.location_id == location.id and appointment.activity_id:
                activity_id = appointment.activity_id
        else:
            raise ApiError.invalid("entity_type", "entity_type must be record or activity.")
        event = next((e for e in state.schedule_events_by_id.values() if e.activity_id == activity_id), None)
        schedule = state.schedule(event.schedule_id) if event is not None else None
        if schedule is None or schedule.location_id != location.id:
            raise ApiError.not_found("No schedule is linked to this entity.")
        return ok(schedule_json(state, schedule, set(query_list(request, "include"))), {})

    async def day_events(self, request: Request) -> Response:
        _, location = self.ctx.user_location(request, path_int(request, "location_id"))
        state = self.ctx.state
        schedule = self._schedule(location, path_int(request, "schedule_id"))
        day = state.schedule_days_by_id.get(path_int(request, "day_id"))
        if day is None or day.schedule_id != schedule.id:
            raise ApiError.not_found("Schedule series not found.")
        data: JsonList = [
            schedule_event_json(state, e, entity_type="activity", entity_id=e.activity_id)
            for e in state.schedule_events(day.id)
        ]
        return ok(data, {"count": len(data)})

    async def create_series(self, request: Request) -> Response:
        user, location = self.ctx.user_location(request, path_int(request, "location_id"))
        state = self.ctx.state
        schedule = self._schedule(location, path_int(request, "schedule_id"))
        body = await json_body(request)
        client_id = to_int(body.get("client_id"))
        client = state.client(client_id) if client_id is not None else None
        if client is None or client.location_id != location.id:
            raise ApiError.invalid("client_id", "client_id is required: a client of this location.")
        day_ids = check_day_ids(state, schedule, _ids(body.get("schedule_days_ids")))
        series = create_series(state, schedule, client.id, to_int(body.get("comer_id")), day_ids, user.id)
        return ok(client_schedule_json(state, series), {}, status=201)

    async def update_series(self, request: Request) -> Response:
        user = self.ctx.require_user(request)
        schedule, series = self._series(request)
        body = await json_body(request)
        day_ids = check_day_ids(self.ctx.state, schedule, _ids(body.get("schedule_days_ids")))
        update_series(self.ctx.state, series, day_ids, user.id)
        return ok(client_schedule_json(self.ctx.state, series), {})

    async def delete_series(self, request: Request) -> Response:
        _, series = self._series(request)
        delete_series(self.ctx.state, series)
        return no_content()


def _ids(raw: object) -> list[int] | None:
    items = as_list(raw)
    if items is None:
        return None
    ids = [to_int(item) for item in items]
    return [i for i in ids if i is not None] if all(i is not None for i in ids) else []
