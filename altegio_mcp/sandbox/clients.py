"""Client rules: phone validation, find-or-create by phone, and visit statistics."""

from __future__ import annotations

from altegio_mcp.sandbox.models import Client, Location
from altegio_mcp.sandbox.state import SandboxState

PHONE_DIGITS_MESSAGE = "Phone must contain 9 to 15 digits"
DUPLICATE_PHONE_MESSAGE = "The client with the specified phone number already exists in the database"


def phone_digits(phone: str) -> str:
    return "".join(ch for ch in phone if ch.isdigit())


def valid_phone(phone: str) -> bool:
    return 9 <= len(phone_digits(phone)) <= 15


def normalized_phone(phone: str) -> str:
    return "+" + phone_digits(phone)


def client_by_phone(state: SandboxState, location_id: int, phone: str) -> Client | None:
    digits = phone_digits(phone)
    return next((c for c in state.clients(location_id) if phone_digits(c.phone) == digits), None)


def create_client(state: SandboxState, location: Location, name: str, phone: str, email: str = "") -> Client:
    now = state.now().astimezone(location.tz)
    client = Client(
        id=state.next_id("client"),
        location_id=location.id,
        name=name,
        phone=normalized_phone(phone),
        email=email,
        created=now,
        last_change_date=now,
    )
    state.clients_by_id[client.id] = client
    return client


def find_or_create_client(
    state: SandboxState, location: Location, phone: str, name: str, email: str
) -> Client:
    """The location's client with this phone, or a new one (an appointment never duplicates a client)."""
    existing = client_by_phone(state, location.id, phone)
    if existing is not None:
        if email and not existing.email:
            existing.email = email
        return existing
    return create_client(state, location, name, phone, email)


def visit_counts(state: SandboxState, client_id: int) -> tuple[int, int]:
    """(arrived, no-show) appointment counts of a client."""
    success = fail = 0
    for appointment in state.appointments_by_id.values():
        if appointment.client_id != client_id or appointment.deleted:
            continue
        if appointment.attendance == 1:
            success += 1
        elif appointment.attendance == -1:
            fail += 1
    return success, fail
