"""The sandbox's entities: plain dataclasses holding what the emulated API stores.

Datetimes are aware and expressed in the owning location's zone; durations are in seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from altegio_mcp.sandbox.jsontypes import Json


@dataclass(slots=True)
class Location:
    id: int
    title: str
    short_descr: str
    timezone_name: str
    currency_short_title: str
    country_id: int
    country: str
    city_id: int
    city: str
    address: str
    zip: str
    phone: str
    email: str
    site: str
    coordinate_lat: float
    coordinate_lon: float
    business_type_id: int
    description: str
    main_group_id: int
    main_group_title: str
    cash_account_id: int
    card_account_id: int

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone_name)


@dataclass(slots=True)
class User:
    id: int
    name: str
    phone: str
    login: str
    email: str
    password: str
    token: str
    location_ids: tuple[int, ...]
    avatar: str = "https://app.alteg.io/images/no-master.png"


@dataclass(slots=True)
class Position:
    id: int
    title: str


@dataclass(slots=True)
class TeamMember:
    id: int
    location_id: int
    name: str
    specialization: str
    position: Position
    weekly: dict[int, list[tuple[time, time]]]
    """Working intervals per weekday (0 = Monday), local wall time."""
    off_dates: frozenset[date]
    schedule_till: date
    rating: float
    votes_count: int
    comments_count: int
    weight: int
    information: str
    api_id: int | None = None
    user_id: int | None = None
    hidden: int = 0
    fired: int = 0
    status: int = 0
    prepaid: str = "forbidden"


@dataclass(slots=True)
class Category:
    id: int
    location_id: int
    title: str
    weight: int
    api_id: str


@dataclass(slots=True)
class Service:
    id: int
    location_id: int
    category_id: int
    title: str
    duration: int
    price_min: float
    price_max: float
    weight: int
    staff_lengths: dict[int, int]
    """Team member id -> that team member's `seance_length` for this service."""
    active: int = 1
    api_id: str = ""
    comment: str = ""
    group_event: bool = False


@dataclass(slots=True)
class Client:
    id: int
    location_id: int
    name: str
    phone: str
    email: str
    created: datetime
    last_change_date: datetime
    surname: str = ""
    middle_name: str = ""
    gender_id: int = 0
    importance_id: int = 0
    discount: float = 0
    card: str = ""
    birth_date: str | None = None
    comment: str = ""
    sms_check: int = 0
    sms_not: int = 0
    spent: float = 0
    balance: float = 0
    labels: list[int] = field(default_factory=list[int])
    custom_fields: dict[str, Json] = field(default_factory=dict[str, Json])


@dataclass(slots=True)
class ServiceLine:
    service_id: int
    title: str
    first_cost: float
    discount: float
    cost: float
    amount: int = 1


@dataclass(slots=True)
class Appointment:
    id: int
    location_id: int
    staff_id: int
    client_id: int | None
    services: list[ServiceLine]
    start: datetime
    length: int
    visit_id: int
    create_date: datetime
    last_change_date: datetime
    created_user_id: int
    attendance: int = 0
    confirmed: int = 1
    comment: str = ""
    api_id: str = ""
    activity_id: int = 0
    deleted: bool = False
    online: bool = False
    via_partner: bool = False
    master_request: int = 1
    sms_remain_hours: int | None = None
    email_remain_hours: int | None = None
    custom_color: str = ""
    record_labels: list[int] = field(default_factory=list[int])
    technical_break_duration: int | None = None
    custom_fields: dict[str, Json] = field(default_factory=dict[str, Json])
    client_schedule_id: int | None = None
    schedule_event_id: int | None = None
    clients_count: int = 1
    """Seats a group-event booking holds."""

    @property
    def end(self) -> datetime:
        return self.start + timedelta(seconds=self.length)


@dataclass(slots=True)
class PaymentTransaction:
    id: int
    visit_id: int
    record_id: int
    account_id: int
    amount: float
    date: datetime
    comment: str = ""
    expense_id: int = 5


@dataclass(slots=True)
class KkmTransaction:
    id: int
    date: datetime
    sum: float
    type_id: int = 0


@dataclass(slots=True)
class Visit:
    id: int
    location_id: int
    client_id: int | None
    day: date
    attendance: int
    document_id: int
    comment: str = ""
    payments: list[PaymentTransaction] = field(default_factory=list[PaymentTransaction])
    kkm: list[KkmTransaction] = field(default_factory=list[KkmTransaction])


@dataclass(slots=True)
class Review:
    id: int
    location_id: int
    master_id: int
    text: str
    date: datetime
    rating: int
    user_id: int
    user_name: str
    record_id: int = 0
    type: int = 1


@dataclass(slots=True)
class ClientComment:
    id: int
    location_id: int
    client_id: int
    text: str
    create_date: datetime
    update_date: datetime
    user_id: int | None


@dataclass(slots=True)
class Schedule:
    """A recurring group-event schedule (`timetable_event_schedule`)."""

    id: int
    location_id: int
    service_id: int
    original_entity_id: int
    date_start: date
    date_end: date
    created_at: datetime


@dataclass(slots=True)
class ScheduleDay:
    """A schedule series: one weekday, time, length and team member."""

    id: int
    schedule_id: int
    day_of_week: str
    events_time: time
    events_duration: int
    master_id: int
    capacity: int
    created_at: datetime
    technical_break: int = 0


@dataclass(slots=True)
class ScheduleEvent:
    """One occurrence of a schedule series: a group event (`activity`) at a datetime."""

    id: int
    schedule_id: int
    day_id: int
    activity_id: int
    start: datetime
    created_at: datetime


@dataclass(slots=True)
class ClientSchedule:
    """A client's recurring appointments over some series of a schedule."""

    id: int
    location_id: int
    schedule_id: int
    client_id: int
    comer_id: int | None
    day_ids: list[int]
    created_at: datetime
