"""JSON Schemas as a model reads them: flat, `$ref`-free, without pydantic's generated titles.

Tool schemas are sent with every `tools/list` and read by the model on every turn, so they are
kept small: nested models are inlined, the auto-generated `title` of every property is dropped,
and `anyOf: [X, null]` with a `null` default becomes plain optional `X`.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Iterable
from typing import Any, cast

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

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


_SERIALIZED: dict[type[BaseModel], JsonSchema] = {}


def prime_output_schemas(models: Iterable[type[BaseModel]]) -> None:
    """Build the output schemas of many models in one pydantic pass (shared nested models are
    generated once: about a third of the time of one call per model), for `output_schema`."""
    todo = [m for m in dict.fromkeys(models) if m not in _SERIALIZED]
    if not todo:
        return
    keys, combined = models_json_schema([(m, "serialization") for m in todo], by_alias=True)
    defs = cast(dict[str, Any], combined.get("$defs", {}))
    for model in todo:
        inlined = cast(JsonSchema, _resolve_refs(keys[(model, "serialization")], defs))
        simplified = cast(JsonSchema, _simplify(inlined))
        simplified["type"] = "object"
        _SERIALIZED[model] = simplified


def _serialized(model: type[BaseModel]) -> JsonSchema:
    if model not in _SERIALIZED:
        prime_output_schemas([model])
    return _SERIALIZED[model]


@functools.cache
def output_schema(model: type[BaseModel], *alternatives: type[BaseModel]) -> JsonSchema:
    """The complete output schema of a tool: every nested object, item schema and required field.

    It goes to the client (which validates results against it), not to the model, so it is not
    trimmed. `alternatives` are other shapes the result may take (a confirmation request): the
    schema is then `anyOf` them, still with a top-level `"type": "object"`. Built once per model
    and cached: several tools share an output model, and start-up builds every tool.
    """
    full = _serialized(model)
    if not alternatives:
        return full
    branches = [full, *(_serialized(alt) for alt in alternatives)]
    return {"type": "object", "anyOf": branches}


def _unpin_ids(schema: JsonSchema) -> None:
    """Ids are positive integers (the server's instructions say so once, and validation enforces it);
    repeating `"minimum": 1` on every id field would cost ~70 bytes of every tools/list."""
    for name, prop in cast(dict[str, Any], schema.get("properties", {})).items():
        if not (name.endswith("_id") or name.endswith("_ids")):
            continue
        node = cast(dict[str, Any], prop)
        target = cast(dict[str, Any], node.get("items", node))
        if target.get("type") == "integer" and target.get("minimum") == 1:
            del target["minimum"]


# Limits the argument model still enforces (and explains, naming the field, when a call breaks
# one) but that a model practically never meets: long-text caps, list caps, input patterns whose
# rule the field's description already states, and nested `additionalProperties: false`. Leaving
# them out of the published schema keeps ~30 bytes per field out of what the model reads.
_ENFORCED_NOT_PUBLISHED = frozenset({"maxLength", "minLength", "maxItems", "pattern", "additionalProperties"})
_LARGE = 1000


def _lean(node: Any) -> Any:
    """Drop `_ENFORCED_NOT_PUBLISHED`, caps at or above `_LARGE` (page 9999) and `default: false`
    from an input schema; property *names* are never touched."""
    if isinstance(node, list):
        return [_lean(item) for item in cast(list[Any], node)]
    if not isinstance(node, dict):
        return node
    obj = cast(dict[str, Any], node)
    out: dict[str, Any] = {}
    for key, value in obj.items():
        if key == "properties" and isinstance(value, dict):
            out[key] = {name: _lean(prop) for name, prop in cast(dict[str, Any], value).items()}
        elif (
            key in _ENFORCED_NOT_PUBLISHED
            or (key == "maximum" and isinstance(value, int) and value >= _LARGE)
            or (key == "default" and value is False)  # an absent flag is off: no need to say so
        ):
            continue
        else:
            out[key] = _lean(value)
    return out


def compact_schema(model: type[BaseModel], *, mode: str = "validation") -> JsonSchema:
    """The model's JSON schema with refs inlined, titles dropped and nullable optionals simplified.

    In validation mode (a tool's input) it is also leaned: limits the argument model enforces but a
    language model practically never meets are left out (see `_ENFORCED_NOT_PUBLISHED`)."""
    raw = model.model_json_schema(
        by_alias=True, mode="serialization" if mode == "serialization" else "validation"
    )
    defs = cast(dict[str, Any], raw.get("$defs", {}))
    inlined = cast(JsonSchema, _resolve_refs(raw, defs))
    simplified = cast(JsonSchema, _simplify(inlined))
    if mode == "validation":
        simplified.pop("description", None)  # the tool's own description says it
        simplified.pop("additionalProperties", None)  # still enforced: unknown names are refused
        simplified = cast(JsonSchema, _lean(simplified))
        _unpin_ids(simplified)
    simplified["type"] = "object"
    return simplified
