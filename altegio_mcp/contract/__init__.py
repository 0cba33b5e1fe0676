"""Altegio's published contract for the operations this server calls, as data (`altegio.json`).

The file holds facts only, taken from Altegio's official OpenAPI bundles and per-operation pages:
per operation its method and path, each path, query and body parameter (name, type, format,
enum, required) and the field names of the answer's `data`, plus `notes` listing where the
official pages contradict each other. It is read lazily, on first use (the contract test and the
sandbox's validator), never when the server starts.

Operations are keyed `"METHOD /path"` with Altegio's own path-parameter names; `find` matches a
path by shape (`/record/{location_id}/{record_id}` and `/record/{}/{}` are the same operation).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any, Literal, cast

Version = Literal["v1", "v2"]
_PLACEHOLDER = re.compile(r"\{[^/{}]*\}")


@dataclass(frozen=True, slots=True)
class Param:
    """One parameter or body field as the contract declares it."""

    name: str
    type: str
    required: bool = False
    nullable: bool = False
    format: str | None = None
    enum: tuple[object, ...] | None = None
    items: str | None = None
    fields: tuple[Param, ...] | None = None
    aliases: tuple[str, ...] = ()
    tolerated: bool = False
    """Accepted although the official request schema does not list it (see the contract notes)."""

    @classmethod
    def parse(cls, raw: dict[str, Any]) -> Param:
        fields = raw.get("fields")
        enum = raw.get("enum")
        return cls(
            name=str(raw["name"]),
            type=str(raw["type"]),
            required=bool(raw.get("required", False)),
            nullable=bool(raw.get("nullable", False)),
            format=cast("str | None", raw.get("format")),
            enum=tuple(cast("list[object]", enum)) if enum is not None else None,
            items=cast("str | None", raw.get("items")),
            fields=tuple(cls.parse(f) for f in cast("list[dict[str, Any]]", fields))
            if fields is not None
            else None,
            aliases=tuple(cast("list[str]", raw.get("aliases", []))),
            tolerated=bool(raw.get("tolerated", False)),
        )

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


@dataclass(frozen=True, slots=True)
class ContractOperation:
    """One operation of the contract."""

    version: Version
    method: str
    path: str
    path_params: tuple[Param, ...]
    query: tuple[Param, ...]
    body: tuple[Param, ...] | None
    body_kind: Literal["object", "array"]
    response_data: tuple[str, ...]
    examples: tuple[dict[str, Any], ...] = field(default=())
    required_standard: tuple[str, ...] = ()
    required_group_event: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def shape(self) -> str:
        return shape(self.path)

    def query_param(self, name: str) -> Param | None:
        for param in self.query:
            if name in param.names:
                return param
        return None


def shape(path: str) -> str:
    """A path with every `{placeholder}` blanked and any query string dropped."""
    return _PLACEHOLDER.sub("{}", path.split("?", 1)[0])


@cache
def raw_contract() -> dict[str, Any]:
    """The whole contract file, parsed once."""
    text = resources.files(__name__).joinpath("altegio.json").read_text(encoding="utf-8")
    return cast("dict[str, Any]", json.loads(text))


@cache
def operations(version: Version = "v1") -> tuple[ContractOperation, ...]:
    """Every operation of one API version."""
    section = cast("dict[str, dict[str, Any]]", raw_contract()[version]["operations"])
    out: list[ContractOperation] = []
    for key, raw in section.items():
        method, path = key.split(" ", 1)
        body = raw.get("body")
        out.append(
            ContractOperation(
                version=version,
                method=method,
                path=path,
                path_params=tuple(Param.parse(p) for p in raw.get("path", [])),
                query=tuple(Param.parse(p) for p in raw.get("query", [])),
                body=tuple(Param.parse(p) for p in cast("list[dict[str, Any]]", body))
                if body is not None
                else None,
                body_kind="array" if raw.get("body_is_array") else "object",
                response_data=tuple(raw.get("response_data", [])),
                examples=tuple(raw.get("examples", [])),
                required_standard=tuple(raw.get("required_standard", [])),
                required_group_event=tuple(raw.get("required_group_event", [])),
            )
        )
    return tuple(out)


@cache
def _index(version: Version) -> dict[tuple[str, str], ContractOperation]:
    return {(op.method, op.shape): op for op in operations(version)}


def find(method: str, path: str, version: Version = "v1") -> ContractOperation | None:
    """The contract operation a request's method and path (placeholders or values) belong to.

    A path starting `/v2/` (how v2 operations are declared) is looked up among the v2 operations.
    """
    if path.startswith("/v2/"):
        path, version = path[3:], "v2"
    index = _index(version)
    hit = index.get((method.upper(), shape(path)))
    if hit is not None:
        return hit
    segments = path.split("?", 1)[0].rstrip("/").split("/")
    best: tuple[int, ContractOperation] | None = None
    for (m, s), op in index.items():
        parts = s.split("/")
        if m != method.upper() or len(parts) != len(segments):
            continue
        if all(p in ("{}", seg) for p, seg in zip(parts, segments, strict=True)):
            literal = sum(p != "{}" for p in parts)
            if best is None or literal > best[0]:
                best = (literal, op)
    return best[1] if best else None


def notes() -> list[dict[str, Any]]:
    """Where the official pages contradict each other, and what the sandbox tolerates."""
    return cast("list[dict[str, Any]]", raw_contract()["notes"])
