"""Client visit history search (`POST /company/{location_id}/clients/visits/search`).

Newest first, 25 appointments a page; appointments sharing the date of a page's last item stay on
that page. `meta.dateCursor` gives the `from`/`to` window of the previous, current and next pages.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from altegio_mcp.sandbox.jsontypes import Json, JsonDict, JsonList, number
from altegio_mcp.sandbox.models import Appointment, Location
from altegio_mcp.sandbox.state import SandboxState
from altegio_mcp.sandbox.timeutil import iso
from altegio_mcp.sandbox.views_catalog import master_json
from altegio_mcp.sandbox.visits import payment_status, visit_paid, visit_total

PAGE_ITEMS = 25


@dataclass(frozen=True, slots=True)
class HistoryQuery:
    client_id: int
    date_from: date | None
    date_to: date | None
    payment_statuses: frozenset[str]
    attendance: int | None


def _visit_status(state: SandboxState, appointment: Appointment) -> str:
    visit = state.visit(appointment.visit_id)
    if visit is None:
        return "not_paid"
    return payment_status(visit_total(state, visit), visit_paid(visit))


def _record_json(state: SandboxState, location: Location, appointment: Appointment) -> JsonDict:
    visit = state.visit(appointment.visit_id)
    paid_left = sum(p.amount for p in visit.payments if p.record_id == appointment.id) if visit else 0.0
    services: JsonList = []
    for line in appointment.services:
        paid = min(paid_left, line.cost * line.amount)
        paid_left -= paid
        services.append(
            {
                "id": line.service_id,
                "title": line.title,
                "first_cost": number(line.first_cost),
                "discount_percent": number(line.discount),
                "cost_to_pay": number(line.cost),
                "paid_sum": number(paid),
                "payment_status": payment_status(line.cost * line.amount, paid),
                "consumables": [],
            }
        )
    return {
        "id": appointment.id,
        "comment": appointment.comment,
        "date": iso(appointment.start),
        "visit_id": appointment.visit_id,
        "attendance": appointment.attendance,
        "services": services,
        "staff": master_json(state.team_members_by_id[appointment.staff_id]),
        "company": {"id": location.id, "title": location.title},
        "tips": {"has_tips": False, "sum": None},
    }


def _cursor(items: list[Appointment], low: date | None) -> JsonDict:
    if not items:
        return {"from": None, "to": None, "count": None}
    newest, oldest = items[0].start.date(), items[-1].start.date()
    return {
        "from": (low or oldest).isoformat(),
        "to": newest.isoformat(),
        "count": len(items),
    }


def search_history(state: SandboxState, location: Location, query: HistoryQuery) -> tuple[JsonDict, JsonDict]:
    """(data, meta) of one page of the client's history."""
    matching = [
        a
        for a in state.appointments(location.id)
        if a.client_id == query.client_id
        and (query.attendance is None or a.attendance == query.attendance)
        and (not query.payment_statuses or _visit_status(state, a) in query.payment_statuses)
        and (query.date_from is None or a.start.date() >= query.date_from)
    ]
    matching.sort(key=lambda a: (a.start, a.id), reverse=True)
    newer = [a for a in matching if query.date_to is not None and a.start.date() > query.date_to]
    rest = [a for a in matching if query.date_to is None or a.start.date() <= query.date_to]
    page = rest[:PAGE_ITEMS]
    if page:
        last_day = page[-1].start.date()
        page = [a for a in rest if a.start.date() >= last_day]
    remaining = rest[len(page) :]
    cursor: dict[str, Json] = {
        "previous": _cursor(newer[-PAGE_ITEMS:], None),
        "current": _cursor(page, None),
        "next": _cursor(remaining[:PAGE_ITEMS], query.date_from),
    }
    records: JsonList = [_record_json(state, location, a) for a in page]
    return {"records": records, "goods_transactions": []}, {"dateCursor": cursor}
