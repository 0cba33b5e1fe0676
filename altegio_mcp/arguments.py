"""Checking tool arguments before anything is sent, with messages that name the field.

Legacy Altegio names (`staff_id`, `company_id`, `record_id`) are accepted and renamed; a value of
the wrong JSON type is refused as sent (not coerced); every other problem comes from the argument
model, rewritten as one sentence per field that says what is wrong and which tool lists valid values.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from pydantic import ValidationError

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator
    from jsonschema import ValidationError as ValidationErrorJS

# Names the model may use from Altegio's older vocabulary; accepted and renamed before validation.
LEGACY_NAMES = {
    "company_id": "location_id",
    "salon_id": "location_id",
    "staff_id": "team_member_id",
    "master_id": "team_member_id",
    "record_id": "appointment_id",
    "staff_ids": "team_member_ids",
}


# Where a model finds a valid value for each id argument; added to validation errors so the schema
# descriptions can stay short.
FINDERS = {
    "location_id": "whoami",
    "appointment_id": "list_appointments",
    "team_member_id": "list_team_members",
    "team_member_ids": "list_team_members",
    "client_id": "search_clients",
    "service_id": "list_services",
    "service_ids": "list_services",
    "visit_id": "get_appointment (its visit_id)",
    "schedule_id": "find_schedule",
    "schedule_day_ids": "find_schedule",
    "day_id": "find_schedule",
    "client_schedule_id": "create_recurring_appointments (it returns the series id)",
    "category_id": "list_service_categories",
}


def finder_hint(field: str) -> str:
    finder = FINDERS.get(field)
    return f" Call {finder} to find a valid value." if finder else ""


INVALID = "Invalid arguments, nothing was sent: "


def explain_validation(
    exc: ValidationError, schema: dict[str, Any], skip: frozenset[str] = frozenset()
) -> list[str]:
    """One sentence per problem, naming the field (`skip`: fields already reported)."""
    props = cast(dict[str, Any], schema.get("properties", {}))
    lines: list[str] = []
    for error in exc.errors(include_url=False, include_context=False):
        loc = [str(part) for part in error["loc"]]
        field = loc[0] if loc else "arguments"
        if field in skip:
            continue
        where = ".".join(loc) or "arguments"
        if error["type"] == "extra_forbidden":
            valid = f"valid arguments: {', '.join(props)}" if props else "this tool takes no arguments"
            lines.append(f"`{field}` is not an argument of this tool; {valid}.")
            continue
        if error["type"] == "missing":
            message = "is required"
        else:
            message = error["msg"][0].lower() + error["msg"][1:]
            if "input" in error and not isinstance(error["input"], dict | list):
                shown = repr(error["input"])
                message += f" (got {shown[:40] + '…' if len(shown) > 40 else shown})"
        hint = props.get(field, {}).get("description", "")
        lines.append(f"`{where}` {message}." + (f" {hint}" if hint else "") + finder_hint(field))
    return lines


def rename_legacy(arguments: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    props = cast(dict[str, Any], schema.get("properties", {}))
    renamed = dict(arguments)
    for old, new in LEGACY_NAMES.items():
        if old in renamed and old not in props and new in props and new not in renamed:
            renamed[new] = renamed.pop(old)
    return renamed


JSON_TYPE_NAMES: dict[type, str] = {
    bool: "a boolean",
    int: "an integer",
    float: "a number",
    str: "a string",
    list: "an array",
    dict: "an object",
    type(None): "null",
}


def type_errors(validator: Draft202012Validator, arguments: dict[str, Any]) -> dict[str, str]:
    """Arguments whose JSON type differs from the published schema (`true` for an id, `"7"` for an
    integer, a number for a date), by top-level field: refused as sent rather than coerced, so what
    runs is what the schema promised. Ranges, formats and the rest are left to the argument model."""
    problems: dict[str, str] = {}
    errors: list[ValidationErrorJS] = list(validator.iter_errors(arguments))  # pyright: ignore[reportUnknownMemberType]
    for error in errors:
        if error.validator != "type":
            continue
        where = ".".join(str(part) for part in error.absolute_path) or "arguments"
        expected: object = error.validator_value
        wanted = (
            " or ".join(map(str, cast(list[object], expected)))
            if isinstance(expected, list)
            else str(expected)
        )
        instance: object = error.instance
        got = JSON_TYPE_NAMES.get(type(instance), type(instance).__name__)
        shown = repr(instance)
        field = str(error.absolute_path[0]) if error.absolute_path else ""
        problems.setdefault(
            field, f"`{where}` must be of type {wanted}, not {got} ({shown[:40]}).{finder_hint(field)}"
        )
    return problems
