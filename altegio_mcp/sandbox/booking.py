"""Online-booking availability: who can be booked for which services, and when.

Slots are starts on the 15-minute grid where the combined length of the chosen services fits in
the team member's working time without overlapping anything, and that are not in the past. A slot
offered here is accepted as-is by `POST /records` for that team member and those services.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from altegio_mcp.sandbox.models import Location, Service, TeamMember
from altegio_mcp.sandbox.scheduling import free_starts, works_on
from altegio_mcp.sandbox.state import SandboxState

DEFAULT_LENGTH = 3600
SEARCH_DAYS = 30


def bookable_members(state: SandboxState, location: Location, services: list[Service]) -> list[TeamMember]:
    """Visible, active team members who provide every chosen service, heaviest first."""
    members = [
        m
        for m in state.team_members(location.id)
        if not m.hidden and not m.fired and not m.status and all(m.id in s.staff_lengths for s in services)
    ]
    return sorted(members, key=lambda m: (-m.weight, m.id))


def online_services(state: SandboxState, location: Location) -> list[Service]:
    """Services bookable online (group-event services are booked through their events)."""
    return sorted(
        (s for s in state.services(location.id) if s.active and not s.group_event),
        key=lambda s: (-s.weight, s.id),
    )


def booking_length(member: TeamMember, services: list[Service]) -> int:
    if not services:
        return DEFAULT_LENGTH
    return sum(service.staff_lengths[member.id] for service in services)


def slots(state: SandboxState, member: TeamMember, day: date, services: list[Service]) -> list[datetime]:
    return free_starts(state, member, day, booking_length(member, services), not_before=state.now())


def local_today(state: SandboxState, location: Location) -> date:
    return state.now().astimezone(location.tz).date()


def next_slot(
    state: SandboxState, location: Location, members: list[TeamMember], services: list[Service]
) -> datetime | None:
    """The earliest bookable start over the next `SEARCH_DAYS` days among the team members."""
    start_day = local_today(state, location)
    for offset in range(SEARCH_DAYS):
        day = start_day + timedelta(days=offset)
        starts = [found[0] for m in members if works_on(m, day) and (found := slots(state, m, day, services))]
        if starts:
            return min(starts)
    return None


def member_next_date(state: SandboxState, member: TeamMember, services: list[Service]) -> date | None:
    location = state.locations_by_id[member.location_id]
    start_day = local_today(state, location)
    for offset in range(SEARCH_DAYS):
        day = start_day + timedelta(days=offset)
        if works_on(member, day) and slots(state, member, day, services):
            return day
    return None
