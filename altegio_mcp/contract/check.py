"""Checks one request against the contract: what Altegio would refuse, and with which status.

`check_request` answers a list of `Problem`s (empty: the request conforms). Unknown query
parameters or body fields are 400s; missing required fields, wrong types, wrong formats and
values outside an enum are 422s. The sandbox refuses a request with the first status found, and
the contract test runs the same check over every request the sandbox received.

Tolerances the official pages force (see the contract's `notes`) are data, not code: a type such
as `integer|string`, a parameter's `aliases`, a field marked `tolerated`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from altegio_mcp.contract import ContractOperation, Param

# The alias families the v1 bundle says it accepts for query and body names (send one of each).
ALIAS_FAMILIES: tuple[tuple[str, ...], ...] = (
    ("location_id", "company_id", "salon_id"),
    ("team_member_id", "staff_id", "master_id"),
    ("appointment_id", "record_id"),
)


@dataclass(frozen=True, slots=True)
class Problem:
    status: int
    field: str
    message: str


def _date(text: str, pattern: str) -> bool:
    try:
        datetime.strptime(text, pattern)  # only the shape is checked
    except ValueError:
        return False
    return True


def _iso_datetime(text: str) -> bool:
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})?", text):
        return False
    try:
        datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


FORMATS: dict[str, Callable[[str], bool]] = {
    "YYYY-MM-DD": lambda t: bool(re.fullmatch(r"\d{4}-\d{2}-\d{2}", t)) and _date(t, "%Y-%m-%d"),
    "DD.MM.YYYY": lambda t: bool(re.fullmatch(r"\d{2}\.\d{2}\.\d{4}", t)) and _date(t, "%d.%m.%Y"),
    "YYYY-MM-DD HH:MM:SS": lambda t: (
        bool(re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", t)) and _date(t, "%Y-%m-%d %H:%M:%S")
    ),
    "YYYY-MM-DDTHH:MM:SS": lambda t: (
        bool(re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}", t)) and _date(t, "%Y-%m-%dT%H:%M:%S")
    ),
    "iso-datetime": _iso_datetime,
    "HH:MM": lambda t: bool(re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", t)),
    "email": lambda t: bool(re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", t)),
    "phone-digits-or-empty": lambda t: bool(re.fullmatch(r"(\d{9,15})?", t)),
    "hex-color-no-hash": lambda t: bool(re.fullmatch(r"[0-9a-f]{6}", t)),
}
EXAMPLE_OF: dict[str, str] = {
    "YYYY-MM-DD": "2026-01-21",
    "DD.MM.YYYY": "21.01.2026",
    "YYYY-MM-DD HH:MM:SS": "2026-01-21 10:00:00",
    "YYYY-MM-DDTHH:MM:SS": "2026-01-21T10:00:00",
    "iso-datetime": "2026-01-21T10:00:00-05:00",
    "HH:MM": "10:00",
}


def names_of(param: Param, version: str) -> tuple[str, ...]:
    """Every wire name a parameter may arrive under: its own, its listed aliases, its v1 family."""
    names = list(param.names)
    if version == "v1":
        for family in ALIAS_FAMILIES:
            if param.name in family:
                names.extend(n for n in family if n not in names)
    return tuple(names)


# --- scalar checks -----------------------------------------------------------------------------------


def _text_matches(kind: str, text: str) -> bool:
    """A query-string (text) value against one JSON type."""
    if kind == "integer":
        return bool(re.fullmatch(r"-?\d+", text))
    if kind == "number":
        return bool(re.fullmatch(r"-?\d+(\.\d+)?", text))
    if kind == "boolean":
        return text.lower() in {"0", "1", "true", "false"}
    return kind == "string"


def _json_matches(kind: str, value: object) -> bool:
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "string":
        return isinstance(value, str)
    if kind == "array":
        return isinstance(value, list)
    if kind == "object":
        return isinstance(value, dict)
    return False


def _in_enum(enum: tuple[object, ...], value: object) -> bool:
    return any(value == e or str(value).lower() == str(e).lower() for e in enum)


def _scalar_problems(param: Param, label: str, value: object, *, as_text: bool, kinds: str) -> list[Problem]:
    types = kinds.split("|")
    if as_text:
        text = str(value)
        ok = any(_text_matches(k, text) for k in types)
    else:
        ok = any(_json_matches(k, value) for k in types)
    if not ok:
        return [Problem(422, label, f"{label} must be {' or '.join(types)}.")]
    fmt = param.format
    if isinstance(value, str) and fmt is not None and fmt in FORMATS and not FORMATS[fmt](value):
        example = EXAMPLE_OF.get(fmt)
        hint = f" (for example {example})" if example else ""
        return [Problem(422, label, f"{label} must be in the format {fmt}{hint}.")]
    if param.enum is not None and not _in_enum(param.enum, value):
        return [Problem(422, label, f"{label} must be one of {', '.join(map(str, param.enum))}.")]
    return []


# --- query -------------------------------------------------------------------------------------------


def _query_problems(op: ContractOperation, query: Mapping[str, Sequence[str]]) -> list[Problem]:
    problems: list[Problem] = []
    by_name: dict[str, Param] = {}
    for param in op.query:
        for name in names_of(param, op.version):
            by_name.setdefault(name, param)
    seen: dict[str, list[str]] = {}
    for key, values in query.items():
        param = by_name.get(key)
        if param is None:
            problems.append(Problem(400, key, f"Unknown query parameter {key}."))
            continue
        seen.setdefault(param.name, []).append(key)
        for value in values:
            if param.type == "array":
                items = [part.strip() for part in value.split(",") if part.strip()]
                for item in items:
                    problems.extend(
                        _scalar_problems(param, key, item, as_text=True, kinds=param.items or "string")
                    )
            else:
                problems.extend(_scalar_problems(param, key, value, as_text=True, kinds=param.type))
    for name, keys in seen.items():
        if len(keys) > 1:
            problems.append(Problem(422, name, f"Send only one of {', '.join(keys)}."))
    for param in op.query:
        if param.required and param.name not in seen:
            problems.append(Problem(422, param.name, f"{param.name} is required."))
    return problems


# --- body --------------------------------------------------------------------------------------------


def _value_problems(param: Param, label: str, value: object, version: str) -> list[Problem]:
    if value is None:
        return [] if param.nullable else [Problem(422, label, f"{label} must not be null.")]
    if param.type == "object":
        if not isinstance(value, dict):
            return [Problem(422, label, f"{label} must be an object.")]
        if param.fields is None:
            return []
        return _object_problems(param.fields, cast("dict[str, object]", value), label, version)
    if param.type == "array":
        if not isinstance(value, list):
            return [Problem(422, label, f"{label} must be an array.")]
        problems: list[Problem] = []
        for index, item in enumerate(cast("list[object]", value)):
            item_label = f"{label}[{index}]"
            if param.fields is not None:
                if not isinstance(item, dict):
                    problems.append(Problem(422, item_label, f"{item_label} must be an object."))
                    continue
                problems.extend(
                    _object_problems(param.fields, cast("dict[str, object]", item), item_label, version)
                )
            elif param.items is not None:
                problems.extend(_scalar_problems(param, item_label, item, as_text=False, kinds=param.items))
        return problems
    return _scalar_problems(param, label, value, as_text=False, kinds=param.type)


def _object_problems(
    fields: Sequence[Param], body: Mapping[str, object], prefix: str, version: str
) -> list[Problem]:
    problems: list[Problem] = []
    by_name: dict[str, Param] = {}
    for param in fields:
        for name in names_of(param, version) if not prefix else param.names:
            by_name.setdefault(name, param)
    seen: dict[str, list[str]] = {}
    for key, value in body.items():
        label = f"{prefix}.{key}" if prefix else key
        param = by_name.get(key)
        if param is None:
            problems.append(Problem(400, label, f"Unknown field {label}."))
            continue
        seen.setdefault(param.name, []).append(key)
        problems.extend(_value_problems(param, label, value, version))
    for name, keys in seen.items():
        if len(keys) > 1:
            problems.append(Problem(422, name, f"Send only one of {', '.join(keys)}."))
    for param in fields:
        if param.required and param.name not in seen:
            label = f"{prefix}.{param.name}" if prefix else param.name
            problems.append(Problem(422, label, f"{label} is required."))
    return problems


def _body_problems(op: ContractOperation, body: object) -> list[Problem]:
    if op.body is None:
        if body in (None, {}, []):
            return []
        return [Problem(400, "body", f"{op.method} {op.path} takes no request body.")]
    if body is None:
        body = {}
    if not isinstance(body, dict):
        return [Problem(422, "body", "The request body must be a JSON object.")]
    fields = cast("dict[str, object]", body)
    problems = _object_problems(op.body, fields, "", op.version)
    conditional = _conditional_required(op, fields)
    problems.extend(Problem(422, name, f"{name} is required.") for name in conditional)
    return problems


def _conditional_required(op: ContractOperation, body: Mapping[str, object]) -> list[str]:
    """Fields the page text makes required for a standard or a group-event appointment."""
    group = body.get("activity_id") not in (None, 0, "0")
    needed = op.required_group_event if group else op.required_standard
    present: set[str] = set()
    for param in op.body or ():
        if any(name in body for name in names_of(param, op.version)):
            present.add(param.name)
    return [name for name in needed if name not in present]


# --- path --------------------------------------------------------------------------------------------


def _path_problems(op: ContractOperation, path: str) -> list[Problem]:
    template = op.path.split("/")
    actual = path.rstrip("/").split("/")
    if len(template) != len(actual):
        return []
    params = {p.name: p for p in op.path_params}
    problems: list[Problem] = []
    for part, value in zip(template, actual, strict=True):
        if not (part.startswith("{") and part.endswith("}")):
            continue
        param = params.get(part[1:-1])
        if param is None or value.startswith("{"):
            continue
        problems.extend(_scalar_problems(param, param.name, value, as_text=True, kinds=param.type))
    return problems


def check_request(
    op: ContractOperation, path: str, query: Mapping[str, Sequence[str]], body: object
) -> list[Problem]:
    """Every way the request departs from the operation's contract (empty when it conforms)."""
    return [*_path_problems(op, path), *_query_problems(op, query), *_body_problems(op, body)]
