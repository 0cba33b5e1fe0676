"""Visit rules: grouping a client's appointments of a day, payments, and the Edit Visit operation."""

from __future__ import annotations

from altegio_mcp.sandbox.jsontypes import as_list, as_object, to_int, to_number, to_text
from altegio_mcp.sandbox.models import Appointment, KkmTransaction, PaymentTransaction, ServiceLine, Visit
from altegio_mcp.sandbox.protocol import ApiError, FieldErrors
from altegio_mcp.sandbox.state import SandboxState

DOCUMENT_ID_OFFSET = 130000
ATTENDANCE_VALUES = (-1, 0, 1, 2)
FAST_PAYMENT_CASH = (1, 129)
FAST_PAYMENT_CARD = (2, 130)
FAST_PAYMENT_PRINT = (129, 130)


def attach_to_visit(state: SandboxState, appointment: Appointment) -> Visit:
    """Put the appointment in its client's visit of that day at that location, creating it if needed."""
    day = appointment.start.date()
    if appointment.client_id is not None:
        existing = state.visit_index.get((appointment.location_id, appointment.client_id, day))
        if existing is not None:
            appointment.visit_id = existing
            return state.visits_by_id[existing]
    visit_id = state.next_id("visit")
    visit = Visit(
        id=visit_id,
        location_id=appointment.location_id,
        client_id=appointment.client_id,
        day=day,
        attendance=appointment.attendance,
        document_id=visit_id + DOCUMENT_ID_OFFSET,
    )
    state.visits_by_id[visit.id] = visit
    if appointment.client_id is not None:
        state.visit_index[(appointment.location_id, appointment.client_id, day)] = visit.id
    appointment.visit_id = visit.id
    return visit


def relink_visit(state: SandboxState, appointment: Appointment) -> None:
    """After a change of client or day, move the appointment to the matching visit."""
    current = state.visit(appointment.visit_id)
    if (
        current is not None
        and current.client_id == appointment.client_id
        and current.day == appointment.start.date()
    ):
        return
    attach_to_visit(state, appointment)
    if current is not None and not state.appointments_of_visit(current.id) and not current.payments:
        del state.visits_by_id[current.id]
        if current.client_id is not None:
            state.visit_index.pop((current.location_id, current.client_id, current.day), None)


def visit_total(state: SandboxState, visit: Visit) -> float:
    return sum(line.cost * line.amount for a in state.appointments_of_visit(visit.id) for line in a.services)


def visit_paid(visit: Visit) -> float:
    return sum(payment.amount for payment in visit.payments)


def payment_status(total: float, paid: float) -> str:
    if paid <= 0:
        return "not_paid" if total > 0 else "paid_full"
    if paid < total:
        return "paid_not_full"
    return "paid_full" if paid == total else "paid_over"


def appointment_paid(state: SandboxState, appointment: Appointment) -> float:
    visit = state.visit(appointment.visit_id)
    if visit is None:
        return 0.0
    return sum(p.amount for p in visit.payments if p.record_id == appointment.id)


def appointment_cost(appointment: Appointment) -> float:
    return sum(line.cost * line.amount for line in appointment.services)


def add_payment(
    state: SandboxState, visit: Visit, record_id: int, account_id: int, amount: float, comment: str = ""
) -> PaymentTransaction:
    location = state.locations_by_id[visit.location_id]
    payment = PaymentTransaction(
        id=state.next_id("payment"),
        visit_id=visit.id,
        record_id=record_id,
        account_id=account_id,
        amount=amount,
        date=state.now().astimezone(location.tz),
        comment=comment,
    )
    visit.payments.append(payment)
    return payment


def edit_visit(state: SandboxState, visit: Visit, record: Appointment, body: dict[str, object]) -> None:
    """Apply `PUT /visits/{visit_id}/{record_id}`: status, comment, payments and service lines."""
    errors = FieldErrors()
    attendance = to_int(body.get("attendance"))
    if attendance is None or attendance not in ATTENDANCE_VALUES:
        errors.add("attendance", "attendance is required: one of -1, 0, 1, 2.")
    comment = to_text(body.get("comment"))
    if comment is None:
        errors.add("comment", "comment is required (send an empty string for none).")
    if attendance is None or comment is None or errors.items:
        raise ApiError.validation(errors.items)

    location = state.locations_by_id[visit.location_id]
    _edit_services(state, visit, body.get("services"))
    deleted = {to_int(item) for item in as_list(body.get("deleted_transaction_ids")) or []}
    visit.payments = [p for p in visit.payments if p.id not in deleted]
    for item in as_list(body.get("new_transactions")) or []:
        transaction = as_object(item)
        amount = to_number(transaction.get("amount")) if transaction is not None else None
        if transaction is None or amount is None or amount <= 0:
            raise ApiError.invalid("new_transactions", "Each new transaction needs a positive amount.")
        account_id = to_int(transaction.get("account_id")) or location.cash_account_id
        if account_id not in (location.cash_account_id, location.card_account_id):
            raise ApiError.invalid(
                "new_transactions", f"Account {account_id} does not belong to this location."
            )
        add_payment(state, visit, record.id, account_id, amount)

    fast_payment = to_int(body.get("fast_payment"))
    if fast_payment is not None and fast_payment != 0:
        if fast_payment not in FAST_PAYMENT_CASH + FAST_PAYMENT_CARD:
            raise ApiError.invalid("fast_payment", "fast_payment must be one of 1, 2, 129, 130.")
        remaining = round(visit_total(state, visit) - visit_paid(visit), 2)
        if remaining > 0:
            account_id = (
                location.cash_account_id if fast_payment in FAST_PAYMENT_CASH else location.card_account_id
            )
            add_payment(state, visit, record.id, account_id, remaining)
        if fast_payment in FAST_PAYMENT_PRINT:
            visit.kkm.append(
                KkmTransaction(
                    id=state.next_id("kkm"), date=state.now().astimezone(location.tz), sum=visit_paid(visit)
                )
            )

    visit.attendance = attendance
    visit.comment = comment
    now = state.now().astimezone(location.tz)
    for appointment in state.appointments_of_visit(visit.id):
        appointment.attendance = attendance
        appointment.last_change_date = now


def _edit_services(state: SandboxState, visit: Visit, raw: object) -> None:
    for item in as_list(raw) or []:
        line_data = as_object(item)
        service_id = to_int(line_data.get("id")) if line_data is not None else None
        if line_data is None or service_id is None:
            raise ApiError.invalid("services", "Each service needs an id.")
        record_id = to_int(line_data.get("record_id"))
        targets = [a for a in state.appointments_of_visit(visit.id) if record_id is None or a.id == record_id]
        if not targets:
            raise ApiError.invalid("services", f"Appointment {record_id} is not part of visit {visit.id}.")
        service = state.service(service_id)
        if service is None or service.location_id != visit.location_id:
            raise ApiError.invalid("services", f"Service {service_id} does not exist at this location.")
        target = targets[0]
        line = next((s for s in target.services if s.service_id == service_id), None)
        if line is None:
            line = ServiceLine(service_id, service.title, service.price_min, 0, service.price_min)
            target.services.append(line)
        first_cost = to_number(line_data.get("first_cost"))
        discount = to_number(line_data.get("discount"))
        cost = to_number(line_data.get("cost"))
        line.first_cost = first_cost if first_cost is not None else line.first_cost
        line.discount = discount if discount is not None else line.discount
        line.cost = cost if cost is not None else round(line.first_cost * (100 - line.discount) / 100, 2)
