"""JSON views of appointments, visits and payments, shaped as the documented responses."""

from __future__ import annotations

from datetime import datetime, time

from altegio_mcp.sandbox.clients import visit_counts
from altegio_mcp.sandbox.jsontypes import Json, JsonDict, JsonList, number
from altegio_mcp.sandbox.models import Appointment, Client, Location, PaymentTransaction, TeamMember, Visit
from altegio_mcp.sandbox.state import SandboxState
from altegio_mcp.sandbox.timeutil import compact_iso, iso, local_text
from altegio_mcp.sandbox.visits import appointment_cost, appointment_paid, payment_status

AVATAR = "https://app.alteg.io/images/no-master-sm.png"
AVATAR_BIG = "https://app.alteg.io/images/no-master.png"
EXPENSE_SERVICES: JsonDict = {"id": 5, "title": "Provision of services"}


def position_json(member: TeamMember) -> JsonDict:
    return {"id": member.position.id, "title": member.position.title}


def staff_brief_json(member: TeamMember, *, with_spec: bool = False) -> JsonDict:
    """The `staff` object embedded in an appointment."""
    data: JsonDict = {
        "id": member.id,
        "api_id": None if member.api_id is None else str(member.api_id),
        "name": member.name,
        "specialization": member.specialization,
        "position": position_json(member),
        "avatar": AVATAR,
        "avatar_big": AVATAR_BIG,
        "rating": member.rating,
        "votes_count": member.votes_count,
    }
    if with_spec:
        data["spec"] = member.specialization
    return data


def client_brief_json(state: SandboxState, client: Client) -> JsonDict:
    """The `client` object embedded in an appointment."""
    success, fail = visit_counts(state, client.id)
    return {
        "id": client.id,
        "name": client.name,
        "surname": client.surname,
        "middle_name": client.middle_name,
        "display_name": f"{client.name} {client.surname}".strip(),
        "comment": client.comment,
        "phone": client.phone,
        "card": client.card,
        "email": client.email,
        "success_visits_count": success,
        "fail_visits_count": fail,
        "discount": number(client.discount),
        "is_new": success == 0,
        "custom_fields": [],
        "gender": client.gender_id,
        "sex": client.gender_id,
        "birthday": client.birth_date or "",
        "client_tags": [],
        "phone_country_id": 1,
    }


def label_json(label_id: int) -> JsonDict:
    return {
        "id": label_id,
        "title": f"Tag {label_id}",
        "color": "#009800",
        "icon": "tag",
        "font_color": "#ffffff",
    }


def document_json(state: SandboxState, appointment: Appointment) -> JsonDict:
    visit = state.visit(appointment.visit_id)
    return {
        "id": visit.document_id if visit is not None else 0,
        "type_id": 7,
        "storage_id": 0,
        "user_id": appointment.created_user_id,
        "company_id": appointment.location_id,
        "number": appointment.visit_id % 100000,
        "comment": "",
        "date_created": local_text(appointment.create_date),
        "category_id": 0,
        "visit_id": appointment.visit_id,
        "record_id": appointment.id,
        "type_title": "Visit",
        "is_sale_bill_printed": bool(visit is not None and visit.kkm),
    }


def appointment_json(state: SandboxState, appointment: Appointment, *, finance: bool = False) -> JsonDict:
    """The documented appointment object of the list/get/create endpoints."""
    member = state.team_members_by_id[appointment.staff_id]
    client = state.client(appointment.client_id) if appointment.client_id is not None else None
    visit = state.visit(appointment.visit_id)
    cost, paid = appointment_cost(appointment), appointment_paid(state, appointment)
    services: JsonList = [
        {
            "id": line.service_id,
            "title": line.title,
            "cost": number(line.cost),
            "cost_to_pay": number(line.cost),
            "manual_cost": number(line.cost),
            "cost_per_unit": number(line.first_cost),
            "discount": number(line.discount),
            "first_cost": number(line.first_cost),
            "amount": line.amount,
            "assistants": [],
        }
        for line in appointment.services
    ]
    transactions: JsonList = []
    if finance and visit is not None:
        transactions = [payment_json(state, p) for p in visit.payments if p.record_id == appointment.id]
    clients_count = 1
    if appointment.activity_id:
        clients_count = sum(
            a.clients_count
            for a in state.appointments_by_id.values()
            if a.activity_id == appointment.activity_id and not a.deleted
        )
    return {
        "id": appointment.id,
        "company_id": appointment.location_id,
        "staff_id": appointment.staff_id,
        "services": services,
        "goods_transactions": [],
        "staff": staff_brief_json(member),
        "client": client_brief_json(state, client) if client is not None else None,
        "clients_count": clients_count,
        "date": local_text(appointment.start),
        "datetime": iso(appointment.start),
        "create_date": compact_iso(appointment.create_date),
        "comment": appointment.comment,
        "online": appointment.online,
        "visit_attendance": visit.attendance if visit is not None else appointment.attendance,
        "attendance": appointment.attendance,
        "confirmed": appointment.confirmed,
        "seance_length": appointment.length,
        "length": appointment.length,
        "sms_before": 0,
        "sms_now": 0,
        "sms_now_text": "",
        "email_now": 0,
        "notified": 0,
        "master_request": appointment.master_request,
        "api_id": appointment.api_id,
        "from_url": "",
        "review_requested": 0,
        "is_remind_sms_sent": False,
        "visit_id": appointment.visit_id,
        "created_user_id": appointment.created_user_id,
        "deleted": appointment.deleted,
        "paid_full": 1 if cost > 0 and paid >= cost else 0,
        "prepaid": False,
        "prepaid_confirmed": False,
        "payment_status": payment_status(cost, paid),
        "last_change_date": compact_iso(appointment.last_change_date),
        "custom_color": appointment.custom_color,
        "custom_font_color": "#ffffff" if appointment.custom_color else "",
        "record_labels": [label_json(label) for label in appointment.record_labels],
        "activity_id": appointment.activity_id,
        "custom_fields": dict(appointment.custom_fields),
        "documents": [document_json(state, appointment)],
        "sms_remain_hours": appointment.sms_remain_hours,
        "email_remain_hours": appointment.email_remain_hours,
        "bookform_id": 0,
        "record_from": "",
        "is_mobile": 0,
        "is_sale_bill_printed": bool(visit is not None and visit.kkm),
        "consumables": [],
        "finance_transactions": transactions,
        "acceptance_free": None,
        "comer": None,
        "is_update_blocked": False,
        "resource_instance_ids": [],
        "short_link": f"https://sandbox.alteg.io/r/{appointment.id}",
        "technical_break_duration": appointment.technical_break_duration or 0,
    }


def appointment_put_json(state: SandboxState, appointment: Appointment) -> JsonDict:
    """`PUT /record` answer: the appointment, whose `staff` also carries the documented `spec`."""
    data = appointment_json(state, appointment)
    data["staff"] = staff_brief_json(state.team_members_by_id[appointment.staff_id], with_spec=True)
    return data


def partner_company_json(location: Location) -> JsonDict:
    offset = location.tz.utcoffset(None)
    hours = int(offset.total_seconds() // 3600) if offset is not None else 0
    return {
        "id": location.id,
        "title": location.title,
        "public_title": location.title,
        "business_group_id": 1,
        "business_type_id": location.business_type_id,
        "country_id": location.country_id,
        "city_id": location.city_id,
        "timezone": str(hours),
        "timezone_name": location.timezone_name,
        "address": location.address,
        "coordinate_lat": location.coordinate_lat,
        "coordinate_lon": location.coordinate_lon,
        "logo": "https://app.alteg.io/images/icon.png",
        "zip": location.zip,
        "phone": location.phone,
        "phones": [location.phone],
        "site": location.site,
        "allow_delete_record": True,
        "allow_change_record": True,
        "country": location.country,
        "city": location.city,
    }


def partner_appointment_json(state: SandboxState, appointment: Appointment) -> JsonDict:
    """An item of `GET /records/partner`, shaped as that page's example."""
    location = state.locations_by_id[appointment.location_id]
    member = state.team_members_by_id[appointment.staff_id]
    client = state.client(appointment.client_id) if appointment.client_id is not None else None
    services: JsonList = []
    for line in appointment.services:
        service = state.service(line.service_id)
        services.append(
            {
                "id": line.service_id,
                "title": line.title,
                "cost": number(line.cost),
                "price_min": number(service.price_min if service is not None else line.first_cost),
                "price_max": number(service.price_max if service is not None else line.first_cost),
                "discount": number(line.discount),
                "amount": line.amount,
            }
        )
    client_data: Json = None
    if client is not None:
        client_data = {
            "id": client.id,
            "name": client.name,
            "phone": client.phone,
            "phone_code": "1",
            "email": client.email,
        }
    return {
        "id": appointment.id,
        "date": local_text(appointment.start),
        "datetime": compact_iso(appointment.start),
        "create_date": compact_iso(appointment.create_date),
        "comment": appointment.comment,
        "deleted": appointment.deleted,
        "attendance": appointment.attendance,
        "length": appointment.length,
        "notify_by_sms": appointment.sms_remain_hours or 0,
        "notify_by_email": appointment.email_remain_hours or 0,
        "master_requested": bool(appointment.master_request),
        "online": appointment.online,
        "api_id": appointment.api_id,
        "last_change_date": compact_iso(appointment.last_change_date),
        "prepaid": 0,
        "prepaid_confirmed": 0,
        "activity_id": appointment.activity_id,
        "services": services,
        "company": partner_company_json(location),
        "staff": {
            "id": member.id,
            "name": member.name,
            "company_id": member.location_id,
            "specialization": member.specialization,
            "position": position_json(member),
            "rating": member.rating,
            "show_rating": True,
            "comments_count": member.comments_count,
            "votes_count": member.votes_count,
            "average_score": member.rating,
            "avatar": AVATAR,
            "prepaid": member.prepaid,
        },
        "client": client_data,
        "custom_fields": dict(appointment.custom_fields),
    }


def account_title(location: Location, account_id: int) -> str:
    return "Cash desk" if account_id == location.cash_account_id else "Card terminal"


def payment_json(state: SandboxState, payment: PaymentTransaction) -> JsonDict:
    visit = state.visits_by_id[payment.visit_id]
    location = state.locations_by_id[visit.location_id]
    client = state.client(visit.client_id) if visit.client_id is not None else None
    appointment = state.appointment(payment.record_id)
    client_data: Json = []
    if client is not None:
        client_data = {"id": client.id, "name": client.name, "phone": client.phone}
    return {
        "id": payment.id,
        "document_id": visit.document_id,
        "date": iso(payment.date),
        "type_id": 5,
        "expense_id": payment.expense_id,
        "account_id": payment.account_id,
        "amount": number(payment.amount),
        "client_id": visit.client_id or 0,
        "master_id": 0,
        "supplier_id": 0,
        "comment": payment.comment,
        "item_id": appointment.services[0].service_id
        if appointment is not None and appointment.services
        else 0,
        "target_type_id": 1,
        "record_id": payment.record_id,
        "goods_transaction_id": 0,
        "expense": dict(EXPENSE_SERVICES),
        "account": {"id": payment.account_id, "title": account_title(location, payment.account_id)},
        "client": client_data,
        "master": [],
        "supplier": [],
    }


def visit_json(state: SandboxState, visit: Visit) -> JsonDict:
    """`GET /visits/{visit_id}`: status, comment and the visit's appointments."""
    appointments = state.appointments_of_visit(visit.id)
    records: JsonList = []
    for appointment in appointments:
        record = appointment_json(state, appointment)
        record["events"] = []
        records.append(record)
    tz = state.locations_by_id[visit.location_id].tz
    start = appointments[0].start if appointments else None
    return {
        "attendance": visit.attendance,
        "datetime": iso(start if start is not None else datetime.combine(visit.day, time(), tz)),
        "comment": visit.comment,
        "records": records,
    }


def visit_details_json(state: SandboxState, visit: Visit) -> JsonDict:
    """`GET /visit/details/...`: payments, fiscal (KKM) state and the sold items."""
    items: JsonList = []
    for appointment in state.appointments_of_visit(visit.id):
        for line in appointment.services:
            items.append(
                {
                    "id": 0,
                    "item_id": line.service_id,
                    "item_type_id": 1,
                    "record_id": appointment.id,
                    "item_title": line.title,
                    "amount": line.amount,
                    "first_cost": number(line.first_cost),
                    "manual_cost": number(line.cost),
                    "discount": number(line.discount),
                    "cost": number(line.cost),
                    "master_id": appointment.staff_id,
                    "good_id": 0,
                    "service_id": line.service_id,
                    "event_id": appointment.activity_id,
                    "is_service": True,
                    "is_event": False,
                    "is_good": False,
                }
            )
    kkm: JsonList = [
        {
            "id": t.id,
            "print_date": iso(t.date),
            "printed_count": 1,
            "sum": number(t.sum),
            "type": {"id": t.type_id, "title": "Sale operation"},
            "status": {"id": 1, "title": "Successfully"},
            "document": {"id": visit.document_id, "type": 7, "type_title": "Visit"},
            "cashier": {"id": 0, "name": "Sandbox cashier"},
        }
        for t in visit.kkm
    ]
    return {
        "payment_transactions": [payment_json(state, p) for p in visit.payments],
        "loyalty_transactions": [],
        "kkm_transaction_details_container": {
            "last_operation_type": 1 if visit.kkm else 0,
            "transactions": kkm,
        },
        "items": items,
    }
