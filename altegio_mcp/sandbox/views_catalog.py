"""JSON views of locations, team members, services, clients, reviews and schedules."""

from __future__ import annotations

from datetime import datetime

from altegio_mcp.sandbox.clients import visit_counts
from altegio_mcp.sandbox.jsontypes import Json, JsonDict, JsonList, number
from altegio_mcp.sandbox.models import (
    Category,
    Client,
    ClientComment,
    Location,
    Review,
    Schedule,
    ScheduleDay,
    ScheduleEvent,
    Service,
    TeamMember,
)
from altegio_mcp.sandbox.state import SandboxState
from altegio_mcp.sandbox.timeutil import compact_iso, hhmmss, iso, local_text
from altegio_mcp.sandbox.views import AVATAR, AVATAR_BIG, position_json

GENDERS = {0: "unknown", 1: "Male", 2: "Female"}
IMPORTANCE = {0: "No importance class", 1: "Bronze", 2: "Silver", 3: "Gold"}


def utc_offset_hours(location: Location, moment: datetime) -> int | float:
    offset = moment.astimezone(location.tz).utcoffset()
    hours = offset.total_seconds() / 3600 if offset is not None else 0.0
    return int(hours) if hours.is_integer() else hours


def location_list_json(state: SandboxState, location: Location, next_slot: str | None) -> JsonDict:
    """An item of `GET /companies`."""
    data: JsonDict = {
        "id": location.id,
        "title": location.title,
        "public_title": location.title,
        "short_descr": location.short_descr,
        "logo": "https://app.alteg.io/images/no-master.png",
        "active": 1,
        "phone": location.phone,
        "phones": [location.phone],
        "email": location.email,
        "country_id": location.country_id,
        "schedule": "",
        "country": location.country,
        "city_id": location.city_id,
        "city": location.city,
        "timezone": utc_offset_hours(location, state.now()),
        "timezone_name": location.timezone_name,
        "address": location.address,
        "coordinate_lat": location.coordinate_lat,
        "coordinate_lon": location.coordinate_lon,
        "phone_confirmation": False,
        "active_staff_count": sum(1 for m in state.team_members(location.id) if not m.fired and not m.status),
        "app_ios": "",
        "app_android": "",
        "currency_short_title": location.currency_short_title,
        "reminds_sms_disabled": False,
        "reminds_sms_default": 1,
        "group_priority": 900,
        "bookform_group_priority": 0,
        "description": location.description,
        "photos": [],
        "company_photos": [],
        "booking_widget_promo": None,
    }
    if next_slot is not None:
        data["next_slot"] = next_slot
    return data


def location_json(
    state: SandboxState,
    location: Location,
    *,
    next_slot: str | None,
    show_groups: bool,
    show_bookforms: bool,
    access: bool,
) -> JsonDict:
    """`GET /company/{id}`."""
    chain: JsonDict = {"id": location.main_group_id, "title": location.main_group_title}
    data: JsonDict = {
        "id": location.id,
        "title": location.title,
        "short_descr": location.short_descr,
        "description": location.description,
        "site": location.site,
        "business_type_id": location.business_type_id,
        "country_id": location.country_id,
        "country": location.country,
        "city_id": location.city_id,
        "city": location.city,
        "address": location.address,
        "zip": location.zip,
        "coordinate_lat": location.coordinate_lat,
        "coordinate_lon": location.coordinate_lon,
        "timezone_name": location.timezone_name,
        "social": {"facebook": "", "instagram": "", "telegram": "", "whatsapp": "", "viber": "", "vk": ""},
        "phone_confirmation": False,
        "active_staff_count": sum(1 for m in state.team_members(location.id) if not m.fired and not m.status),
        "group_priority": 900,
        "push_notification_phone_confirm": 0,
        "main_group_id": location.main_group_id,
        "main_group": chain,
        "payment_policy": {"type": "none"},
    }
    if next_slot is not None:
        data["next_slot"] = next_slot
    if show_groups:
        data["groups"] = {str(location.main_group_id): dict(chain)}
    if show_bookforms:
        form_id = location.id * 10
        data["bookforms"] = [
            {
                "id": form_id,
                "title": f"{location.title} online booking",
                "is_default": 1,
                "url": f"https://n{form_id}.alteg.io/",
            }
        ]
    if access:
        data["access"] = {"records_access": True, "clients_access": True, "finances_access": True}
    return data


def staff_json(member: TeamMember, bookable: bool) -> JsonDict:
    """An item of `GET /staff/{location_id}`."""
    return {
        "id": member.id,
        "api_id": member.api_id,
        "name": member.name,
        "specialization": member.specialization,
        "rating": member.rating,
        "show_rating": 1,
        "user_id": member.user_id,
        "has_access_timetable": False,
        "avatar": AVATAR,
        "avatar_big": AVATAR_BIG,
        "comments_count": member.comments_count,
        "votes_count": member.votes_count,
        "bookable": bookable,
        "image_group": [],
        "information": member.information,
        "position_id": member.position.id,
        "schedule_till": member.schedule_till.isoformat(),
        "weight": member.weight,
        "fired": member.fired,
        "status": member.status,
        "hidden": member.hidden,
        "user": [],
        "prepaid": member.prepaid,
        "position": position_json(member),
    }


def company_staff_json(member: TeamMember) -> JsonDict:
    """`GET /company/{location_id}/staff/{team_member_id}`."""
    return {
        "id": member.id,
        "name": member.name,
        "company_id": member.location_id,
        "specialization": member.specialization,
        "position": position_json(member),
        "avatar": AVATAR,
        "avatar_big": AVATAR_BIG,
        "fired": member.fired,
        "status": member.status,
        "hidden": member.hidden,
        "user_id": member.user_id,
        "is_paid_staff": True,
        "is_included_in_payment_policy": True,
    }


def master_json(member: TeamMember) -> JsonDict:
    """The team member object of schedules (`events_master`, `entity_master`)."""
    return {
        "id": member.id,
        "name": member.name,
        "company_id": member.location_id,
        "specialization": member.specialization,
        "avatar": AVATAR,
        "avatar_big": AVATAR_BIG,
        "position": position_json(member),
        "is_paid_staff": True,
    }


def service_json(service: Service) -> JsonDict:
    """An item of `GET /services/{location_id}`."""
    return {
        "id": service.id,
        "salon_service_id": service.id + 100000,
        "title": service.title,
        "booking_title": service.title,
        "category_id": service.category_id,
        "price_min": number(service.price_min),
        "price_max": number(service.price_max),
        "duration": service.duration,
        "technical_break_duration": None,
        "discount": 0,
        "comment": service.comment,
        "weight": service.weight,
        "active": service.active,
        "api_id": service.api_id,
    }


def company_service_json(service: Service) -> JsonDict:
    """`GET /company/{location_id}/services/{service_id}`: adds per-team-member lengths."""
    data = service_json(service)
    data["staff"] = [
        {"id": member_id, "seance_length": length} for member_id, length in service.staff_lengths.items()
    ]
    data["is_online"] = bool(service.active)
    data["image_group"] = []
    return data


def category_json(state: SandboxState, category: Category) -> JsonDict:
    staff = sorted(
        {
            m
            for s in state.services(category.location_id)
            if s.category_id == category.id
            for m in s.staff_lengths
        }
    )
    return {
        "id": category.id,
        "salon_service_id": category.id + 100000,
        "title": category.title,
        "api_id": category.api_id,
        "weight": category.weight,
        "staff": [member_id for member_id in staff],
        "is_chain": False,
    }


def client_json(state: SandboxState, client: Client) -> JsonDict:
    """`GET /client/{location_id}/{id}` (and the create/edit answers)."""
    success, _ = visit_counts(state, client.id)
    return {
        "id": client.id,
        "name": client.name,
        "surname": client.surname,
        "middle_name": client.middle_name,
        "phone": client.phone,
        "email": client.email,
        "categories": [{"id": label, "title": f"Tag {label}", "color": "#009800"} for label in client.labels],
        "gender_id": client.gender_id,
        "gender": GENDERS.get(client.gender_id, "unknown"),
        "discount": number(client.discount),
        "importance_id": client.importance_id,
        "importance": IMPORTANCE.get(client.importance_id, IMPORTANCE[0]),
        "card": client.card,
        "birth_date": client.birth_date,
        "comment": client.comment,
        "sms_check": client.sms_check,
        "sms_not": client.sms_not,
        "spent": number(client.spent),
        "balance": number(client.balance),
        "visits": success,
        "last_change_date": compact_iso(client.last_change_date),
        "custom_fields": dict(client.custom_fields) if client.custom_fields else [],
    }


def client_comment_json(state: SandboxState, comment: ClientComment) -> JsonDict:
    user = state.users_by_id.get(comment.user_id) if comment.user_id is not None else None
    user_data: Json = None
    if user is not None:
        user_data = {"id": user.id, "name": user.name, "avatar": user.avatar}
    return {
        "id": comment.id,
        "create_date": iso(comment.create_date),
        "update_date": iso(comment.update_date),
        "type": "default",
        "text": comment.text,
        "files": [],
        "user": user_data,
    }


def review_json(review: Review) -> JsonDict:
    """A location review; both documented author keys (`user_name`, `username`) are present."""
    return {
        "id": review.id,
        "salon_id": review.location_id,
        "type": review.type,
        "master_id": review.master_id,
        "text": review.text,
        "date": iso(review.date),
        "rating": review.rating,
        "user_id": review.user_id,
        "user_name": review.user_name,
        "username": review.user_name,
        "user_avatar": "/images/no-master.png",
        "record_id": review.record_id,
    }


def schedule_event_json(
    state: SandboxState,
    event: ScheduleEvent,
    *,
    entity_type: str,
    entity_id: int | None,
    deleted: bool = False,
) -> JsonDict:
    day = state.schedule_days_by_id[event.day_id]
    master = state.team_members_by_id[day.master_id]
    return {
        "id": event.id,
        "created_at": iso(event.created_at),
        "updated_at": iso(event.created_at),
        "deleted_at": None,
        "event_status": "entity_deleted" if deleted else "stable",
        "event_datetime": iso(event.start),
        "event_entity_type": entity_type,
        "event_entity_id": entity_id,
        "is_entity_master_changed": False,
        "is_entity_datetime_changed": False,
        "is_entity_duration_changed": False,
        "is_entity_labels_changed": False,
        "is_entity_resource_instances_changed": False,
        "entity_master": master_json(master),
        "entity_datetime": local_text(event.start),
        "entity_duration": day.events_duration,
        "entity_labels": [],
        "entity_resource_instances": [],
    }


def schedule_day_json(
    state: SandboxState, day: ScheduleDay, includes: set[str], events: JsonList | None
) -> JsonDict:
    data: JsonDict = {
        "id": day.id,
        "created_at": iso(day.created_at),
        "updated_at": iso(day.created_at),
        "deleted_at": None,
        "timetable_event_schedule_id": day.schedule_id,
        "day_of_week": day.day_of_week,
        "events_time": hhmmss(day.events_time),
        "events_duration": day.events_duration,
        "event_technical_break_duration": day.technical_break,
    }
    if "events_master" in includes:
        data["events_master"] = master_json(state.team_members_by_id[day.master_id])
    if "events_labels" in includes:
        data["events_labels"] = []
    if "events_resource_instances" in includes:
        data["events_resource_instances"] = []
    if events is not None:
        data["events"] = events
    return data


def schedule_json(state: SandboxState, schedule: Schedule, includes: set[str]) -> JsonDict:
    """`timetable_event_schedule`; `include` may add `days` and, under them, the day extras."""
    data: JsonDict = {
        "id": schedule.id,
        "created_at": iso(schedule.created_at),
        "updated_at": iso(schedule.created_at),
        "deleted_at": None,
        "original_entity_type": "activity",
        "original_entity_id": schedule.original_entity_id,
        "date_start": schedule.date_start.isoformat(),
        "date_end": schedule.date_end.isoformat(),
    }
    if "days" in includes:
        day_includes = {item.removeprefix("days.") for item in includes if item.startswith("days.")}
        days: JsonList = []
        for day in sorted(state.schedule_days(schedule.id), key=lambda d: d.id):
            events: JsonList | None = None
            if "events" in day_includes:
                events = [
                    schedule_event_json(state, e, entity_type="activity", entity_id=e.activity_id)
                    for e in state.schedule_events(day.id)
                ]
            days.append(schedule_day_json(state, day, day_includes, events))
        data["days"] = days
    return data


def booking_service_json(service: Service, seance_length: int | None) -> JsonDict:
    """An item of `services` in `GET /book_services`."""
    return {
        "id": service.id,
        "title": service.title,
        "category_id": service.category_id,
        "price_min": number(service.price_min),
        "price_max": number(service.price_max),
        "discount": 0,
        "comment": service.comment,
        "weight": service.weight,
        "active": service.active,
        "gender": 0,
        "image": "",
        "prepaid": "forbidden",
        "seance_length": seance_length,
        "abonement_restriction": 0,
        "prepaid_settings": {},
        "is_composite": False,
        "is_chain": False,
        "images": [],
        "composite_details": None,
    }


def booking_category_json(category: Category) -> JsonDict:
    return {
        "id": category.id,
        "title": category.title,
        "gender": 0,
        "api_id": category.api_id,
        "weight": category.weight,
    }


def booking_staff_json(member: TeamMember, seance_date: str | None) -> JsonDict:
    """An item of `GET /book_staff`."""
    data = staff_json(member, seance_date is not None)
    data["position"] = {"id": member.position.id, "title": member.position.title, "services_binding_type": 0}
    data["seances"] = []
    if seance_date is not None:
        data["seance_date"] = seance_date
    return data
