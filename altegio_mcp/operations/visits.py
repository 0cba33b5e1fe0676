"""Visits: read a visit and its payments, record its outcome (status, payments), fetch its receipt PDF.

A visit groups one client's appointments (legacy: records) of a day; its wire models, reads and
conversions are in `visit_models.py`. `update_visit` writes `PUT /visits/{visit_id}/{record_id}`,
which requires `attendance` and `comment` every time, so it reads the visit first and resends the
current values for what the caller left out. Payments, fast payment and a no-show move money or
count against the client, so only those edits wait for the person's confirmation; a comment or a
confirmed/arrived status goes straight through.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, JsonValue, WithJsonSchema

from altegio_mcp.errors import AltegioError, InvalidArgument, MalformedResponse
from altegio_mcp.operations.base import (
    RAW_JSON,
    AppointmentId,
    Args,
    Attachment,
    Confirmation,
    Detail,
    LocationId,
    OpContext,
    Operation,
    Result,
    Verdict,
    VisitId,
    wire_fields,
)
from altegio_mcp.operations.record_body import NO_DEFAULT
from altegio_mcp.operations.records import ATTENDANCE_CODES, WireAppointment, describe
from altegio_mcp.operations.visit_models import (
    Payment,
    VisitInfo,
    WireVisit,
    fetch_details,
    fetch_visit,
    fiscal_words,
    loyalty_paid,
    money,
    to_payment,
    to_visit,
    totals,
    visit_target,
)
from altegio_mcp.text import one_line
from altegio_mcp.timeutil import span

TOOLSET = "visits"
ANY = RAW_JSON

StatusName = Literal["waiting", "confirmed", "arrived", "no-show"]
FastPayment = Literal["cash", "card", "cash_with_receipt", "card_with_receipt"]
FAST_PAYMENT_CODES: dict[str, int] = {
    "cash": 1,
    "card": 2,
    "cash_with_receipt": 129,
    "card_with_receipt": 130,
}
FAST_PAYMENT_WORDS: dict[str, str] = {
    "cash": "in cash",
    "card": "by card",
    "cash_with_receipt": "in cash and print a fiscal receipt",
    "card_with_receipt": "by card and print a fiscal receipt",
}


# --- results ---------------------------------------------------------------------------------------


class VisitResult(Result):
    visit: VisitInfo


class UpdatedVisit(Result):
    visit: VisitInfo
    changed: list[str] = Field(description="What this call changed.")
    paid: float | None = Field(default=None, description="Sum of the payments after this call.")
    due: float | None = Field(default=None, description="Sum of the items' final prices, when listed.")
    remaining: float | None = Field(default=None, description="due - paid; negative = overpaid.")


class VisitDetails(Result):
    visit_id: int
    appointment_id: int
    location_id: int
    payments: list[Payment]
    paid: float = Field(description="Payments plus loyalty payments.")
    loyalty_paid: float | None = Field(default=None, description="Of which by loyalty card/certificate.")
    due: float | None = Field(default=None, description="Sum of the items' final prices, when listed.")
    remaining: float | None = Field(default=None, description="due - paid; negative = overpaid.")
    fiscal: str = Field(description="Fiscal receipt (KKM) state in words.")
    details: dict[str, JsonValue] | None = Field(default=None, description="Raw answer (detail=true).")


class Receipt(Result):
    visit_id: int
    content_type: str
    size_bytes: int
    uri: str = Field(description="Resource URI of the attached PDF.")


def _visit_head(v: VisitInfo) -> str:
    when = span(v.start, None) if v.start else "time unknown"
    head = f"Visit {v.id} · {when} · {v.status}"
    if v.comment:
        head += f" · comment: {one_line(v.comment, 80)}"
    return head


def render_visit(out: VisitResult) -> str:
    lines = [_visit_head(out.visit)] + [f"  {describe(a)}" for a in out.visit.appointments]
    return "\n".join(lines + out.notes)


def render_updated(out: UpdatedVisit) -> str:
    changed = ", ".join(out.changed) or "nothing"
    lines = [f"Updated ({changed}). {_visit_head(out.visit)}"]
    lines += [f"  {describe(a)}" for a in out.visit.appointments]
    if out.paid is not None:
        due = f" of {money(out.due)} due, remaining {money(out.remaining)}" if out.due is not None else ""
        lines.append(f"Paid {money(out.paid)}{due}.")
    return "\n".join(lines + out.notes)


def _payment_line(p: Payment) -> str:
    account = p.account or (f"account {p.account_id}" if p.account_id else "account ?")
    when = p.date[:16].replace("T", " ") if p.date else "date ?"
    return f"#{p.id} {money(p.amount)} · {account} (id {p.account_id}) · {when} · {p.type or 'payment'}"


def render_details(out: VisitDetails) -> str:
    lines = [f"Visit {out.visit_id} (appointment {out.appointment_id}): paid {money(out.paid)}"]
    if out.loyalty_paid:
        lines[0] += f" (loyalty {money(out.loyalty_paid)})"
    if out.due is not None:
        lines[0] += f" of {money(out.due)} due, remaining {money(out.remaining)}"
    lines += [f"  {_payment_line(p)}" for p in out.payments] or ["  No payments."]
    lines.append(f"Fiscal: {out.fiscal}")
    return "\n".join(lines + out.notes)


def render_receipt(out: Receipt) -> str:
    lines = [f"Receipt PDF for visit {out.visit_id}: {out.size_bytes} bytes, attached as {out.uri}."]
    return "\n".join(lines + out.notes)


# --- get_visit ------------------------------------------------------------------------------------


class GetVisitArgs(Args):
    visit_id: VisitId
    detail: Detail


async def get_visit(ctx: OpContext, a: GetVisitArgs) -> VisitResult:
    wire = await fetch_visit(ctx, a.visit_id)
    return VisitResult(visit=await to_visit(ctx, a.visit_id, wire, detail=a.detail))


# --- get_visit_details ------------------------------------------------------------------------------


class GetVisitDetailsArgs(Args):
    location_id: LocationId
    appointment_id: AppointmentId
    visit_id: VisitId
    detail: Detail


async def get_visit_details(ctx: OpContext, a: GetVisitDetailsArgs) -> VisitDetails:
    loc = ctx.location_id(a.location_id)
    tz = await ctx.zone(loc)
    details = await fetch_details(ctx, loc, a.appointment_id, a.visit_id)
    paid, due, remaining = totals(details)
    raw: dict[str, JsonValue] | None = None
    if a.detail:
        raw = wire_fields(details)
    return VisitDetails(
        visit_id=a.visit_id,
        appointment_id=a.appointment_id,
        location_id=loc,
        payments=[to_payment(p, tz) for p in details.payment_transactions],
        paid=paid,
        loyalty_paid=loyalty_paid(details) or None,
        due=due,
        remaining=remaining,
        fiscal=fiscal_words(details.kkm_transaction_details_container),
        details=raw,
    )


# --- update_visit (conditionally destructive) ------------------------------------------------------------


MAX_AMOUNT = 10_000_000  # a finite bound: Infinity or 1e308 would put invalid JSON on the wire


class NewPayment(Args):
    account_id: int = Field(ge=1, description="Cash desk id; see get_visit_details.")
    amount: float = Field(gt=0, le=MAX_AMOUNT, allow_inf_nan=False, description="In the location's currency.")


class CheckoutPrice(Args):
    # A service line of the visit with its checkout price.
    id: int = Field(ge=1)
    appointment_id: int | None = Field(default=None, ge=1)
    cost: float | None = Field(default=None, ge=0)
    first_cost: float | None = Field(default=None, ge=0)
    discount: float | None = Field(default=None, ge=0, le=100)


class GoodSale(Args):
    # A product sold at checkout (a goods transaction).
    good_id: int = Field(ge=1)
    storage_id: int = Field(ge=1)
    amount: float = Field(gt=0, le=1000)
    price: float = Field(ge=0)
    discount: float = Field(default=0, ge=0, le=100)
    team_member_id: int = Field(ge=1)


class UpdateVisitArgs(Args):
    visit_id: VisitId
    appointment_id: AppointmentId = Field(description="One of the visit's appointments.")
    status: StatusName | None = Field(default=None, description="New status.")
    comment: str | None = Field(default=None, max_length=1000, description="New comment; '' clears it.")
    new_payments: list[NewPayment] | None = Field(
        default=None, max_length=10, description="Payments to add (moves money)."
    )
    delete_payment_ids: list[Annotated[int, Field(ge=1)]] | None = Field(
        default=None, max_length=20, description="Payment ids to delete; see get_visit_details."
    )
    fast_payment: FastPayment | None = Field(
        default=None,
        description="Pay all that remains; *_with_receipt also prints a fiscal receipt.",
    )
    # The models validate in full; the schema the model reads is their one-line summary.
    prices: Annotated[
        list[CheckoutPrice] | None,
        Field(max_length=20),
        NO_DEFAULT,
        WithJsonSchema(
            {
                "type": "array",
                "description": "Service prices: [{id, cost, discount %}].",
            }
        ),
    ] = None
    goods: Annotated[
        list[GoodSale] | None,
        Field(max_length=20),
        NO_DEFAULT,
        WithJsonSchema(
            {
                "type": "array",
                "description": "Products sold: [{good_id, storage_id, amount, price, team_member_id}].",
            }
        ),
    ] = None


def _new_payments(a: UpdateVisitArgs) -> list[NewPayment]:
    # The confirmation gate builds the arguments without validation, so entries may still be dicts.
    return [NewPayment.model_validate(p) for p in a.new_payments or []]


def _moves_money_or_no_show(_ctx: OpContext, a: UpdateVisitArgs) -> bool:
    return (
        bool(a.new_payments)
        or bool(a.delete_payment_ids)
        or a.fast_payment is not None
        or a.status == "no-show"
        or bool(a.prices)
        or bool(a.goods)
    )


def _changes(a: UpdateVisitArgs) -> list[str]:
    names = ["status", "comment", "new_payments", "delete_payment_ids", "fast_payment", "prices", "goods"]
    return [n for n in names if getattr(a, n) not in (None, [])]


def _record_of(wire: WireVisit, a: UpdateVisitArgs) -> WireAppointment:
    record = next((r for r in wire.records if r.id == a.appointment_id), None)
    if record is None:
        ids = ", ".join(str(r.id) for r in wire.records) or "none"
        raise InvalidArgument(
            "appointment_id",
            f"appointment {a.appointment_id} is not part of visit {a.visit_id} (its appointments: {ids}); "
            "call get_visit to see them",
        )
    return record


def checkout_services(wire: WireVisit, prices: list[CheckoutPrice]) -> list[JsonValue]:
    """Every service line of the visit (so none is lost), with the prices the call names changed."""
    lines: list[JsonValue] = []
    used: set[int] = set()
    for record in wire.records:
        for service in record.services:
            line: dict[str, JsonValue] = {
                "id": service.id,
                "title": service.title,
                "cost": service.cost,
                "cost_per_unit": service.first_cost if service.first_cost is not None else service.cost,
                "discount": service.discount if service.discount is not None else 0,
                "first_cost": service.first_cost if service.first_cost is not None else service.cost,
                "record_id": record.id,
            }
            for index, price in enumerate(prices):
                if price.id == service.id and price.appointment_id in (None, record.id):
                    used.add(index)
                    given = price.model_dump(exclude_none=True, exclude={"id", "appointment_id"})
                    line.update(given)
                    if "first_cost" in given:
                        line["cost_per_unit"] = given["first_cost"]
                    first, discount = line.get("first_cost"), line.get("discount")
                    if (
                        "cost" not in given
                        and isinstance(first, int | float)
                        and isinstance(discount, int | float)
                    ):
                        line["cost"] = round(first * (100 - discount) / 100, 2)
            lines.append({k: v for k, v in line.items() if v is not None})
    unknown = [p.id for i, p in enumerate(prices) if i not in used]
    if unknown:
        raise InvalidArgument(
            "prices", f"service {unknown[0]} is not in this visit: call get_visit to see its services"
        )
    return lines


def _good_line(good: GoodSale) -> dict[str, JsonValue]:
    """A product sale as a goods transaction: stock goes down (negative amount), type 1 = sale."""
    cost = round(good.price * good.amount * (100 - good.discount) / 100, 2)
    return {
        "good_id": good.good_id,
        "storage_id": good.storage_id,
        "amount": -good.amount,
        "cost_per_unit": good.price,
        "price": good.price,
        "cost": cost,
        "discount": good.discount,
        "operation_unit_type": 1,
        "master_id": good.team_member_id,
    }


async def preview_update(ctx: OpContext, a: UpdateVisitArgs) -> str:
    wire = await fetch_visit(ctx, a.visit_id)
    record = _record_of(wire, a)
    visit = await to_visit(ctx, a.visit_id, wire)
    loc = record.company_id or visit.location_id
    paid = due = remaining = None
    payments: dict[int, Payment] = {}
    if loc:
        tz = await ctx.zone(loc)
        details = await fetch_details(ctx, loc, a.appointment_id, a.visit_id)
        paid, due, remaining = totals(details)
        payments = {p.id: to_payment(p, tz) for p in details.payment_transactions}
    client = next((ap.client for ap in visit.appointments if ap.client), None)
    services = [
        f"{s.title or f'service {s.id}'} {money(s.cost)}" for ap in visit.appointments for s in ap.services
    ]
    who = one_line(client.name, 40) if client and client.name else "client unknown"
    when = span(visit.start, None) if visit.start else "time unknown"
    lines = [f"Update visit {a.visit_id}: {who} · {when} · {', '.join(services) or 'no services'}."]
    if paid is not None:
        lines.append(f"Paid so far {money(paid)}" + (f" of {money(due)} due." if due is not None else "."))
    for p in _new_payments(a):
        lines.append(f"- add payment {p.amount:.2f} to account {p.account_id}")
    for pid in a.delete_payment_ids or []:
        old = payments.get(pid)
        what = (
            f"{money(old.amount)}, {old.date[:10]}" if old and old.date else "not among this visit's payments"
        )
        lines.append(f"- delete payment #{pid} ({what})")
    if a.fast_payment is not None:
        amount = f"remaining {remaining:.2f}" if remaining is not None else "remaining balance"
        lines.append(f"- pay the {amount} {FAST_PAYMENT_WORDS[a.fast_payment]}")
    if a.status == "no-show":
        lines.append("- mark as no-show")
    elif a.status is not None:
        lines.append(f"- set status to {a.status} (now {visit.status})")
    if a.comment is not None:
        lines.append(f'- set the comment to "{one_line(a.comment, 80)}"')
    for price in [CheckoutPrice.model_validate(p) for p in a.prices or []]:
        lines.append(f"- set service {price.id}'s checkout price: {price.model_dump(exclude_none=True)}")
    for good in [GoodSale.model_validate(g) for g in a.goods or []]:
        lines.append(
            f"- sell {good.amount:g} of product {good.good_id} at {good.price:.2f} (-{good.discount:g}%)"
        )
    return "\n".join(lines)


async def update_visit(ctx: OpContext, a: UpdateVisitArgs) -> UpdatedVisit:
    changed = _changes(a)
    if not changed:
        raise InvalidArgument(
            "status",
            "nothing to change: pass at least one of status, comment, new_payments, delete_payment_ids, "
            "fast_payment, prices, goods",
        )
    wire = await fetch_visit(ctx, a.visit_id)
    record = _record_of(wire, a)
    current = wire.attendance if wire.attendance is not None else record.attendance_code
    body: dict[str, JsonValue] = {
        "attendance": ATTENDANCE_CODES[a.status] if a.status else (current if current is not None else 0),
        # The API demands a comment on every edit: keep the visit's own (or the appointment's) when omitted.
        "comment": a.comment
        if a.comment is not None
        else (wire.comment if isinstance(wire.comment, str) else (record.comment or "")),
    }
    payments = _new_payments(a)
    if payments:
        body["new_transactions"] = [{"account_id": p.account_id, "amount": p.amount} for p in payments]
    if a.delete_payment_ids:
        body["deleted_transaction_ids"] = list(a.delete_payment_ids)
    if a.fast_payment is not None:
        body["fast_payment"] = FAST_PAYMENT_CODES[a.fast_payment]
    if a.prices:
        body["services"] = checkout_services(wire, [CheckoutPrice.model_validate(p) for p in a.prices])
    if a.goods:
        body["goods_transactions"] = [_good_line(GoodSale.model_validate(g)) for g in a.goods]
    loc = record.company_id or ctx.default_location_id
    moves_money = bool(payments or a.delete_payment_ids or a.fast_payment is not None)
    before = await fetch_details(ctx, loc, a.appointment_id, a.visit_id) if moves_money and loc else None

    async def verify() -> Verdict:
        """Which of the asked changes the visit shows now: all (done), none (not done), or some."""
        after = await fetch_visit(ctx, a.visit_id)
        checks: list[bool] = []
        if a.status is not None:
            checks.append(after.attendance == ATTENDANCE_CODES[a.status])
        if a.comment is not None:
            checks.append((after.comment if isinstance(after.comment, str) else "") == a.comment)
        if before is not None and loc:
            now = await fetch_details(ctx, loc, a.appointment_id, a.visit_id)
            old_ids = {p.id for p in before.payment_transactions}
            added = [round(p.amount or 0.0, 2) for p in now.payment_transactions if p.id not in old_ids]
            if payments:
                checks.append(_contains(added, [round(p.amount, 2) for p in payments]))
            if a.delete_payment_ids:
                gone = {p.id for p in now.payment_transactions}.isdisjoint(a.delete_payment_ids)
                checks.append(gone)
            if a.fast_payment is not None:
                checks.append(totals(now)[2] == 0)
        how = f"get_visit_details(appointment_id={a.appointment_id}, visit_id={a.visit_id})"
        if checks and all(checks):
            return Verdict(done=True, how=f"{how} shows every change")
        if checks and not any(checks):
            return Verdict(done=False, how=f"{how} shows none of the changes")
        return Verdict(done=None, how=how)

    await ctx.write(
        "PUT",
        f"/visits/{a.visit_id}/{a.appointment_id}",
        ANY,
        json_body=body,
        target=visit_target(a.visit_id),
        verify=verify,
        check=f"get_visit_details(appointment_id={a.appointment_id}, visit_id={a.visit_id})",
    )
    # The PUT's answer has no documented body: read the visit again to show what it is now.
    fresh = await fetch_visit(ctx, a.visit_id)
    visit = await to_visit(ctx, a.visit_id, fresh)
    out = UpdatedVisit(visit=visit, changed=changed)
    loc = record.company_id or visit.location_id
    if loc:  # what is paid and what remains, after this call
        try:
            out.paid, out.due, out.remaining = totals(
                await fetch_details(ctx, loc, a.appointment_id, a.visit_id)
            )
        except AltegioError:  # the change is made; only the totals could not be read
            out.notes.append("Paid and remaining could not be read now: get_visit_details shows them.")
    return out


def _contains(added: list[float], wanted: list[float]) -> bool:
    """Whether every wanted amount is among the added ones (as a multiset)."""
    pool = list(added)
    for amount in wanted:
        if amount not in pool:
            return False
        pool.remove(amount)
    return True


# --- get_visit_receipt ------------------------------------------------------------------------------


class GetVisitReceiptArgs(Args):
    visit_id: VisitId


async def get_visit_receipt(ctx: OpContext, a: GetVisitReceiptArgs) -> Receipt:
    if ctx.caller.locations is not None:
        await fetch_visit(ctx, a.visit_id)  # refuses a visit outside the caller's locations
    path = f"/attendance/receipt_print/{a.visit_id}"
    res = await ctx.client.request_bytes("GET", path, auth=ctx.caller.auth, target=visit_target(a.visit_id))
    if not res.content.startswith(b"%PDF-"):
        raise MalformedResponse("Altegio's receipt is labelled a PDF but is not one", method="GET", path=path)
    uri = f"altegio://visits/{a.visit_id}/receipt.pdf"
    out = Receipt(visit_id=a.visit_id, content_type=res.content_type, size_bytes=len(res.content), uri=uri)
    out.attach(Attachment(uri, "application/pdf", res.content))
    return out


# --- declarations ----------------------------------------------------------------------------------

OPERATIONS = (
    Operation(
        name="get_visit",
        title="Get a visit",
        description="Get a visit: status, start, comment and its appointments (legacy: records).",
        method="GET",
        path="/visits/{visit_id}",
        input_model=GetVisitArgs,
        output_model=VisitResult,
        toolset=TOOLSET,
        kind="read",
        handler=get_visit,
        render=render_visit,
        target=lambda a: visit_target(a.visit_id),
    ),
    Operation(
        name="get_visit_details",
        title="Get a visit's payments",
        description="A visit's payments, paid vs due, and fiscal receipt (KKM) state.",
        method="GET",
        path="/visit/details/{location_id}/{record_id}/{visit_id}",
        input_model=GetVisitDetailsArgs,
        output_model=VisitDetails,
        toolset=TOOLSET,
        kind="read",
        handler=get_visit_details,
        render=render_details,
        target=lambda a: visit_target(a.visit_id),
    ),
    Operation(
        name="update_visit",
        title="Record a visit's outcome",
        description="Record a visit's outcome (legacy: attendance): status, comment, payments. Payments and no-shows are confirmed first.",
        method="PUT",
        path="/visits/{visit_id}/{record_id}",
        input_model=UpdateVisitArgs,
        output_model=UpdatedVisit,
        toolset=TOOLSET,
        kind="destructive",
        handler=update_visit,
        render=render_updated,
        confirmation=Confirmation(preview=preview_update, applies=_moves_money_or_no_show),
        idempotent=False,
        resend_safe=False,  # appends payments: a re-send would charge twice
        target=lambda a: visit_target(a.visit_id),
    ),
    Operation(
        name="get_visit_receipt",
        title="Get a visit's receipt PDF",
        description="Get a visit's receipt as a PDF (an application/pdf resource).",
        method="GET",
        path="/attendance/receipt_print/{visit_id}",
        input_model=GetVisitReceiptArgs,
        output_model=Receipt,
        toolset=TOOLSET,
        kind="read",
        handler=get_visit_receipt,
        render=render_receipt,
        target=lambda a: visit_target(a.visit_id),
    ),
)

__all__ = ["OPERATIONS", "WireVisit", "fetch_visit"]
