"""Recurring appointments: group-event schedules, their occurrences, and clients' series over them.

A schedule's series (days) each produce one occurrence (a group event, `activity`) per matching
weekday between `date_start` and `date_end`. A client series (client schedule) books its client into
every future occurrence of the chosen days; changing the days books or cancels future occurrences,
and deleting the series cancels all its future appointments. Past appointments are never touched.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from altegio_mcp.sandbox.models import (
    Appointment,
    ClientSchedule,
    Schedule,
    ScheduleDay,
    ScheduleEvent,
    ServiceLine,
)
from altegio_mcp.sandbox.protocol import ApiError
from altegio_mcp.sandbox.state import SandboxState
from altegio_mcp.sandbox.timeutil import WEEKDAYS, at
from altegio_mcp.sandbox.visits import attach_to_visit

MAX_SERIES_DAYS = 7


def build_occurrences(state: SandboxState, schedule: Schedule, day: ScheduleDay) -> list[ScheduleEvent]:
    """Create the occurrences of a series over the schedule's date range."""
    tz = state.locations_by_id[schedule.location_id].tz
    weekday = WEEKDAYS.index(day.day_of_week)
    current = schedule.date_start + timedelta(days=(weekday - schedule.date_start.weekday()) % 7)
    events: list[ScheduleEvent] = []
    while current <= schedule.date_end:
        event = ScheduleEvent(
            id=state.next_id("schedule_event"),
            schedule_id=schedule.id,
            day_id=day.id,
            activity_id=state.next_id("activity"),
            start=at(current, day.events_time, tz),
            created_at=day.created_at,
        )
        state.schedule_events_by_id[event.id] = event
        events.append(event)
        current += timedelta(days=7)
    return events


def check_day_ids(state: SandboxState, schedule: Schedule, raw_ids: list[int] | None) -> list[int]:
    """Validate `schedule_days_ids`: 1 to 7 distinct series of this schedule."""
    if raw_ids is None:
        raise ApiError.invalid(
            "schedule_days_ids", "schedule_days_ids is required: a list of 1 to 7 series ids."
        )
    ids = list(dict.fromkeys(raw_ids))
    if not 1 <= len(ids) <= MAX_SERIES_DAYS:
        raise ApiError.invalid("schedule_days_ids", "schedule_days_ids must hold 1 to 7 series ids.")
    own = {day.id for day in state.schedule_days(schedule.id)}
    unknown = [day_id for day_id in ids if day_id not in own]
    if unknown:
        raise ApiError.invalid(
            "schedule_days_ids", f"Series {unknown} do not belong to schedule {schedule.id}."
        )
    return ids


def book_series_days(
    state: SandboxState, series: ClientSchedule, day_ids: list[int], user_id: int, not_before: datetime | None
) -> list[Appointment]:
    """Book the series' client into each occurrence of the days (from `not_before` on) not yet booked."""
    schedule = state.schedules_by_id[series.schedule_id]
    service = state.services_by_id[schedule.service_id]
    location = state.locations_by_id[series.location_id]
    booked_events = {a.schedule_event_id for a in state.appointments_of_series(series.id)}
    created: list[Appointment] = []
    for day_id in day_ids:
        day = state.schedule_days_by_id[day_id]
        for event in state.schedule_events(day_id):
            if event.id in booked_events or (not_before is not None and event.start <= not_before):
                continue
            if _occupancy(state, event.activity_id) >= day.capacity:
                continue
            stamp = series.created_at.astimezone(location.tz)
            appointment = Appointment(
                id=state.next_id("appointment"),
                location_id=series.location_id,
                staff_id=day.master_id,
                client_id=series.client_id,
                services=[ServiceLine(service.id, service.title, service.price_min, 0, service.price_min)],
                start=event.start,
                length=day.events_duration + day.technical_break,
                visit_id=0,
                create_date=stamp,
                last_change_date=stamp,
                created_user_id=user_id,
                activity_id=event.activity_id,
                client_schedule_id=series.id,
                schedule_event_id=event.id,
            )
            state.appointments_by_id[appointment.id] = appointment
            attach_to_visit(state, appointment)
            created.append(appointment)
    return created


def cancel_series_days(
    state: SandboxState, series: ClientSchedule, day_ids: list[int], after: datetime
) -> None:
    """Delete the series' appointments on those days that start after `after`."""
    wanted = set(day_ids)
    location = state.locations_by_id[series.location_id]
    now = state.now().astimezone(location.tz)
    for appointment in state.appointments_of_series(series.id):
        event = state.schedule_events_by_id.get(appointment.schedule_event_id or 0)
        if event is not None and event.day_id in wanted and appointment.start > after:
            appointment.deleted = True
            appointment.last_change_date = now


def create_series(
    state: SandboxState,
    schedule: Schedule,
    client_id: int,
    comer_id: int | None,
    day_ids: list[int],
    user_id: int,
) -> ClientSchedule:
    location = state.locations_by_id[schedule.location_id]
    series = ClientSchedule(
        id=state.next_id("client_schedule"),
        location_id=schedule.location_id,
        schedule_id=schedule.id,
        client_id=client_id,
        comer_id=comer_id,
        day_ids=day_ids,
        created_at=state.now().astimezone(location.tz),
    )
    state.client_schedules_by_id[series.id] = series
    book_series_days(state, series, day_ids, user_id, state.now())
    return series


def update_series(state: SandboxState, series: ClientSchedule, day_ids: list[int], user_id: int) -> None:
    """Replace the set of days: removed days lose their future appointments, added days gain them."""
    removed = [day_id for day_id in series.day_ids if day_id not in day_ids]
    added = [day_id for day_id in day_ids if day_id not in series.day_ids]
    now = state.now()
    cancel_series_days(state, series, removed, now)
    series.day_ids = day_ids
    book_series_days(state, series, added, user_id, now)


def delete_series(state: SandboxState, series: ClientSchedule) -> None:
    cancel_series_days(state, series, list(series.day_ids), state.now())
    del state.client_schedules_by_id[series.id]


def _occupancy(state: SandboxState, activity_id: int) -> int:
    return sum(
        a.clients_count
        for a in state.appointments_by_id.values()
        if a.activity_id == activity_id and not a.deleted
    )
