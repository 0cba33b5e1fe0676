"""The body of an appointment write (`POST /records`, `PUT /record`): what a create may set, and the
full record an edit sends back.

`PUT /record/{location_id}/{record_id}` is a full replace: a field left out is cleared. So an edit
reads the appointment first and `record_body` turns it into the body that keeps it exactly as it
is: team member, services with their price, discount and quantity, client, start, length, comment,
attendance, `api_id`, tags (`record_labels`, sent as ids), colour, reminder hours, technical break,
custom fields and the group event (`activity_id`). The edit then changes only what the call names.

For a group-event appointment (`activity_id` set) Altegio takes the team member, services, start
and length from the event, so those are not sent; the booking is moved with the v2 event tools.

`past_start` is the shared "not before now" rule of every create and move.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, JsonValue, WithJsonSchema

from altegio_mcp.errors import InvalidArgument
from altegio_mcp.operations.base import Args, Ids, OpContext
from altegio_mcp.operations.records import ATTENDANCE_CODES, WireAppointment, WireServiceLine
from altegio_mcp.timeutil import iso

BREAK_STEP_MINUTES = 5
MAX_BREAK_MINUTES = 60
MAX_REMINDER_HOURS = 720


class PricedService(Args):
    # One `services[]` line of an appointment body: a service with its price.
    id: int = Field(ge=1)
    cost: float | None = Field(default=None, ge=0)
    first_cost: float | None = Field(default=None, ge=0)
    discount: float | None = Field(default=None, ge=0, le=100)
    amount: int | None = Field(default=None, ge=1, le=100)


ServiceChoice = list[Annotated[int, Field(ge=1)] | PricedService]


def drop_default(schema: dict[str, JsonValue]) -> None:
    """For a summarised optional field: "default": null says nothing the summary does not."""
    schema.pop("default", None)


NO_DEFAULT = Field(json_schema_extra=drop_default)
# The models below validate in full; the schema the model reads is their one-line summary.
Services = Annotated[
    ServiceChoice,
    Field(min_length=1, max_length=20),
    WithJsonSchema(
        {
            "type": "array",
            "items": {"type": ["integer", "object"]},
            "description": "Ids, or {id, cost, discount %, amount} to set a price.",
        }
    ),
]


def service_ids_of(choice: ServiceChoice) -> list[int]:
    return [item if isinstance(item, int) else item.id for item in choice]


class Extras(Args):
    # Rarely used appointment fields; on an edit, each one given replaces the current value.
    tags: Ids | None = Field(default=None, max_length=50)
    color: str | None = Field(default=None, pattern=r"^(#?[0-9a-fA-F]{6})?$")
    sms_hours: int | None = Field(default=None, ge=0, le=MAX_REMINDER_HOURS)
    email_hours: int | None = Field(default=None, ge=0, le=MAX_REMINDER_HOURS)
    break_minutes: int | None = Field(
        default=None, ge=0, le=MAX_BREAK_MINUTES, multiple_of=BREAK_STEP_MINUTES
    )
    custom_fields: dict[str, JsonValue] | None = None


class CreateExtras(Extras):
    attendance: Literal["waiting", "confirmed", "arrived", "no-show"] | None = None


_EXTRAS = "tags, color, sms_hours, email_hours, break_minutes, custom_fields"
EditExtras = Annotated[
    Extras | None,
    NO_DEFAULT,
    WithJsonSchema({"type": "object", "description": f"Given ones replace: {_EXTRAS}."}),
]
NewExtras = Annotated[
    CreateExtras | None,
    NO_DEFAULT,
    WithJsonSchema({"type": "object", "description": f"{_EXTRAS}, attendance."}),
]


def extras_body(extras: Extras | None) -> dict[str, JsonValue]:
    """The body fields an `Extras` sets (only those given)."""
    if extras is None:
        return {}
    body: dict[str, JsonValue] = {}
    if extras.tags is not None:
        body["record_labels"] = [str(tag) for tag in extras.tags]
    if extras.color is not None:
        body["custom_color"] = extras.color.removeprefix("#").lower()
    if extras.sms_hours is not None:
        body["sms_remain_hours"] = extras.sms_hours
    if extras.email_hours is not None:
        body["email_remain_hours"] = extras.email_hours
    if extras.break_minutes is not None:
        body["technical_break_duration"] = extras.break_minutes * 60
    if extras.custom_fields is not None:
        body["custom_fields"] = extras.custom_fields
    if isinstance(extras, CreateExtras) and extras.attendance is not None:
        body["attendance"] = ATTENDANCE_CODES[extras.attendance]
    return body


def line_body(line: WireServiceLine) -> dict[str, JsonValue]:
    """A service line as sent back: id, list price, discount, price charged and quantity."""
    values: dict[str, JsonValue] = {
        "id": line.id,
        "first_cost": line.first_cost if line.first_cost is not None else line.cost,
        "discount": line.discount if line.discount is not None else 0,
        "cost": line.cost,
        "amount": line.amount,
    }
    return {key: value for key, value in values.items() if value is not None}


def priced_line(choice: int | PricedService, current: WireServiceLine | None) -> dict[str, JsonValue]:
    """A chosen service line: the current line's prices, with what the choice gives replacing them.

    A new list price or discount without a new price charged recomputes the price charged.
    """
    sid = choice if isinstance(choice, int) else choice.id
    line: dict[str, JsonValue] = line_body(current) if current is not None else {"id": sid}
    if isinstance(choice, int):
        return line
    given = choice.model_dump(exclude_none=True, exclude={"id"})
    line.update(given)
    first_cost, discount = line.get("first_cost"), line.get("discount")
    if (
        "cost" not in given
        and ({"first_cost", "discount"} & given.keys())
        and isinstance(first_cost, int | float)
        and isinstance(discount, int | float)
    ):
        line["cost"] = round(first_cost * (100 - discount) / 100, 2)
    return line


def client_body(client: dict[str, JsonValue]) -> dict[str, JsonValue]:
    """`client` of an appointment body: phone, name, email (empty ones left out)."""
    return {key: client[key] for key in ("phone", "name", "email") if client.get(key)}


def record_body(wire: WireAppointment, start: datetime | None) -> dict[str, JsonValue]:
    """The full PUT body that leaves this appointment exactly as it is."""
    body: dict[str, JsonValue] = {"activity_id": wire.activity_id or 0}
    if not wire.activity_id:
        body["staff_id"] = wire.staff_id or (wire.staff.id if wire.staff else None)
        body["services"] = [line_body(line) for line in wire.services]
        if start is not None:
            body["datetime"] = iso(start)
        body["seance_length"] = wire.duration
    if wire.client is not None:
        body["client"] = client_body(
            {"phone": wire.client.phone, "name": wire.client.name, "email": wire.client.email}
        )
    body["comment"] = wire.comment or ""
    body["attendance"] = wire.attendance_code if wire.attendance_code is not None else 0
    if wire.api_id is not None:
        body["api_id"] = wire.api_id
    if wire.custom_color is not None:
        body["custom_color"] = wire.custom_color
    body["record_labels"] = [str(tag) for tag in wire.tag_ids]
    if wire.sms_remain_hours is not None:
        body["sms_remain_hours"] = wire.sms_remain_hours
    if wire.email_remain_hours is not None:
        body["email_remain_hours"] = wire.email_remain_hours
    if wire.technical_break_duration is not None:
        body["technical_break_duration"] = wire.technical_break_duration
    body["custom_fields"] = wire.custom_fields or {}
    return {key: value for key, value in body.items() if value is not None}


async def past_start(
    ctx: OpContext, loc: int, start: datetime, allow_past: bool, field: str = "datetime"
) -> None:
    """Refuse a start before the location's current local time, unless the call allows it."""
    if allow_past:
        return
    tz = await ctx.zone(loc)
    now = ctx.now().astimezone(tz)
    if start < now:
        raise InvalidArgument(
            field,
            f"{iso(start.astimezone(tz))} is in the past: it is now {iso(now.replace(microsecond=0))} "
            f"at location {loc} ({tz.key}). Check the date (and year); to record a "
            "past appointment on purpose (a walk-in), repeat with allow_past=true",
        )
