"""The deterministic seed: the same anchor day (`today`) always produces the same data.

Around the anchor day it books seven weeks of appointments (four back, three ahead) inside working
hours and without overlaps, groups them into visits with payments, and adds reviews, client
comments, three group-event schedules and two client series. Past appointments have attendance 1 or
-1; today's and later ones 0 or 2. Fixtures with fixed ids, relative to the anchor day D:

- 600001: Olivia (2101) at Hudson Hair Studio (1001), D 10:00-11:00 local, client 5001, visit 700001.
  Olivia is otherwise free on D from 09:00 to 17:00 (e.g. D 14:00 for service 4101, 3600 s).
- 600002: Olivia, D-1 11:00, client 5002, visit 700002 paid in full: 800001 (50, cash 81001) and
  800002 (35, card 81002).
- 600003: Marcus (2102), D-2 12:00, client 5004, service 4102 (45), visit 700003 part paid (20 cash).
- 600004: Dr. Layla Haddad (2201) at the Dubai clinic (1002), D 10:00 local, client 5102.
- Schedules 31 (1001; series 311 mon 18:00, 312 wed 18:00, 313 sat 12:00, led by Sofía 2103),
  32 (1002; 321 tue, 322 thu 16:30, Aisha 2203) and 33 (1003; 331 sun 11:00, Jamal 2302).
- Client series 4401 (schedule 31, client 5003, series 311 + 312) and 4402 (schedule 32, client 5101,
  series 321), with past and future appointments.
"""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta

from altegio_mcp.sandbox.constants import (
    DEMO_LOGIN,
    DEMO_PASSWORD,
    DEMO_USER_ID,
    DEMO_USER_TOKEN,
    NEW_YORK_LOCATION_ID,
    SECOND_LOGIN,
    SECOND_PASSWORD,
    SECOND_USER_ID,
    SECOND_USER_TOKEN,
)
from altegio_mcp.sandbox.models import (
    Appointment,
    Category,
    Client,
    ClientComment,
    ClientSchedule,
    Location,
    Position,
    Review,
    Schedule,
    ScheduleDay,
    Service,
    ServiceLine,
    TeamMember,
    User,
)
from altegio_mcp.sandbox.recurring import book_series_days, build_occurrences
from altegio_mcp.sandbox.scheduling import BusyInterval, working_intervals
from altegio_mcp.sandbox.seed_data import (
    CATEGORIES,
    CLIENT_COMMENTS,
    CLIENTS,
    INJECTION_REVIEW,
    REVIEW_TEXTS,
    SCHEDULES,
    SERVICES,
    TEAM_MEMBERS,
    locations,
)
from altegio_mcp.sandbox.state import SandboxState
from altegio_mcp.sandbox.timeutil import at
from altegio_mcp.sandbox.visits import add_payment, attach_to_visit

RANDOM_SEED = 20261127
PAST_DAYS = 28
FUTURE_DAYS = 21
SCHEDULE_PAST_DAYS = 21
SCHEDULE_FUTURE_DAYS = 56
SCHEDULE_HORIZON_DAYS = 90
CREATED_AT = time(9, 30)


def seed(state: SandboxState) -> None:
    """Fill an empty state with the demo data for `state.today`."""
    rng = random.Random(RANDOM_SEED)
    today = state.today
    for location in locations():
        state.locations_by_id[location.id] = location
    _seed_users(state)
    _seed_catalog(state)
    _seed_clients(state)
    _seed_schedules(state)
    _seed_fixed_appointments(state)
    _seed_series(state, rng)
    for location in state.locations():
        _seed_appointments(state, rng, location)
        _seed_reviews(state, rng, location)
    _seed_client_comments(state, today)


def _stamp(location: Location, day: date, clock: time = CREATED_AT) -> datetime:
    return at(day, clock, location.tz)


def _seed_users(state: SandboxState) -> None:
    state.users_by_id[DEMO_USER_ID] = User(
        id=DEMO_USER_ID,
        name="Dana Demo",
        phone="+12125550100",
        login=DEMO_LOGIN,
        email=DEMO_LOGIN,
        password=DEMO_PASSWORD,
        token=DEMO_USER_TOKEN,
        location_ids=tuple(location.id for location in state.locations()),
    )
    state.users_by_id[SECOND_USER_ID] = User(
        id=SECOND_USER_ID,
        name="Riley Chen",
        phone=SECOND_LOGIN,
        login=SECOND_LOGIN,
        email="riley.frontdesk@altegio-sandbox.test",
        password=SECOND_PASSWORD,
        token=SECOND_USER_TOKEN,
        location_ids=(NEW_YORK_LOCATION_ID,),
    )


def _seed_catalog(state: SandboxState) -> None:
    today = state.today
    for spec in TEAM_MEMBERS:
        state.team_members_by_id[spec.id] = TeamMember(
            id=spec.id,
            location_id=spec.location_id,
            name=spec.name,
            specialization=spec.specialization,
            position=Position(*spec.position),
            weekly={day: list(intervals) for day, intervals in spec.weekly.items()},
            off_dates=frozenset(today + timedelta(days=offset) for offset in spec.off_day_offsets),
            schedule_till=today + timedelta(days=SCHEDULE_HORIZON_DAYS),
            rating=spec.rating,
            votes_count=spec.votes,
            comments_count=spec.votes // 3,
            weight=spec.weight,
            information=f"<p>{spec.specialization} at the {state.locations_by_id[spec.location_id].title}.</p>",
            hidden=spec.hidden,
        )
    for category_id, location_id, title, weight in CATEGORIES:
        state.categories_by_id[category_id] = Category(
            category_id, location_id, title, weight, f"cat-{category_id}"
        )
    for service_id, location_id, category_id, title, duration, low, high, weight, lengths, group in SERVICES:
        state.services_by_id[service_id] = Service(
            id=service_id,
            location_id=location_id,
            category_id=category_id,
            title=title,
            duration=duration,
            price_min=low,
            price_max=high,
            weight=weight,
            staff_lengths=dict(lengths),
            active=0 if group else 1,
            api_id=f"svc-{service_id}",
            group_event=group,
        )


def _seed_clients(state: SandboxState) -> None:
    today = state.today
    for location_id, (first_id, phone_prefix, people) in CLIENTS.items():
        location = state.locations_by_id[location_id]
        for index, (name, surname, gender_id) in enumerate(people):
            client_id = first_id + index
            created = _stamp(location, today - timedelta(days=400 - index * 7))
            state.clients_by_id[client_id] = Client(
                id=client_id,
                location_id=location_id,
                name=name,
                surname=surname,
                phone=f"{phone_prefix}{index + 1:04d}",
                email="" if index % 7 == 6 else f"client{client_id}@example.com",
                created=created,
                last_change_date=created + timedelta(days=30),
                gender_id=gender_id,
                importance_id=index % 4,
                discount=10 if index % 9 == 0 else 0,
                card=f"C{client_id}" if index % 5 == 0 else "",
                birth_date=f"{1970 + index % 30}-{index % 12 + 1:02d}-{index % 27 + 1:02d}"
                if index % 3
                else None,
            )


def _seed_schedules(state: SandboxState) -> None:
    today = state.today
    for schedule_id, location_id, service_id, days in SCHEDULES:
        location = state.locations_by_id[location_id]
        created = _stamp(location, today - timedelta(days=SCHEDULE_PAST_DAYS + 7))
        schedule = Schedule(
            id=schedule_id,
            location_id=location_id,
            service_id=service_id,
            original_entity_id=0,
            date_start=today - timedelta(days=SCHEDULE_PAST_DAYS),
            date_end=today + timedelta(days=SCHEDULE_FUTURE_DAYS),
            created_at=created,
        )
        state.schedules_by_id[schedule_id] = schedule
        for day_id, weekday, start, duration, master_id in days:
            day = ScheduleDay(day_id, schedule_id, weekday, start, duration, master_id, 8, created)
            state.schedule_days_by_id[day_id] = day
            events = build_occurrences(state, schedule, day)
            if not schedule.original_entity_id and events:
                schedule.original_entity_id = events[0].activity_id


def _book(
    state: SandboxState,
    member: TeamMember,
    service: Service,
    client: Client,
    start: datetime,
    attendance: int,
    created: datetime,
) -> Appointment:
    line = ServiceLine(service.id, service.title, service.price_min, 0, service.price_min)
    appointment = Appointment(
        id=state.next_id("appointment"),
        location_id=member.location_id,
        staff_id=member.id,
        client_id=client.id,
        services=[line],
        start=start,
        length=service.staff_lengths[member.id],
        visit_id=0,
        create_date=created,
        last_change_date=created,
        created_user_id=DEMO_USER_ID,
        attendance=attendance,
    )
    state.appointments_by_id[appointment.id] = appointment
    visit = attach_to_visit(state, appointment)
    visit.attendance = attendance
    return appointment


def _pay(state: SandboxState, appointment: Appointment, amount: float, card: bool) -> None:
    location = state.locations_by_id[appointment.location_id]
    visit = state.visits_by_id[appointment.visit_id]
    account = location.card_account_id if card else location.cash_account_id
    payment = add_payment(state, visit, appointment.id, account, amount)
    payment.date = appointment.end


def _seed_fixed_appointments(state: SandboxState) -> None:
    """The fixtures with known ids: 600001 (busy slot today), 600002 (paid visit), 600003 (part paid)."""
    today = state.today
    ny = state.locations_by_id[NEW_YORK_LOCATION_ID]
    olivia, marcus = state.team_members_by_id[2101], state.team_members_by_id[2102]
    haircut, mens = state.services_by_id[4101], state.services_by_id[4102]
    created = _stamp(ny, today - timedelta(days=6))
    busy = _book(state, olivia, haircut, state.clients_by_id[5001], at(today, time(10), ny.tz), 2, created)
    busy.comment = "Trim only, keep the length."
    paid = _book(
        state,
        olivia,
        haircut,
        state.clients_by_id[5002],
        at(today - timedelta(days=1), time(11), ny.tz),
        1,
        created,
    )
    _pay(state, paid, 50, card=False)
    _pay(state, paid, 35, card=True)
    partial = _book(
        state,
        marcus,
        mens,
        state.clients_by_id[5004],
        at(today - timedelta(days=2), time(12), ny.tz),
        1,
        created,
    )
    _pay(state, partial, 20, card=False)
    dubai = state.locations_by_id[1002]
    _book(
        state,
        state.team_members_by_id[2201],
        state.services_by_id[4201],
        state.clients_by_id[5102],
        at(today, time(10), dubai.tz),
        2,
        _stamp(dubai, today - timedelta(days=4)),
    )


def _seed_series(state: SandboxState, rng: random.Random) -> None:
    """Client series 4401 (José, Mon+Wed masterclass) and 4402 (Fatima, Tuesday class)."""
    for schedule_id, client_id, day_ids in ((31, 5003, [311, 312]), (32, 5101, [321])):
        schedule = state.schedules_by_id[schedule_id]
        location = state.locations_by_id[schedule.location_id]
        series = ClientSchedule(
            id=state.next_id("client_schedule"),
            location_id=schedule.location_id,
            schedule_id=schedule_id,
            client_id=client_id,
            comer_id=None,
            day_ids=day_ids,
            created_at=_stamp(location, schedule.date_start - timedelta(days=3)),
        )
        state.client_schedules_by_id[series.id] = series
        for appointment in book_series_days(state, series, day_ids, DEMO_USER_ID, None):
            if appointment.start.date() < state.today:
                appointment.attendance = 1 if rng.random() < 0.85 else -1
                state.visits_by_id[appointment.visit_id].attendance = appointment.attendance
                if appointment.attendance == 1:
                    _pay(state, appointment, appointment.services[0].cost, card=rng.random() < 0.5)


def _seed_appointments(state: SandboxState, rng: random.Random, location: Location) -> None:
    today = state.today
    members = sorted(state.team_members(location.id), key=lambda m: m.id)
    clients = sorted(state.clients(location.id), key=lambda c: c.id)
    existing = _existing_busy(state, location)
    for offset in range(-PAST_DAYS, FUTURE_DAYS + 1):
        day = today + timedelta(days=offset)
        for member in members:
            if member.id == 2101 and day == today:
                continue  # keeps 11:00-17:00 free on the anchor day for documented booking examples
            services = [
                s for s in state.services(location.id) if member.id in s.staff_lengths and not s.group_event
            ]
            taken = existing.setdefault((member.id, day), [])
            for interval in working_intervals(state, member, day):
                for _ in range(rng.choice((0, 1, 1, 2, 2, 3))):
                    service = rng.choice(services)
                    length = timedelta(seconds=service.staff_lengths[member.id])
                    starts: list[datetime] = []
                    moment = interval.start
                    while moment + length <= interval.end:
                        if not any(b.overlaps(moment, moment + length) for b in taken):
                            starts.append(moment)
                        moment += timedelta(minutes=30)
                    if not starts:
                        break
                    start = rng.choice(starts)
                    past = day < today
                    attendance = (1 if rng.random() < 0.8 else -1) if past else rng.choice((0, 2))
                    created = _stamp(
                        location, day - timedelta(days=rng.randint(1, 20)), time(rng.randint(8, 20))
                    )
                    appointment = _book(
                        state, member, service, rng.choice(clients), start, attendance, created
                    )
                    taken.append(BusyInterval(start, start + length, "record", appointment.id))
                    if attendance == 1:
                        roll = rng.random()
                        cost = appointment.services[0].cost
                        if roll < 0.7:
                            _pay(state, appointment, cost, card=rng.random() < 0.6)
                        elif roll < 0.85:
                            _pay(state, appointment, round(cost / 2, 2), card=False)
                    elif not past and rng.random() < 0.1:
                        appointment.api_id = f"ext-{appointment.id}"
                        appointment.via_partner = True
                        appointment.online = True


def _existing_busy(state: SandboxState, location: Location) -> dict[tuple[int, date], list[BusyInterval]]:
    """What already occupies each team member per day (fixed appointments, group events)."""
    busy: dict[tuple[int, date], list[BusyInterval]] = {}
    for appointment in state.appointments(location.id):
        if not appointment.activity_id:
            key = (appointment.staff_id, appointment.start.date())
            busy.setdefault(key, []).append(
                BusyInterval(appointment.start, appointment.end, "record", appointment.id)
            )
    for event in state.schedule_events_by_id.values():
        day = state.schedule_days_by_id[event.day_id]
        end = event.start + timedelta(seconds=day.events_duration + day.technical_break)
        busy.setdefault((day.master_id, event.start.date()), []).append(
            BusyInterval(event.start, end, "activity", event.activity_id)
        )
    return busy


def _seed_reviews(state: SandboxState, rng: random.Random, location: Location) -> None:
    members = sorted(state.team_members(location.id), key=lambda m: m.id)
    clients = sorted(state.clients(location.id), key=lambda c: c.id)
    past = sorted(
        (a for a in state.appointments(location.id) if a.attendance == 1 and a.start.date() < state.today),
        key=lambda a: a.id,
    )
    for index in range(12):
        author = rng.choice(clients)
        record = rng.choice(past) if past and index % 2 == 0 else None
        member = state.team_members_by_id[record.staff_id] if record is not None else rng.choice(members)
        moment = _stamp(location, state.today - timedelta(days=rng.randint(1, 60)), time(rng.randint(9, 21)))
        text = REVIEW_TEXTS[index % len(REVIEW_TEXTS)]
        if location.id == NEW_YORK_LOCATION_ID and index == 3:
            text, member = INJECTION_REVIEW, state.team_members_by_id[2103]
        review = Review(
            id=state.next_id("review"),
            location_id=location.id,
            master_id=member.id,
            text=text,
            date=moment,
            rating=rng.choice((5, 5, 5, 4, 4, 3, 2, 1)),
            user_id=100000 + author.id,
            user_name=f"{author.name} {author.surname}".strip(),
            record_id=record.id if record is not None else 0,
        )
        state.reviews_by_id[review.id] = review


def _seed_client_comments(state: SandboxState, today: date) -> None:
    for index, (client_id, text) in enumerate(CLIENT_COMMENTS):
        client = state.clients_by_id[client_id]
        moment = _stamp(state.locations_by_id[client.location_id], today - timedelta(days=30 - index))
        comment = ClientComment(
            id=state.next_id("client_comment"),
            location_id=client.location_id,
            client_id=client_id,
            text=text,
            create_date=moment,
            update_date=moment,
            user_id=DEMO_USER_ID,
        )
        state.client_comments_by_id[comment.id] = comment
