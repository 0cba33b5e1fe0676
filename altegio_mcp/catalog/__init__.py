"""Every callable operation of Altegio's Business Management API (B2B v1, plus v2), as data.

`catalog.json` holds facts only, taken from Altegio's official OpenAPI bundles: per operation its
method, path, tag, a one-line summary in our own words, JSON Schemas for the path, query and body
arguments, the field names of the answer's `data`, whether it is deprecated (and the v2 operation
that replaces it), and its kind: `read`, `write`, or `destructive` (deletes, refunds and payments,
mass messaging, anything that removes or moves money). Where the bundle's facts were not all
catalogued, `facts` is `partial` and `missing` names what is left out; such an operation still
validates its path, and accepts any query or body.

`operations.tsv` is the official list of v1 operations (tag, method, path, title); `check.py`
compares the two. Everything is read lazily, on first use by the `api` tools, never at start-up.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Literal, cast

Kind = Literal["read", "write", "destructive"]
Method = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
_PLACEHOLDER = re.compile(r"\{[^/{}]*\}")
_WORD = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True, slots=True)
class CatalogOperation:
    """One catalogued operation."""

    id: str
    version: str
    tag: str
    method: Method
    path: str
    summary: str
    kind: Kind
    path_schema: dict[str, Any]
    query_schema: dict[str, Any]
    body_schema: dict[str, Any] | None
    response_data: tuple[str, ...]
    facts: str
    missing: tuple[str, ...]
    deprecated: bool
    replacement: str | None
    not_callable: str | None = None
    response_list: bool = False
    """Whether the answer's `data` is a list (of objects with `response_data` fields)."""
    """Why a dynamic call cannot make this operation (a multipart upload), if it cannot."""

    @property
    def shape(self) -> str:
        return shape(self.path)

    @property
    def path_params(self) -> tuple[str, ...]:
        return tuple(cast("list[str]", self.path_schema.get("required", [])))

    def url_path(self, values: dict[str, Any]) -> str:
        """The path with its placeholders filled (values are validated beforehand)."""
        return _PLACEHOLDER.sub(lambda m: str(values[m.group(0)[1:-1]]), self.path)

    @classmethod
    def parse(cls, raw: dict[str, Any]) -> CatalogOperation:
        return cls(
            id=str(raw["id"]),
            version=str(raw["version"]),
            tag=str(raw["tag"]),
            method=cast(Method, raw["method"]),
            path=str(raw["path"]),
            summary=str(raw["summary"]),
            kind=cast(Kind, raw["kind"]),
            path_schema=cast("dict[str, Any]", raw["path_schema"]),
            query_schema=cast("dict[str, Any]", raw["query_schema"]),
            body_schema=cast("dict[str, Any] | None", raw.get("body_schema")),
            response_data=tuple(cast("list[str]", raw.get("response_data", []))),
            facts=str(raw.get("facts", "partial")),
            missing=tuple(cast("list[str]", raw.get("missing", []))),
            deprecated=bool(raw.get("deprecated", False)),
            replacement=cast("str | None", raw.get("replacement")),
            not_callable=cast("str | None", raw.get("not_callable")),
            response_list=bool(raw.get("response_list", False)),
        )


@dataclass(frozen=True, slots=True)
class Excluded:
    """An operation of the official list deliberately left out, and why."""

    method: str
    path: str
    tag: str
    reason: str


def shape(path: str) -> str:
    """A path with every `{placeholder}` blanked: `/goods/{location_id}` -> `/goods/{}`."""
    return _PLACEHOLDER.sub("{}", path.split("?", 1)[0])


@cache
def raw_catalog() -> dict[str, Any]:
    text = resources.files(__name__).joinpath("catalog.json").read_text(encoding="utf-8")
    return cast("dict[str, Any]", json.loads(text))


@cache
def operations() -> tuple[CatalogOperation, ...]:
    return tuple(CatalogOperation.parse(raw) for raw in raw_catalog()["operations"])


@cache
def excluded() -> tuple[Excluded, ...]:
    return tuple(Excluded(**raw) for raw in raw_catalog()["excluded"])


def base_url(version: str) -> str:
    return str(raw_catalog()["base_urls"][version])


@cache
def _by_id() -> dict[str, CatalogOperation]:
    index: dict[str, CatalogOperation] = {}
    for op in operations():
        index[op.id.lower()] = op
        prefix = "v2 " if op.version == "v2" else ""
        index[f"{prefix}{op.method} {op.shape}".lower()] = op
    return index


def find(operation: str) -> CatalogOperation | None:
    """An operation by its id (`GET /goods/{location_id}`; v2 ids start `v2 `), placeholders free."""
    text = " ".join(operation.split())
    hit = _by_id().get(text.lower())
    if hit is None:
        parts = text.split(" ")
        if len(parts) >= 2:
            hit = _by_id().get(" ".join([*parts[:-1], shape(parts[-1])]).lower())
    return hit


def tags() -> tuple[str, ...]:
    return tuple(sorted({op.tag for op in operations()}))


def _words(text: str) -> set[str]:
    words = set(_WORD.findall(text.lower().replace("_", " ")))
    # Plural and singular match each other ("products" finds "product"), as do legacy names.
    stems = {w[:-1] for w in words if len(w) > 3 and w.endswith("s")}
    return words | stems


_SYNONYMS = {
    "product": "goods",
    "products": "goods",
    "stock": "storage",
    "inventory": "storage",
    "membership": "abonement",
    "memberships": "abonements",
    "tag": "labels",
    "appointment": "record",
    "appointments": "records",
    "team": "staff",
    "location": "company",
    "event": "activity",
    "salary": "salary",
    "payroll": "salary",
    "sale": "sale",
    "receipt": "kkm",
}


def search(query: str, tag: str | None = None, limit: int = 8) -> list[CatalogOperation]:
    """The operations whose tag, summary and path share the most words with the query."""
    wanted = _words(query)
    wanted |= {_SYNONYMS[w] for w in list(wanted) if w in _SYNONYMS}
    scored: list[tuple[float, CatalogOperation]] = []
    for op in operations():
        if tag is not None and op.tag.lower() != tag.lower():
            continue
        summary, tag_words, path_words = _words(op.summary), _words(op.tag), _words(op.path)
        score = 2.0 * len(wanted & summary) + 1.5 * len(wanted & tag_words) + len(wanted & path_words)
        if op.method.lower() in wanted or ({"list", "get", "read", "show"} & wanted and op.kind == "read"):
            score += 0.5
        if score == 0 and wanted:
            continue
        if op.deprecated:
            score -= 0.75
        scored.append((score, op))
    scored.sort(key=lambda pair: -pair[0])
    return [op for _score, op in scored[:limit]]


__all__ = ["CatalogOperation", "Excluded", "base_url", "excluded", "find", "operations", "search", "tags"]
