"""JSON Schemas as a model reads them: flat, `$ref`-free, without pydantic's generated titles.

Tool schemas are sent with every `tools/list` and read by the model on every turn, so they are
kept small: nested models are inlined, the auto-generated `title` of every property is dropped,
and `anyOf: [X, null]` with a `null` default becomes plain optional `X`.
"""

from __future__ import annotations

import copy
from typing import Any, cast

from pydantic import BaseModel

JsonSchema = dict[str, Any]


def _resolve_refs(node: Any, defs: dict[str, Any], stack: tuple[str, ...] = ()) -> Any:
    if isinstance(node, dict):
        obj = cast(dict[str, Any], node)
        ref = obj.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            name = ref.removeprefix("#/$defs/")
            if name in stack:
                raise ValueError(f"recursive schema {name} cannot be inlined")
            target = copy.deepcopy(defs[name])
            siblings = {k: v for k, v in obj.items() if k != "$ref"}
            merged = {**target, **siblings}
            return _resolve_refs(merged, defs, (*stack, name))
        return {k: _resolve_refs(v, defs, stack) for k, v in obj.items() if k != "$defs"}
    if isinstance(node, list):
        return [_resolve_refs(item, defs, stack) for item in cast(list[Any], node)]
    return node


def _simplify(node: Any, *, in_properties: bool = False) -> Any:
    if isinstance(node, list):
        return [_simplify(item) for item in cast(list[Any], node)]
    if not isinstance(node, dict):
        return node
    obj = cast(dict[str, Any], node)
    out: dict[str, Any] = {}
    for key, value in obj.items():
        if key == "properties" and isinstance(value, dict):
            props = cast(dict[str, Any], value)
            out[key] = {name: _simplify(prop) for name, prop in props.items()}
        elif key == "title" and not in_properties and isinstance(value, str):
            continue
        else:
            out[key] = _simplify(value)
    any_of = out.get("anyOf")
    if isinstance(any_of, list) and out.get("default", ...) is None:
        variants = [v for v in cast(list[Any], any_of) if v != {"type": "null"}]
        if len(variants) == 1 and isinstance(variants[0], dict):
            del out["anyOf"]
            out.pop("default")
            out = {**cast(dict[str, Any], variants[0]), **out}
    return out


def compact_schema(model: type[BaseModel], *, mode: str = "validation") -> JsonSchema:
    """The model's JSON schema with refs inlined, titles dropped and nullable optionals simplified."""
    raw = model.model_json_schema(
        by_alias=True, mode="serialization" if mode == "serialization" else "validation"
    )
    defs = cast(dict[str, Any], raw.get("$defs", {}))
    inlined = cast(JsonSchema, _resolve_refs(raw, defs))
    simplified = cast(JsonSchema, _simplify(inlined))
    if mode == "validation":
        simplified.pop("description", None)  # the tool's own description says it
    simplified["type"] = "object"
    return simplified
