"""JSON value types, and checked reads of values from untyped (parsed) JSON."""

from __future__ import annotations

import math
from typing import TypeAlias, cast

Json: TypeAlias = "dict[str, Json] | list[Json] | str | int | float | bool | None"
JsonDict: TypeAlias = "dict[str, Json]"
JsonList: TypeAlias = "list[Json]"


def as_object(value: object) -> dict[str, object] | None:
    """The value as a JSON object (parsed JSON object keys are always strings), or None."""
    if isinstance(value, dict):
        return cast("dict[str, object]", value)
    return None


def as_list(value: object) -> list[object] | None:
    """The value as a JSON array, or None."""
    if isinstance(value, list):
        return cast("list[object]", value)
    return None


def to_int(value: object) -> int | None:
    """An integer from a JSON number or a numeric string; None when it is neither."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        if text.lstrip("-").isdigit():
            return int(text)
    return None


def to_number(value: object) -> float | None:
    """A finite number from a JSON number or a numeric string; None otherwise."""
    if isinstance(value, bool):
        return None
    number_value: float | None = None
    if isinstance(value, int | float):
        number_value = float(value)
    elif isinstance(value, str):
        try:
            number_value = float(value.strip())
        except ValueError:
            return None
    return number_value if number_value is not None and math.isfinite(number_value) else None


def to_bool(value: object) -> bool:
    """Truthiness as the API reads flags: true, 1, "1", "true"."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value != 0
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes"}
    return False


def to_text(value: object) -> str | None:
    """A string from a JSON string or number; None otherwise."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def number(value: float) -> int | float:
    """A money or count value as JSON: integral values without a fractional part."""
    return int(value) if float(value).is_integer() else round(value, 2)
