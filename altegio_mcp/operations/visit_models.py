"""A visit as Altegio sends it and as tools return it: wire models, reads and conversions.

A visit groups one client's appointments (legacy: records) of a day. `GET /visits/{id}` gives its
status, comment and appointments; `GET /visit/details/...` its payments, items and fiscal receipt
(KKM) state. `fetch_visit` and `to_visit` read the first, `fetch_details`, `to_payment`, `totals`
and `fiscal_words` the second; `visits.py` builds its tools on them.
"""

from __future__ import annotations

from typing import Any, cast
from zoneinfo import ZoneInfo

from pydantic import Field, JsonValue, TypeAdapter, field_validator

from altegio_mcp.errors import Target
from altegio_mcp.operations.base import (
    OpContext,
    Out,
    UserText,
    Wire,
    WireTitled,
    as_list,
    empty_is_none,
    number_as_text,
)
from altegio_mcp.operations.records import (
    ATTENDANCE_NAMES,
    Appointment,
    AttendanceName,
    WireAppointment,
    to_appointment,
)
from altegio_mcp.operations.support import local_iso

# Statuses of POS (KKM) operations and their types, as the Get Visit Details page lists them.
KKM_STATUS = {
    0: "failed: no connection to the POS",
    1: "printed",
    2: "sent to the POS, not printed yet",
    3: "failed: POS error",
    4: "failed: POS status check",
    5: "waiting for the POS to be ready",
}
KKM_TYPE = {0: "sales receipt", 1: "sale return receipt", 2: "correction", 12: "correction"}


def visit_target(visit_id: int) -> Target:
    return Target("visit", str(visit_id), None, "get_appointment")


def _numbers_as_text(record: object) -> object:
    """The documented visit example sends `api_id` and the client's phone as numbers."""
    if not isinstance(record, dict):
        return record
    data = dict(cast(dict[str, Any], record))
    if "api_id" in data:
        data["api_id"] = number_as_text(data["api_id"])
    client = data.get("client")
    if isinstance(client, dict):
        person = dict(cast(dict[str, Any], client))
        for key in ("phone", "email", "name"):
            if key in person:
                person[key] = number_as_text(person[key])
        data["client"] = person
    return data


# --- wire models -----------------------------------------------------------------------------------


class WireVisit(Wire):
    attendance: int | None = None
    datetime: str | None = None
    comment: str | int | None = None  # documented as an integer (example: 0), text in practice
    records: list[WireAppointment] = Field(default_factory=list[WireAppointment])

    @field_validator("records", mode="before")
    @classmethod
    def _records(cls, value: object) -> object:
        return [_numbers_as_text(item) for item in as_list(value)]


class WirePayment(Wire):
    id: int
    date: str | None = None
    type_id: int | None = None
    account_id: int | None = None
    amount: float | None = None
    record_id: int | None = None
    expense: WireTitled | None = None
    account: WireTitled | None = None

    @field_validator("expense", "account", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return empty_is_none(value)


class WireKkmTransaction(Wire):
    id: int | None = None
    print_date: str | None = None
    printed_count: int | None = None
    sum: float | None = None
    type: WireTitled | None = None
    status: WireTitled | None = None

    @field_validator("type", "status", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return empty_is_none(value)


class WireKkm(Wire):
    last_operation_type: int | None = None
    transactions: list[WireKkmTransaction] = Field(default_factory=list[WireKkmTransaction])


class WireItem(Wire):
    item_title: str | None = None
    amount: float | None = None
    cost: float | None = None
    record_id: int | None = None


class WireLoyalty(Wire):
    id: int | None = None
    amount: float | None = None
    is_discount: bool | None = None
    is_loyalty_withdraw: bool | None = None
    type: WireTitled | None = None

    @field_validator("type", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return empty_is_none(value)


class WireVisitDetails(Wire):
    payment_transactions: list[WirePayment] = Field(default_factory=list[WirePayment])
    loyalty_transactions: list[WireLoyalty] = Field(default_factory=list[WireLoyalty])
    kkm_transaction_details_container: WireKkm | None = None
    items: list[WireItem] = Field(default_factory=list[WireItem])

    @field_validator("payment_transactions", "loyalty_transactions", "items", mode="before")
    @classmethod
    def _none_is_empty(cls, value: object) -> object:
        return value or []

    @field_validator("kkm_transaction_details_container", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return empty_is_none(value)


VISIT = TypeAdapter(WireVisit)
DETAILS = TypeAdapter(WireVisitDetails)


# --- results ---------------------------------------------------------------------------------------


class VisitInfo(Out):
    id: int
    location_id: int | None = None
    status: AttendanceName = Field(description="waiting, confirmed, arrived (done) or no-show.")
    start: str | None = Field(default=None, description="ISO 8601 with offset.")
    comment: UserText = Field(default=None, description="Visit comment. User-provided text.")
    appointments: list[Appointment]
    details: dict[str, JsonValue] | None = Field(default=None, description="Raw fields (detail=true).")


class Payment(Out):
    id: int
    date: str | None = Field(default=None, description="ISO 8601 with offset.")
    amount: float | None = None
    account_id: int | None = None
    account: str | None = Field(default=None, description="Account (cash desk) title.")
    type: str | None = Field(default=None, description="Payment item, e.g. Provision of services.")
    appointment_id: int | None = None


def money(value: float | None) -> str:
    """An amount with two decimals, `?` when Altegio did not say."""
    return "?" if value is None else f"{value:.2f}"


# --- reads and conversions -------------------------------------------------------------------------


async def fetch_visit(ctx: OpContext, visit_id: int) -> WireVisit:
    res = await ctx.call("GET", f"/visits/{visit_id}", VISIT, target=visit_target(visit_id))
    if ctx.caller.locations is not None:
        # A visit is addressed without its location: check the one it belongs to before use.
        found = {r.company_id for r in res.data.records if r.company_id}
        for location_id in sorted(found) or [0]:
            ctx.check_location(location_id)
    return res.data


def _visit_location(ctx: OpContext, wire: WireVisit) -> int | None:
    return next((r.company_id for r in wire.records if r.company_id), None) or ctx.default_location_id


async def _zone_of(ctx: OpContext, location_id: int | None) -> ZoneInfo:
    return await ctx.zone(location_id) if location_id else ZoneInfo("UTC")


def _comment_text(value: str | int | None) -> str | None:
    return value if isinstance(value, str) and value else None


async def to_visit(ctx: OpContext, visit_id: int, wire: WireVisit, *, detail: bool = False) -> VisitInfo:
    loc = _visit_location(ctx, wire)
    tz = await _zone_of(ctx, loc)
    appointments: list[Appointment] = []
    for record in wire.records:
        record_tz = await _zone_of(ctx, record.company_id) if record.company_id else tz
        appointments.append(to_appointment(record, record_tz, detail=detail))
    code = wire.attendance
    if code is None and wire.records:
        code = wire.records[0].attendance_code
    raw: dict[str, JsonValue] | None = None
    if detail:
        raw = cast(dict[str, JsonValue], wire.model_dump(mode="json", exclude={"records"}, exclude_none=True))
    return VisitInfo(
        id=visit_id,
        location_id=loc,
        status=ATTENDANCE_NAMES.get(code, "unknown") if code is not None else "unknown",
        start=local_iso(wire.datetime, tz),
        comment=_comment_text(wire.comment),
        appointments=appointments,
        details=raw,
    )


async def fetch_details(ctx: OpContext, loc: int, appointment_id: int, visit_id: int) -> WireVisitDetails:
    res = await ctx.call(
        "GET",
        f"/visit/details/{loc}/{appointment_id}/{visit_id}",
        DETAILS,
        target=Target("visit", f"{visit_id} with appointment {appointment_id}", loc, "get_appointment"),
    )
    return res.data


def fiscal_words(kkm: WireKkm | None) -> str:
    if kkm is None or not kkm.transactions:
        return "no fiscal receipt printed for this visit"
    parts: list[str] = []
    for t in kkm.transactions:
        kind = (t.type.title if t.type and t.type.title else None) or KKM_TYPE.get(
            t.type.id if t.type and t.type.id is not None else -1, "fiscal operation"
        )
        status_id = t.status.id if t.status and t.status.id is not None else -1
        state = KKM_STATUS.get(status_id, t.status.title if t.status and t.status.title else "status unknown")
        when = f" on {t.print_date[:10]}" if t.print_date else ""
        parts.append(f"#{t.id} {kind} {money(t.sum)}: {state}{when}")
    last = {0: "last operation: return receipt", 1: "last operation: sales receipt"}.get(
        kkm.last_operation_type if kkm.last_operation_type is not None else -1
    )
    return "; ".join(parts + ([last] if last else []))


def loyalty_paid(details: WireVisitDetails) -> float:
    """Paid through loyalty (card balance, certificate, membership): its withdrawals. A loyalty
    discount is already taken off the items' final prices, and an accrual (cashback) pays nothing."""
    paid = (
        t.amount or 0.0 for t in details.loyalty_transactions if t.is_loyalty_withdraw and not t.is_discount
    )
    return round(sum(paid), 2)


def totals(details: WireVisitDetails) -> tuple[float, float | None, float | None]:
    """(paid, due, remaining): paid counts the payments and the loyalty payments."""
    paid = round(sum(p.amount or 0.0 for p in details.payment_transactions) + loyalty_paid(details), 2)
    costs = [item.cost for item in details.items if item.cost is not None]
    due = round(sum(costs), 2) if costs else None
    return paid, due, (round(due - paid, 2) if due is not None else None)


def to_payment(p: WirePayment, tz: ZoneInfo) -> Payment:
    return Payment(
        id=p.id,
        date=local_iso(p.date, tz),
        amount=p.amount,
        account_id=p.account_id or (p.account.id if p.account else None),
        account=p.account.title if p.account else None,
        type=(p.expense.title if p.expense else None)
        or (f"type {p.type_id}" if p.type_id is not None else None),
        appointment_id=p.record_id or None,
    )
