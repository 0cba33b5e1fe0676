"""Working time and free time of team members: the rules every availability endpoint shares.

A team member works the intervals of their weekly pattern (local wall time), except on their off
dates and after `schedule_till`. They are busy during their standard appointments (group-event
appointments do not count: the group event itself blocks the time) and during the occurrences of the
group-event schedule series they lead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal

from altegio_mcp.sandbox.models import TeamMember
from altegio_mcp.sandbox.state import SandboxState
from altegio_mcp.sandbox.timeutil import at

SLOT_STEP = timedelta(minutes=15)
BUSY_MESSAGE = "The team member is busy at the selected time."
OFF_HOURS_MESSAGE = "The selected time is outside the team member's working hours."


@dataclass(frozen=True, slots=True)
class Interval:
    start: datetime
    end: datetime

    def overlaps(self, start: datetime, end: datetime) -> bool:
        return self.start < end and start < self.end


@dataclass(frozen=True, slots=True)
class BusyInterval(Interval):
    entity_type: Literal["record", "activity"]
    entity_id: int


def works_on(member: TeamMember, day: date) -> bool:
    return (
        day <= member.schedule_till and day not in member.off_dates and bool(member.weekly.get(day.weekday()))
    )


def working_intervals(state: SandboxState, member: TeamMember, day: date) -> list[Interval]:
    if not works_on(member, day):
        return []
    location = state.locations_by_id[member.location_id]
    return [
        Interval(at(day, start, location.tz), at(day, end, location.tz))
        for start, end in member.weekly[day.weekday()]
    ]


def busy_intervals(
    state: SandboxState,
    member: TeamMember,
    window_start: datetime,
    window_end: datetime,
    exclude_record_id: int | None = None,
) -> list[BusyInterval]:
    """Standard appointments and led group events of the team member overlapping the window."""
    busy: list[BusyInterval] = []
    for appointment in state.appointments_by_id.values():
        if (
            appointment.staff_id != member.id
            or appointment.deleted
            or appointment.activity_id
            or appointment.id == exclude_record_id
        ):
            continue
        if appointment.start < window_end and window_start < appointment.end:
            busy.append(BusyInterval(appointment.start, appointment.end, "record", appointment.id))
    for event in state.schedule_events_by_id.values():
        day = state.schedule_days_by_id[event.day_id]
        if day.master_id != member.id:
            continue
        end = event.start + timedelta(seconds=day.events_duration + day.technical_break)
        if event.start < window_end and window_start < end:
            busy.append(BusyInterval(event.start, end, "activity", event.activity_id))
    return sorted(busy, key=lambda item: (item.start, item.entity_id))


def day_window(state: SandboxState, member: TeamMember, day: date) -> tuple[datetime, datetime]:
    tz = state.locations_by_id[member.location_id].tz
    start = datetime.combine(day, datetime.min.time(), tzinfo=tz)
    return start, datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=tz)


def placement_problem(
    state: SandboxState,
    member: TeamMember,
    start: datetime,
    length: int,
    exclude_record_id: int | None = None,
) -> str | None:
    """Why an appointment cannot take this slot (outside working hours, or busy), or None if it can."""
    end = start + timedelta(seconds=length)
    intervals = working_intervals(state, member, start.date())
    if not any(interval.start <= start and end <= interval.end for interval in intervals):
        return OFF_HOURS_MESSAGE
    if busy_intervals(state, member, start, end, exclude_record_id):
        return BUSY_MESSAGE
    return None


def free_starts(
    state: SandboxState, member: TeamMember, day: date, length: int, not_before: datetime | None = None
) -> list[datetime]:
    """Starts on the 15-minute grid where `length` seconds fit in working time without overlap."""
    duration = timedelta(seconds=length)
    window_start, window_end = day_window(state, member, day)
    busy = busy_intervals(state, member, window_start, window_end)
    starts: list[datetime] = []
    for interval in working_intervals(state, member, day):
        moment = interval.start
        while moment + duration <= interval.end:
            if (not_before is None or moment >= not_before) and not any(
                b.overlaps(moment, moment + duration) for b in busy
            ):
                starts.append(moment)
            moment += SLOT_STEP
    return starts


def grid(state: SandboxState, member: TeamMember, day: date) -> list[tuple[datetime, bool]]:
    """The calendar grid of a working day: each 15-minute cell and whether it is free."""
    window_start, window_end = day_window(state, member, day)
    busy = busy_intervals(state, member, window_start, window_end)
    cells: list[tuple[datetime, bool]] = []
    for interval in working_intervals(state, member, day):
        moment = interval.start
        while moment + SLOT_STEP <= interval.end:
            cells.append((moment, not any(b.overlaps(moment, moment + SLOT_STEP) for b in busy)))
            moment += SLOT_STEP
    return cells
