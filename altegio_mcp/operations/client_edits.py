"""Adding and editing clients: `create_client` (never twice) and `update_client` (read, merge, write).

A create never makes a second client after a flaky network: when the POST times out or the
connection drops, the location's clients are searched by phone (Altegio allows one client per
phone) and an existing match is returned instead of posting again. An edit is a PUT that needs
`name` and `phone`, so the client is read first and the whole record is sent back with only the
fields the caller gave changed. Both turn Altegio's "phone already exists" into a refusal that
names the client who has the phone.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date
from typing import Annotated

from pydantic import Field, JsonValue

from altegio_mcp.errors import APIStatusError, Conflict, InvalidArgument
from altegio_mcp.operations.base import (
    Args,
    ClientId,
    LocationId,
    OpContext,
    Operation,
    Result,
    first_of,
)
from altegio_mcp.operations.clients import (
    ANY,
    ONE_CLIENT,
    TOOLSET,
    Client,
    Phone,
    WireClient,
    client_target,
    describe,
    digits_of,
    fetch_client,
    find_clients,
    to_client,
)
from altegio_mcp.operations.support import post_never_twice
from altegio_mcp.text import clean_text, one_line

GENDER_IDS = {"unknown": 0, "male": 1, "female": 2}
IMPORTANCE_IDS = {"no importance class": 0, "bronze": 1, "silver": 2, "gold": 3}

# Birthdays are dates of the past century, not booking dates, so they skip the 2000-2100 bound.
Birthday = Annotated[date | None, Field(default=None, ge=date(1900, 1, 1), le=date(2100, 1, 1))]


# --- the duplicate-phone refusal -------------------------------------------------------------------


class DuplicatePhone(Conflict):
    """Altegio refused a client because another one already has the phone."""

    def __init__(self, source: APIStatusError, loc: int, phone: str, existing: WireClient | None) -> None:
        super().__init__(
            source.message,
            method=source.method,
            path=source.path,
            status_code=source.status_code,
            api_message=source.api_message,
            api_errors=source.api_errors,
        )
        self.location_id = loc
        self.phone = phone
        self.existing = existing

    def model_message(self) -> str:
        who = "another client"
        if self.existing is not None:
            name = one_line(clean_text(self.existing.name), 40)
            who = f"client {self.existing.id}" + (f" ({name})" if name else "")
        return (
            f"Not saved: {who} at location {self.location_id} already has phone {self.phone}. "
            f'Use that client\'s id (search_clients with query="{digits_of(self.phone)}" finds it) '
            "instead of creating another one."
        )


def _is_duplicate_phone(exc: APIStatusError) -> bool:
    detail = exc.upstream_detail().lower()
    return "phone" in detail and "already exist" in detail


def _same_phone(a: str | None, b: str) -> bool:
    """Equal digits, or one number the other with a country code in front (at least 9 digits)."""
    x, y = digits_of(a), digits_of(b)
    short, long_ = sorted((x, y), key=len)
    return bool(short) and (x == y or (len(short) >= 9 and long_.endswith(short)))


async def find_by_phone(ctx: OpContext, loc: int, phone: str) -> WireClient | None:
    quick: JsonValue = {"type": "quick_search", "state": {"value": digits_of(phone)}}
    found, _ = await find_clients(ctx, loc, [quick], 1, 50, ("id", False))
    return next((w for w in found if _same_phone(w.phone, phone)), None)


async def _duplicate(
    ctx: OpContext, exc: APIStatusError, loc: int, phone: str, own_id: int | None
) -> DuplicatePhone:
    try:
        existing = await find_by_phone(ctx, loc, phone)
    except Exception:  # naming the other client is a courtesy; the refusal stands on its own
        existing = None
    if existing is not None and existing.id == own_id:
        existing = None
    return DuplicatePhone(exc, loc, phone, existing)


# --- create (never twice) ------------------------------------------------------------------------


class CreateClientArgs(Args):
    location_id: LocationId
    name: str = Field(min_length=1, max_length=100, description="First name (or full name).")
    phone: Phone
    surname: str | None = Field(default=None, max_length=100)
    email: str | None = Field(default=None, max_length=120, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    birth_date: Birthday = Field(default=None, description="Birthday, YYYY-MM-DD.")
    comment: str | None = Field(default=None, max_length=1000, description="Note on the client card.")


class CreatedClient(Result):
    client: Client
    created: bool = Field(description="false: an existing client with this phone was returned.")


async def create_client(ctx: OpContext, a: CreateClientArgs) -> CreatedClient:
    loc = ctx.location_id(a.location_id)
    body: dict[str, JsonValue] = {"name": a.name, "phone": a.phone}
    for key, value in (("surname", a.surname), ("email", a.email), ("comment", a.comment)):
        if value:
            body[key] = value
    if a.birth_date:
        body["birth_date"] = a.birth_date.isoformat()

    async def refusal(exc: APIStatusError) -> Exception | None:
        return await _duplicate(ctx, exc, loc, a.phone, None) if _is_duplicate_phone(exc) else None

    async def find_saved() -> WireClient | None:
        return await find_by_phone(ctx, loc, a.phone)

    # The create's key: the whole body (hashed), so only an identical call is taken for a retry;
    # another name with the same phone still gets Altegio's duplicate-phone refusal.
    key = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:24]
    posted = await post_never_twice(
        ctx,
        f"/clients/{loc}",
        body,
        refusal=refusal,
        find_saved=find_saved,
        check=f"search_clients(location_id={loc}, query={a.phone!r})",
        key=key,
    )
    if posted.found is not None:
        ctx.notes.append(
            f"Client {posted.found.id} has phone {a.phone}: it was returned and no second client was created."
        )
        return CreatedClient(client=to_client(posted.found), created=False)
    return CreatedClient(client=to_client(ONE_CLIENT.validate_python(first_of(posted.answer))), created=True)


def render_created(out: CreatedClient) -> str:
    head = "Created client" if out.created else "Existing client (not created again)"
    return "\n".join([f"{head}: {describe(out.client)}", *out.notes])


# --- update (read, merge, write the full record) ------------------------------------------------------


class UpdateClientArgs(Args):
    location_id: LocationId
    client_id: ClientId
    name: str | None = Field(default=None, min_length=1, max_length=100, description="New first name.")
    surname: str | None = Field(default=None, max_length=100, description="New surname ('' clears it).")
    phone: Phone | None = None
    email: str | None = Field(default=None, max_length=120, description="New email ('' clears it).")
    birth_date: Birthday = Field(default=None, description="New birthday, YYYY-MM-DD.")
    comment: str | None = Field(default=None, max_length=1000, description="New card note ('' clears it).")


class UpdatedClient(Result):
    client: Client
    changed: list[str] = Field(description="Fields this call changed.")


def full_record(wire: WireClient) -> dict[str, JsonValue]:
    """The PUT body that leaves the client as it is: every editable field Altegio returned.

    `spent` and `balance` are left out on purpose: the API documents them as amounts at the time
    the client was added, and its own example shows the balance moving when it is sent again.
    """
    body: dict[str, JsonValue] = {"name": wire.name or "", "phone": wire.phone or ""}
    texts = ("surname", "middle_name", "email", "card", "birth_date", "comment")
    for key in texts:
        value = getattr(wire, key)
        if value is not None:
            body[key] = value
    gender = wire.gender_id if wire.gender_id is not None else GENDER_IDS.get((wire.gender or "").lower())
    importance = wire.importance_id
    if importance is None:
        importance = IMPORTANCE_IDS.get((wire.importance or "").lower())
    numbers = {
        "gender_id": gender,
        "importance_id": importance,
        "discount": wire.discount,
        "sms_check": wire.sms_check,
        "sms_not": wire.sms_not,
    }
    body.update({k: v for k, v in numbers.items() if v is not None})
    if wire.categories is not None:
        # Tags are `categories` on read and create, but `labels` on edit.
        body["labels"] = [t.id for t in wire.categories if t.id is not None]
    if wire.custom_fields:
        body["custom_fields"] = wire.custom_fields
    return body


async def update_client(ctx: OpContext, a: UpdateClientArgs) -> UpdatedClient:
    loc = ctx.location_id(a.location_id)
    changes = a.model_dump(exclude_none=True, exclude={"location_id", "client_id"})
    if not changes:
        raise InvalidArgument(
            "name", "nothing to change: pass at least one of name, surname, phone, email, birth_date, comment"
        )
    wire = await fetch_client(ctx, loc, a.client_id)
    body = full_record(wire)
    for key, value in changes.items():
        body[key] = value.isoformat() if isinstance(value, date) else value
    target = client_target(loc, a.client_id)
    try:
        res = await ctx.call("PUT", f"/client/{loc}/{a.client_id}", ANY, json_body=body, target=target)
    except APIStatusError as exc:
        if a.phone and _is_duplicate_phone(exc):
            raise await _duplicate(ctx, exc, loc, a.phone, a.client_id) from exc
        raise
    data = res.data[0] if isinstance(res.data, list) and res.data else res.data
    # The edit page documents no answer body; without one the client is read back.
    saved = (
        ONE_CLIENT.validate_python(data)
        if isinstance(data, dict) and data.get("id")
        else await fetch_client(ctx, loc, a.client_id)
    )
    return UpdatedClient(client=to_client(saved), changed=sorted(changes))


def render_updated(out: UpdatedClient) -> str:
    return "\n".join([f"Updated ({', '.join(out.changed)}): {describe(out.client)}", *out.notes])


# --- declarations ----------------------------------------------------------------------------------

OPERATIONS = (
    Operation(
        name="create_client",
        title="Add a client",
        description="Add a client (name + phone); refuses a phone already on file (search_clients first).",
        method="POST",
        path="/clients/{location_id}",
        input_model=CreateClientArgs,
        output_model=CreatedClient,
        toolset=TOOLSET,
        kind="write",
        omitted={
            "middle_name": "rarely used; surname and name identify a client",
            "gender_id": "not asked at a front desk booking",
            "importance_id": "loyalty grading is managed in Altegio",
            "discount": "discounts change money; set in Altegio",
            "card": "loyalty cards are issued in Altegio",
            "spent": "money totals come from visits, never typed in",
            "balance": "money totals come from visits, never typed in",
            "sms_check": "birthday SMS preference is managed in Altegio",
            "sms_not": "mailing opt-out is managed in Altegio",
            "categories": "client tags are managed in Altegio",
            "custom_fields": "custom field codes differ per location",
        },
        handler=create_client,
        render=render_created,
        resend_safe=False,
    ),
    Operation(
        name="update_client",
        title="Edit a client",
        description="Edit a client's card: pass only what changes; the rest is kept.",
        method="PUT",
        path="/client/{location_id}/{id}",
        input_model=UpdateClientArgs,
        output_model=UpdatedClient,
        toolset=TOOLSET,
        kind="write",
        omitted={
            "spent": "money totals come from visits, never typed in",
            "balance": "money totals come from visits, never typed in",
            "custom_fields": "custom field codes differ per location",
        },
        handler=update_client,
        render=render_updated,
        resend_safe=True,  # a full replace of the card
        target=lambda a: client_target(a.location_id, a.client_id),
    ),
)
