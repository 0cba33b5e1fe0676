"""Client search (`POST /company/{location_id}/clients/search`) and visit history search.

Supported filters: `id`, `quick_search`, `importance`, `gender`, `category`, `sold_amount`,
`birthday`, `client` (`id`, `birthday`) and `record` (`staff`, `service`, `service_category`,
`status`, `records_count`, `sold_amount`). The other documented filter types (`has_mobile_app`,
`has_passteam_card`, `passteam_card_ids`, `sale`) are accepted and match every client, since the
sandbox has no mobile apps, passes or memberships. Unknown types answer the documented 400.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from altegio_mcp.sandbox.clients import phone_digits, visit_counts
from altegio_mcp.sandbox.jsontypes import (
    Json,
    JsonDict,
    as_list,
    as_object,
    number,
    to_int,
    to_number,
    to_text,
)
from altegio_mcp.sandbox.models import Appointment, Client
from altegio_mcp.sandbox.protocol import ApiError
from altegio_mcp.sandbox.state import SandboxState
from altegio_mcp.sandbox.timeutil import parse_date
from altegio_mcp.sandbox.views_catalog import client_json

IGNORED_FILTERS = frozenset({"has_mobile_app", "has_passteam_card", "passteam_card_ids", "sale"})
ORDER_FIELDS = frozenset(
    {
        "id",
        "name",
        "phone",
        "email",
        "discount",
        "first_visit_date",
        "last_visit_date",
        "sold_amount",
        "visit_count",
    }
)
Predicate = Callable[["ClientFacts"], bool]


@dataclass(slots=True)
class ClientFacts:
    """A client with the derived values filters and sorting need."""

    client: Client
    appointments: list[Appointment]
    sold_amount: float
    first_visit: date | None
    last_visit: date | None
    visit_count: int


def invalid_filter() -> ApiError:
    body: JsonDict = {
        "success": False,
        "data": None,
        "meta": {"message": "Invalid filter value", "errors": {"filters": ["Invalid filter state value"]}},
    }
    return ApiError(400, body)


def client_facts(state: SandboxState, location_id: int) -> list[ClientFacts]:
    by_client: dict[int, list[Appointment]] = {}
    for appointment in state.appointments(location_id):
        if appointment.client_id is not None:
            by_client.setdefault(appointment.client_id, []).append(appointment)
    facts: list[ClientFacts] = []
    for client in sorted(state.clients(location_id), key=lambda c: c.id):
        appointments = by_client.get(client.id, [])
        arrived = sorted(a.start.date() for a in appointments if a.attendance == 1)
        visit_ids = {a.visit_id for a in appointments}
        sold = sum(
            p.amount for v in visit_ids if (visit := state.visit(v)) is not None for p in visit.payments
        )
        facts.append(
            ClientFacts(
                client,
                appointments,
                client.spent + sold,
                arrived[0] if arrived else None,
                arrived[-1] if arrived else None,
                len(arrived),
            )
        )
    return facts


def _values(state: dict[str, object]) -> list[object]:
    values = as_list(state.get("value"))
    if values is None:
        raise invalid_filter()
    return values


def _ints(state: dict[str, object]) -> set[int]:
    return {v for v in (to_int(item) for item in _values(state)) if v is not None}


def _range(state: dict[str, object]) -> tuple[float | None, float | None]:
    return to_number(state.get("from")), to_number(state.get("to"))


def _in_range(value: float, bounds: tuple[float | None, float | None]) -> bool:
    low, high = bounds
    return (low is None or value >= low) and (high is None or value <= high)


def _date_range(state: dict[str, object]) -> tuple[date | None, date | None]:
    low, high = to_text(state.get("from")), to_text(state.get("to"))
    return (parse_date(low) if low else None, parse_date(high) if high else None)


def _birthday(bounds: tuple[date | None, date | None]) -> Predicate:
    def check(facts: ClientFacts) -> bool:
        born = parse_date(facts.client.birth_date) if facts.client.birth_date else None
        low, high = bounds
        return born is not None and (low is None or born >= low) and (high is None or born <= high)

    return check


def _optional_ids(raw: dict[str, object], key: str) -> set[int] | None:
    sub = as_object(raw.get(key))
    return _ints(sub) if sub is not None else None


def _record_filter(state: SandboxState, raw: dict[str, object]) -> Predicate:
    staff_ids = _optional_ids(raw, "staff")
    statuses = _optional_ids(raw, "status")
    service_ids = _optional_ids(raw, "service")
    category_ids = _optional_ids(raw, "service_category")
    count_state = as_object(raw.get("records_count"))
    sold_state = as_object(raw.get("sold_amount"))

    def matches(appointment: Appointment) -> bool:
        if staff_ids is not None and appointment.staff_id not in staff_ids:
            return False
        if statuses is not None and appointment.attendance not in statuses:
            return False
        if service_ids is not None and not any(
            line.service_id in service_ids for line in appointment.services
        ):
            return False
        if category_ids is not None:
            categories = {
                s.category_id for line in appointment.services if (s := state.service(line.service_id))
            }
            if not categories & category_ids:
                return False
        return True

    def check(facts: ClientFacts) -> bool:
        matching = [a for a in facts.appointments if matches(a)]
        if sold_state is not None and not _in_range(facts.sold_amount, _range(sold_state)):
            return False
        if count_state is not None:
            return _in_range(len(matching), _range(count_state))
        return bool(matching)

    return check


def build_predicate(state: SandboxState, item: object) -> Predicate | None:
    """One filter as a predicate; None for documented filters the sandbox cannot evaluate."""
    data = as_object(item)
    kind = to_text(data.get("type")) if data is not None else None
    raw = as_object(data.get("state")) if data is not None else None
    if kind is None or raw is None:
        raise invalid_filter()
    if kind in IGNORED_FILTERS:
        return None
    if kind == "id":
        ids = _ints(raw)
        return lambda f: f.client.id in ids
    if kind == "quick_search":
        text = (to_text(raw.get("value")) or "").strip().lower()
        digits = phone_digits(text)
        return lambda f: _quick_match(f.client, text, digits)
    if kind in ("importance", "gender", "category"):
        wanted = _ints(raw)
        if kind == "importance":
            return lambda f: f.client.importance_id in wanted
        if kind == "gender":
            return lambda f: f.client.gender_id in wanted
        return lambda f: bool(wanted.intersection(f.client.labels))
    if kind == "sold_amount":
        bounds = _range(raw)
        return lambda f: _in_range(f.sold_amount, bounds)
    if kind == "birthday":
        return _birthday(_date_range(raw))
    if kind == "client":
        ids_state, birthday_state = as_object(raw.get("id")), as_object(raw.get("birthday"))
        ids = _ints(ids_state) if ids_state is not None else None
        born = _birthday(_date_range(birthday_state)) if birthday_state is not None else None
        return lambda f: (ids is None or f.client.id in ids) and (born is None or born(f))
    if kind == "record":
        return _record_filter(state, raw)
    raise invalid_filter()


def _quick_match(client: Client, text: str, digits: str) -> bool:
    if not text:
        return True
    haystack = f"{client.name} {client.surname} {client.middle_name} {client.email}".lower()
    return text in haystack or (len(digits) >= 3 and digits in phone_digits(client.phone))


def sort_key(order_by: str) -> Callable[[ClientFacts], tuple[int, Json]]:
    """A key that sorts missing values last in ascending order."""

    def key(facts: ClientFacts) -> tuple[int, Json]:
        client = facts.client
        values: dict[str, Json] = {
            "id": client.id,
            "name": f"{client.name} {client.surname}".lower(),
            "phone": client.phone,
            "email": client.email.lower(),
            "discount": client.discount,
            "first_visit_date": facts.first_visit.isoformat() if facts.first_visit else None,
            "last_visit_date": facts.last_visit.isoformat() if facts.last_visit else None,
            "sold_amount": facts.sold_amount,
            "visit_count": facts.visit_count,
        }
        value = values[order_by]
        return (1, "") if value is None else (0, value)

    return key


def projected(state: SandboxState, facts: ClientFacts, fields: list[str]) -> JsonDict:
    """The client with only the requested fields (unknown field names are left out)."""
    full = client_json(state, facts.client)
    # The search's documented example gives the whole name in `name` ("James Smith").
    full["name"] = " ".join(part for part in (facts.client.name, facts.client.surname) if part)
    full["first_visit_date"] = facts.first_visit.isoformat() if facts.first_visit else None
    full["last_visit_date"] = facts.last_visit.isoformat() if facts.last_visit else None
    full["sold_amount"] = number(facts.sold_amount)
    full["visits_count"] = visit_counts(state, facts.client.id)[0]
    return {name: full[name] for name in fields if name in full}
