"""The whole API within reach (toolset `api`, opt-in): search the catalog, describe one operation, call it.

Three tools over `altegio_mcp.catalog`, the facts-only catalog of every callable Altegio Business
Management operation (B2B v1, plus v2):

- `search_api_operations(query, tag?)`: the best matches, one line each, with the typed tool to use
  instead where one exists;
- `describe_api_operation(operation)`: the JSON Schemas of its path, query and body, its kind, and
  the field names of its answer;
- `call_api_operation(operation, path, query, body)`: the arguments are checked against those
  schemas before anything is sent, then the call goes through the same client (auth, rate limits,
  retries, error messages) and the same policy as every typed tool: reads are plain reads; writes are
  sent once, never re-sent (Altegio has no idempotency keys for them), and audited; destructive
  operations (deletes, payments and refunds, mass messaging, anything moving money) wait for the
  person's confirmation, with a preview that reads the target first where a read exists. In
  read-only mode the tool stays listed as a read-only tool and refuses anything but reads.

Typed tools keep priority: an operation a typed tool covers is refused here, naming that tool. The
catalog is loaded on first use, never at start-up.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from functools import cache
from typing import TYPE_CHECKING, Any, Literal, cast

from pydantic import Field, JsonValue

from altegio_mcp.errors import (
    APIStatusError,
    InvalidArgument,
    NotFound,
    Target,
    WriteNotDone,
    WriteOutcomeUnknown,
)
from altegio_mcp.operations.base import (
    RAW_JSON,
    Args,
    Confirmation,
    Kind,
    OpContext,
    Operation,
    Out,
    Result,
    Verdict,
    Verified,
)
from altegio_mcp.text import one_line

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError as JsonSchemaError

    from altegio_mcp.catalog import CatalogOperation

TOOLSET = "api"
MAX_ITEMS = 25
ReadBack = Callable[[], Awaitable[Verdict]]
MAX_TEXT = 3000
LOCATION_PARAMS = ("location_id", "company_id")
NOT_IMPLEMENTED = 501

OperationId = Field(
    min_length=3,
    max_length=300,
    description='Catalog id from search_api_operations, e.g. "GET /goods/{location_id}" (v2: "v2 GET …").',
)


# --- the catalog, as the tools see it ---------------------------------------------------------------


# The catalog is imported on first use: kept out of the server's import graph, it is provably
# never loaded at start-up.


def _find(operation: str) -> CatalogOperation | None:
    from altegio_mcp import catalog

    return catalog.find(operation)


def _shape(path: str) -> str:
    from altegio_mcp import catalog

    return catalog.shape(path)


def _tags() -> tuple[str, ...]:
    from altegio_mcp import catalog

    return catalog.tags()


def _search(query: str, tag: str | None) -> list[CatalogOperation]:
    from altegio_mcp import catalog

    return catalog.search(query, tag)


@cache
def typed_tools() -> dict[tuple[str, str, str], str]:
    """(version, method, path shape) of every typed tool's operation -> the tool's name."""
    from altegio_mcp.operations import ALL_OPERATIONS

    out: dict[tuple[str, str, str], str] = {}
    for op in ALL_OPERATIONS:
        if op.toolset == TOOLSET:
            continue
        version, path = ("v2", op.path[3:]) if op.path.startswith("/v2/") else ("v1", op.path)
        out[(version, op.method, _shape(path))] = op.name
    return out


def typed_tool_for(op: CatalogOperation) -> str | None:
    return typed_tools().get((op.version, op.method, op.shape))


def lookup(operation: str) -> CatalogOperation:
    """The catalog operation named by `operation`, or an error that says how to find one."""
    op = _find(operation)
    if op is None:
        raise InvalidArgument(
            "operation",
            f"no catalogued operation {one_line(operation, 80)!r}; call search_api_operations to find "
            'its id (like "GET /goods/{location_id}")',
        )
    return op


# --- search ------------------------------------------------------------------------------------------


class SearchArgs(Args):
    query: str = Field(
        min_length=2, max_length=200, description="What you want to do, in words: 'product stock', 'refund'."
    )
    tag: str | None = Field(default=None, max_length=60, description="Only this API area, e.g. Products.")


class OperationLine(Out):
    operation: str = Field(description="Id to pass to describe_api_operation / call_api_operation.")
    summary: str
    tag: str
    kind: Kind
    use_tool: str | None = Field(default=None, description="A typed tool covers this: use it instead.")
    replaced_by: str | None = Field(default=None, description="Deprecated; the operation to use instead.")


class SearchResult(Result):
    items: list[OperationLine]
    tags: list[str] | None = Field(default=None, description="The API areas, when nothing matched.")


def _line(op: CatalogOperation) -> OperationLine:
    return OperationLine(
        operation=op.id,
        summary=op.summary,
        tag=op.tag,
        kind=op.kind,
        use_tool=typed_tool_for(op),
        replaced_by=op.replacement,
    )


async def search(ctx: OpContext, args: SearchArgs) -> SearchResult:
    tag = args.tag
    if tag is not None and tag.lower() not in {t.lower() for t in _tags()}:
        raise InvalidArgument("tag", f"unknown tag {one_line(tag, 60)!r}; tags: {', '.join(_tags())}")
    hits = [_line(op) for op in _search(args.query, tag)]
    return SearchResult(items=hits, tags=None if hits else list(_tags()))


def render_search(out: SearchResult) -> str:
    if not out.items:
        return "No catalogued operation matched. Areas: " + ", ".join(out.tags or []) + "."
    lines: list[str] = []
    for item in out.items:
        extra = f" — use {item.use_tool}" if item.use_tool else ""
        extra += f" — deprecated, use {item.replaced_by}" if item.replaced_by else ""
        lines.append(f"{item.operation} [{item.kind}] {item.summary}{extra}")
    return "\n".join(lines)


SEARCH = Operation(
    name="search_api_operations",
    title="Search the Altegio API",
    description=(
        "Find Altegio API operations no typed tool covers (products, stock, sales, payments, loyalty, "
        "salaries, settings…). Returns ids for describe_api_operation / call_api_operation. "
        "Prefer a typed tool when one is named."
    ),
    method="GET",
    path="(catalog)",
    input_model=SearchArgs,
    output_model=SearchResult,
    toolset=TOOLSET,
    kind="read",
    handler=search,
    render=render_search,
)


# --- describe ----------------------------------------------------------------------------------------


class DescribeArgs(Args):
    operation: str = OperationId


class Description(Result):
    operation: str
    method: str
    path: str = Field(description="Path template; the version prefix is added by the server.")
    version: Literal["v1", "v2"]
    tag: str
    summary: str
    kind: Kind
    use_tool: str | None = Field(default=None, description="A typed tool covers this: use it instead.")
    callable: bool = Field(description="False: call_api_operation refuses it (see notes).")
    replaced_by: str | None = None
    path_schema: dict[str, JsonValue]
    query_schema: dict[str, JsonValue]
    body_schema: JsonValue = Field(default=None, description="Null: the operation takes no body.")
    response_fields: list[str] = Field(description="Field names of the answer's data.")
    facts: Literal["full", "partial"] = Field(description="partial: some parameters are not catalogued.")


def refusal_reason(op: CatalogOperation) -> str | None:
    tool = typed_tool_for(op)
    if tool is not None:
        return f"the typed tool {tool} covers {op.id}: call {tool} instead (it validates and renders better)"
    return op.not_callable


async def describe(ctx: OpContext, args: DescribeArgs) -> Description:
    op = lookup(args.operation)
    reason = refusal_reason(op)
    notes = [f"Not callable here: {reason}."] if reason else []
    if op.facts != "full":
        notes.append("Some parameters are not catalogued (" + ", ".join(op.missing) + "); others pass.")
    return Description(
        operation=op.id,
        method=op.method,
        path=op.path,
        version="v2" if op.version == "v2" else "v1",
        tag=op.tag,
        summary=op.summary,
        kind=op.kind,
        use_tool=typed_tool_for(op),
        callable=reason is None,
        replaced_by=op.replacement,
        path_schema=op.path_schema,
        query_schema=op.query_schema,
        body_schema=cast(JsonValue, op.body_schema),
        response_fields=list(op.response_data),
        facts="full" if op.facts == "full" else "partial",
        notes=notes,
    )


def render_description(out: Description) -> str:
    head = f"{out.operation} [{out.kind}] {out.summary}"
    if out.use_tool:
        head += f"\nUse the typed tool {out.use_tool} instead."
    if out.replaced_by:
        head += f"\nDeprecated: use {out.replaced_by}."
    schemas = {"path": out.path_schema, "query": out.query_schema, "body": out.body_schema}
    return head + "\n" + _clip(json.dumps(schemas, ensure_ascii=False, separators=(",", ":")))


DESCRIBE = Operation(
    name="describe_api_operation",
    title="Describe an Altegio API operation",
    description=(
        "JSON Schemas (path, query, body), kind (read/write/destructive) and answer fields of one "
        "operation found with search_api_operations, before calling it with call_api_operation."
    ),
    method="GET",
    path="(catalog)",
    input_model=DescribeArgs,
    output_model=Description,
    toolset=TOOLSET,
    kind="read",
    handler=describe,
    render=render_description,
)


# --- call ----------------------------------------------------------------------------------------------


class CallArgs(Args):
    operation: str = OperationId
    path: dict[str, JsonValue] | None = Field(
        default=None, description="Path parameters by name; location_id defaults to the server's."
    )
    query: dict[str, JsonValue] | None = Field(default=None, description="Query parameters by name.")
    body: dict[str, JsonValue] | list[JsonValue] | None = Field(
        default=None, description="Request body (object, or array where the schema says so)."
    )

    @property
    def location_id(self) -> int | None:
        """The location a call is about, for the audit trail."""
        for name in LOCATION_PARAMS:
            value = (self.path or {}).get(name)
            if isinstance(value, int) and not isinstance(value, bool):
                return value
        return None


class CallResult(Result):
    operation: str
    request: str = Field(description="What was sent: method and path with values.")
    status: int
    data: JsonValue = Field(default=None, description="Altegio's answer data (long lists are cut).")
    meta: JsonValue = None
    omitted: int | None = Field(default=None, description="List items left out of data; page for more.")


def _coerce(value: JsonValue, schema: dict[str, Any]) -> JsonValue:
    """Numbers and booleans a model sent as text, read as the schema's type (path and query only)."""
    types: object = schema.get("type")
    wanted: set[str] = (
        {str(t) for t in cast("list[object]", types)} if isinstance(types, list) else {str(types)}
    )
    if isinstance(value, str):
        text = value.strip()
        if wanted & {"integer", "number"} and text.lstrip("-").isdigit():
            return int(text)
        if "number" in wanted:
            try:
                return float(text)
            except ValueError:
                return value
        if "boolean" in wanted and text.lower() in {"true", "false"}:
            return text.lower() == "true"
    numeric = isinstance(value, int | float) and not isinstance(value, bool)
    if numeric and "string" in wanted and not wanted & {"integer", "number"}:
        return str(value)
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        items = cast("dict[str, Any]", schema["items"])
        return [_coerce(v, items) for v in value]
    return value


def _coerced(values: dict[str, JsonValue], schema: dict[str, Any]) -> dict[str, JsonValue]:
    props = cast("dict[str, dict[str, Any]]", schema.get("properties", {}))
    return {k: _coerce(v, props[k]) if k in props else v for k, v in values.items()}


def _problems(part: str, value: JsonValue, schema: dict[str, Any]) -> list[str]:
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(schema)
    found: list[str] = []
    errors: list[JsonSchemaError] = list(validator.iter_errors(value))  # pyright: ignore[reportUnknownMemberType]
    for error in sorted(errors, key=lambda e: [str(p) for p in e.absolute_path]):
        where = part + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
        if error.validator == "additionalProperties":
            allowed = sorted(cast("dict[str, Any]", error.schema).get("properties", {}))
            extra = error.message.split("(", 1)[-1].rstrip(")")
            found.append(f"{where}: unknown field(s) {extra}; known: {', '.join(allowed) or 'none'}")
        elif error.validator == "required":
            found.append(f"{where}: {error.message}")
        else:
            found.append(f"{where}: {one_line(error.message, 160)}")
        if len(found) >= 8:
            break
    return found


def validated(
    ctx: OpContext, op: CatalogOperation, args: CallArgs
) -> tuple[dict[str, JsonValue], dict[str, JsonValue]]:
    """Path and query values checked against the catalog; the body too. Raises before any HTTP."""
    granted = ctx.caller.locations
    if granted is not None and not any(name in op.path_params for name in LOCATION_PARAMS):
        # A sign-in limited to some locations reaches only operations scoped to one location.
        allowed = ", ".join(str(i) for i in sorted(granted))
        raise InvalidArgument(
            "operation",
            f"refused: {op.id} is not tied to one location, and this sign-in covers location(s) "
            f"{allowed} only",
        )
    path = _coerced(dict(args.path or {}), op.path_schema)
    for name in LOCATION_PARAMS:
        if name in op.path_params and name not in path:
            path[name] = ctx.location_id(None)
            ctx.notes.append(f"{name}: the default location {path[name]}.")
    query = _coerced(dict(args.query or {}), op.query_schema)
    problems = _problems("path", cast(JsonValue, path), op.path_schema)
    problems += _problems("query", cast(JsonValue, query), op.query_schema)
    if op.body_schema is None:
        if args.body not in (None, {}, []):
            problems.append(f"body: {op.id} takes no body")
    elif args.body is not None:
        problems += _problems("body", args.body, op.body_schema)
    elif op.method in {"POST", "PUT", "PATCH"} and op.body_schema.get("required"):
        problems.append("body: required (see describe_api_operation)")
    if problems:
        raise InvalidArgument("arguments", "; ".join(problems))
    for name in LOCATION_PARAMS:
        for values in (path, query):
            value = values.get(name)
            if isinstance(value, int) and not isinstance(value, bool):
                ctx.check_location(value)
    return path, query


def wire_path(op: CatalogOperation, path: dict[str, JsonValue]) -> str:
    return op.url_path(path)


def api_version(op: CatalogOperation) -> Literal[1, 2]:
    return 2 if op.version == "v2" else 1


def _query(values: dict[str, JsonValue]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, dict):
            out[key] = json.dumps(value, ensure_ascii=False)
        elif isinstance(value, list):
            out[key] = [v if isinstance(v, str | int) else json.dumps(v) for v in value]
        else:
            out[key] = value
    return out


def compact(value: JsonValue) -> tuple[JsonValue, int]:
    """Nulls dropped and long lists cut to MAX_ITEMS; also how many list items were left out."""
    omitted = 0

    def walk(node: JsonValue, depth: int) -> JsonValue:
        nonlocal omitted
        if isinstance(node, dict):
            return {k: walk(v, depth + 1) for k, v in node.items() if v is not None}
        if isinstance(node, list):
            limit = MAX_ITEMS if depth == 0 else MAX_ITEMS * 2
            if len(node) > limit:
                omitted += len(node) - limit
            return [walk(v, depth + 1) for v in node[:limit]]
        return node

    return walk(value, 0), omitted


def _clip(text: str) -> str:
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


def ensure_callable(op: CatalogOperation, *, read_only: bool) -> None:
    reason = refusal_reason(op)
    if reason is not None:
        raise InvalidArgument("operation", f"refused: {reason}")
    if read_only and op.kind != "read":
        raise InvalidArgument(
            "operation",
            f"refused: the server is in read-only mode and {op.id} is a {op.kind} operation; only "
            "reads can be called",
        )


async def _send(ctx: OpContext, op: CatalogOperation, args: CallArgs) -> CallResult:
    path, query = validated(ctx, op, args)
    if op.deprecated and op.replacement:
        ctx.notes.append(f"{op.id} is deprecated; Altegio names {op.replacement} instead.")
    params_ = _query(query) or None
    if op.kind == "read":
        # A read (even one sent as POST, a search) may be retried like any read.
        result = await ctx.call(
            op.method,
            wire_path(op, path),
            RAW_JSON,
            params=params_,
            idempotent=True,
            api_version=api_version(op),
        )
    else:
        # A write is sent once and never re-sent (`resend_safe=False`); a lost answer is reported
        # as unknown, naming how to look, rather than guessed.
        try:
            answer = await ctx.write(
                op.method,
                wire_path(op, path),
                RAW_JSON,
                params=params_,
                json_body=args.body if op.body_schema is not None else None,
                api_version=api_version(op),
                verify=_read_back(ctx, op, path),
                check="a catalogued read of the same resource (search_api_operations, then call_api_operation)",
            )
        except WriteOutcomeUnknown as exc:
            cause = exc.cause
            # 501 Not Implemented is definite: the operation is not served there, nothing happened.
            if isinstance(cause, APIStatusError) and cause.status_code == NOT_IMPLEMENTED:
                said = cause.upstream_detail() or "not implemented"
                raise WriteNotDone(
                    f"HTTP 501: {said}", cause=cause, check="the server does not implement this operation"
                ) from exc
            raise
        if isinstance(answer, Verified):
            return CallResult(operation=op.id, request=f"{op.method} {op.url_path(path)}", status=204)
        result = answer
    data, omitted = compact(result.data)
    if omitted:
        ctx.notes.append(f"{omitted} list item(s) left out; ask for a smaller page (page/count) for more.")
    meta, _ = compact(cast(JsonValue, result.meta))
    return CallResult(
        operation=op.id,
        request=f"{op.method} {op.url_path(path)}",
        status=result.status,
        data=data,
        meta=meta or None,
        omitted=omitted or None,
    )


def _read_back(ctx: OpContext, op: CatalogOperation, path: dict[str, JsonValue]) -> ReadBack | None:
    """For a delete whose resource has a catalogued read: read it back after a lost answer (404:
    gone, so done; found: not done). Other writes cannot be told apart from their absence."""
    if op.method != "DELETE":
        return None
    reader = _find(f"{'v2 ' if op.version == 'v2' else ''}GET {op.path}")
    if reader is None or reader.kind != "read":
        return None
    how = f"GET {reader.url_path(path)}"

    async def verify() -> Verdict:
        try:
            await ctx.call("GET", wire_path(reader, path), RAW_JSON, api_version=api_version(reader))
        except NotFound:
            return Verdict(done=True, how=f"{how} answers 404: it is gone")
        return Verdict(done=False, how=f"{how} still finds it")

    return verify


async def call(ctx: OpContext, args: CallArgs) -> CallResult:
    op = lookup(args.operation)
    ensure_callable(op, read_only=False)
    return await _send(ctx, op, args)


async def call_read_only(ctx: OpContext, args: CallArgs) -> CallResult:
    op = lookup(args.operation)
    ensure_callable(op, read_only=True)
    return await _send(ctx, op, args)


def render_call(out: CallResult) -> str:
    head = f"{out.request} -> HTTP {out.status}"
    if out.omitted:
        head += f" ({out.omitted} list items left out)"
    body = json.dumps(out.data, ensure_ascii=False, separators=(",", ":"))
    return head + "\n" + _clip(body)


def needs_confirmation(_ctx: OpContext, args: CallArgs) -> bool:
    op = _find(args.operation)
    return op is not None and op.kind == "destructive" and refusal_reason(op) is None


async def preview(ctx: OpContext, args: CallArgs) -> str:
    """What will be called; where a read of the same resource exists, what it holds now."""
    op = lookup(args.operation)
    path, query = validated(ctx, op, args)
    lines = [f"About to call {op.method} {op.url_path(path)}: {op.summary} ({op.kind})."]
    if query:
        lines.append("Query: " + _clip(json.dumps(query, ensure_ascii=False))[:400])
    if args.body is not None:
        lines.append("Body: " + _clip(json.dumps(args.body, ensure_ascii=False))[:600])
    reader = _find(f"{'v2 ' if op.version == 'v2' else ''}GET {op.path}")
    if reader is not None and reader.kind == "read":
        try:
            current = await ctx.call(
                "GET", wire_path(reader, path), RAW_JSON, api_version=api_version(reader)
            )
        except Exception:  # a preview that cannot read still shows what will be sent
            lines.append("(The current state could not be read.)")
        else:
            data, _ = compact(current.data)
            lines.append("Now: " + json.dumps(data, ensure_ascii=False, separators=(",", ":"))[:600])
    return "\n".join(lines)


def _target(args: CallArgs) -> Target | None:
    return Target("operation", args.operation)


CALL_DESCRIPTION = (
    "Call one catalogued Altegio API operation (id from search_api_operations). Arguments are checked "
    "against describe_api_operation's schemas first. Writes are audited; destructive ones need the "
    "person's confirmation. Refused where a typed tool exists."
)

CALL_READ_ONLY = Operation(
    name="call_api_operation",
    title="Call an Altegio API operation (read-only)",
    description=(
        "Call one catalogued Altegio API read (id from search_api_operations). Arguments are checked "
        "against describe_api_operation's schemas first. The server is read-only: writes are refused, "
        "as is anything a typed tool covers."
    ),
    method="GET",
    path="(catalog)",
    input_model=CallArgs,
    output_model=CallResult,
    toolset=TOOLSET,
    kind="read",
    handler=call_read_only,
    render=render_call,
    target=_target,
)

CALL = Operation(
    name="call_api_operation",
    title="Call an Altegio API operation",
    description=CALL_DESCRIPTION,
    method="POST",
    path="(catalog)",
    input_model=CallArgs,
    output_model=CallResult,
    toolset=TOOLSET,
    kind="destructive",
    handler=call,
    render=render_call,
    confirmation=Confirmation(preview=preview, applies=needs_confirmation),
    idempotent=False,
    resend_safe=False,
    target=_target,
    read_only_variant=CALL_READ_ONLY,
)

OPERATIONS: tuple[Operation[Any, Any], ...] = (SEARCH, DESCRIBE, CALL)
