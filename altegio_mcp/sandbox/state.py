"""The in-memory store: every entity by id, id allocation, and typed read accessors.

Mutation rules (booking, visits, recurring series) live in `records.py`, `visits.py` and
`recurring.py`; this module only holds the data and answers lookups.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from datetime import date, datetime
from typing import cast

from altegio_mcp.sandbox.models import (
    Appointment,
    Category,
    Client,
    ClientComment,
    ClientSchedule,
    Location,
    Review,
    Schedule,
    ScheduleDay,
    ScheduleEvent,
    Service,
    TeamMember,
    User,
    Visit,
)

ID_STARTS: dict[str, int] = {
    "client": 5301,
    "appointment": 600001,
    "visit": 700001,
    "payment": 800001,
    "kkm": 810001,
    "review": 910001,
    "client_comment": 920001,
    "schedule_event": 950001,
    "activity": 880001,
    "client_schedule": 4401,
}


class SandboxState:
    """All sandbox data. Tests may read it through the accessors; writes go through the API."""

    def __init__(self, today: date, now: Callable[[], datetime]) -> None:
        self.today = today
        self._now = now
        self.clear()

    def clear(self) -> None:
        """Empty every store and restart id allocation (the seed refills it)."""
        self.locations_by_id: dict[int, Location] = {}
        self.users_by_id: dict[int, User] = {}
        self.team_members_by_id: dict[int, TeamMember] = {}
        self.categories_by_id: dict[int, Category] = {}
        self.services_by_id: dict[int, Service] = {}
        self.clients_by_id: dict[int, Client] = {}
        self.appointments_by_id: dict[int, Appointment] = {}
        self.visits_by_id: dict[int, Visit] = {}
        self.reviews_by_id: dict[int, Review] = {}
        self.client_comments_by_id: dict[int, ClientComment] = {}
        self.schedules_by_id: dict[int, Schedule] = {}
        self.schedule_days_by_id: dict[int, ScheduleDay] = {}
        self.schedule_events_by_id: dict[int, ScheduleEvent] = {}
        self.client_schedules_by_id: dict[int, ClientSchedule] = {}
        self.visit_index: dict[tuple[int, int, date], int] = {}
        """(location id, client id, day) -> visit id, so grouping appointments stays cheap."""
        self._next_ids = dict(ID_STARTS)

    def now(self) -> datetime:
        """The sandbox's current moment (aware)."""
        return self._now()

    def next_id(self, kind: str) -> int:
        value = self._next_ids[kind]
        self._next_ids[kind] = value + 1
        return value

    # Lookups by id.
    def location(self, location_id: int) -> Location | None:
        return self.locations_by_id.get(location_id)

    def team_member(self, team_member_id: int) -> TeamMember | None:
        return self.team_members_by_id.get(team_member_id)

    def service(self, service_id: int) -> Service | None:
        return self.services_by_id.get(service_id)

    def category(self, category_id: int) -> Category | None:
        return self.categories_by_id.get(category_id)

    def client(self, client_id: int) -> Client | None:
        return self.clients_by_id.get(client_id)

    def appointment(self, appointment_id: int) -> Appointment | None:
        return self.appointments_by_id.get(appointment_id)

    def visit(self, visit_id: int) -> Visit | None:
        return self.visits_by_id.get(visit_id)

    def schedule(self, schedule_id: int) -> Schedule | None:
        return self.schedules_by_id.get(schedule_id)

    def client_schedule(self, client_schedule_id: int) -> ClientSchedule | None:
        return self.client_schedules_by_id.get(client_schedule_id)

    def user_by_token(self, token: str) -> User | None:
        return next((user for user in self.users_by_id.values() if user.token == token), None)

    def user_by_login(self, login: str) -> User | None:
        wanted = login.strip().lower()
        return next((user for user in self.users_by_id.values() if user.login.lower() == wanted), None)

    # Collections, in id order.
    def locations(self) -> list[Location]:
        return sorted(self.locations_by_id.values(), key=lambda item: item.id)

    def users(self) -> list[User]:
        return sorted(self.users_by_id.values(), key=lambda item: item.id)

    def team_members(self, location_id: int) -> list[TeamMember]:
        return [tm for tm in self.team_members_by_id.values() if tm.location_id == location_id]

    def categories(self, location_id: int) -> list[Category]:
        return [c for c in self.categories_by_id.values() if c.location_id == location_id]

    def services(self, location_id: int) -> list[Service]:
        return [s for s in self.services_by_id.values() if s.location_id == location_id]

    def clients(self, location_id: int) -> list[Client]:
        return [c for c in self.clients_by_id.values() if c.location_id == location_id]

    def appointments(
        self, location_id: int | None = None, *, include_deleted: bool = False
    ) -> list[Appointment]:
        return [
            a
            for a in self.appointments_by_id.values()
            if (location_id is None or a.location_id == location_id) and (include_deleted or not a.deleted)
        ]

    def appointments_of_visit(self, visit_id: int) -> list[Appointment]:
        found = [a for a in self.appointments_by_id.values() if a.visit_id == visit_id and not a.deleted]
        return sorted(found, key=lambda a: (a.start, a.id))

    def appointments_of_series(
        self, client_schedule_id: int, *, include_deleted: bool = False
    ) -> list[Appointment]:
        found = [
            a
            for a in self.appointments_by_id.values()
            if a.client_schedule_id == client_schedule_id and (include_deleted or not a.deleted)
        ]
        return sorted(found, key=lambda a: (a.start, a.id))

    def visits(self, location_id: int | None = None) -> list[Visit]:
        return [v for v in self.visits_by_id.values() if location_id is None or v.location_id == location_id]

    def reviews(self, location_id: int) -> list[Review]:
        return [r for r in self.reviews_by_id.values() if r.location_id == location_id]

    def client_comments(self, client_id: int) -> list[ClientComment]:
        return [c for c in self.client_comments_by_id.values() if c.client_id == client_id]

    def schedules(self, location_id: int) -> list[Schedule]:
        return [s for s in self.schedules_by_id.values() if s.location_id == location_id]

    def schedule_days(self, schedule_id: int) -> list[ScheduleDay]:
        return [d for d in self.schedule_days_by_id.values() if d.schedule_id == schedule_id]

    def schedule_events(self, day_id: int) -> list[ScheduleEvent]:
        found = [e for e in self.schedule_events_by_id.values() if e.day_id == day_id]
        return sorted(found, key=lambda e: e.start)

    def client_schedules(self, location_id: int | None = None) -> list[ClientSchedule]:
        return [
            s
            for s in self.client_schedules_by_id.values()
            if location_id is None or s.location_id == location_id
        ]

    def fingerprint(self) -> str:
        """A canonical JSON dump of every entity: equal fingerprints mean equal states."""
        stores: dict[str, object] = {
            "locations": self.locations_by_id,
            "users": self.users_by_id,
            "team_members": self.team_members_by_id,
            "categories": self.categories_by_id,
            "services": self.services_by_id,
            "clients": self.clients_by_id,
            "appointments": self.appointments_by_id,
            "visits": self.visits_by_id,
            "reviews": self.reviews_by_id,
            "client_comments": self.client_comments_by_id,
            "schedules": self.schedules_by_id,
            "schedule_days": self.schedule_days_by_id,
            "schedule_events": self.schedule_events_by_id,
            "client_schedules": self.client_schedules_by_id,
            "next_ids": self._next_ids,
        }
        return json.dumps(stores, default=_encode, sort_keys=True)


def _encode(value: object) -> object:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if isinstance(value, frozenset):
        return sorted(str(item) for item in cast("frozenset[object]", value))
    return str(value)
