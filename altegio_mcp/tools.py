"""The policy wrapper: every `Operation` becomes an MCP tool here, and only here.

For each selected operation this module derives the tool's flat input schema, output schema and
all four annotations, and wraps the handler in one policy: legacy argument names accepted,
arguments validated before any HTTP with errors that name the field and the tool that lists valid
values, the confirmation gate for destructive calls, upstream errors turned into text written for
a model (`ToolError`, the only text the SDK lets through), the audit trail of writes, and a short
text rendering beside the structured result. Toolset, allow/deny and read-only filtering happen in
`select_operations`, before anything is registered.
"""

from __future__ import annotations

import base64
import inspect
import logging
import time
from collections.abc import AsyncGenerator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any, Literal, cast

from jsonschema import Draft202012Validator
from jsonschema import ValidationError as ValidationErrorJS
from mcp.server.mcpserver import (
    AcceptedElicitation,
    CancelledElicitation,
    Context,
    DeclinedElicitation,
    Elicit,
    ElicitationResult,
    Resolve,
)
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.tools import Tool
from mcp.server.mcpserver.utilities.func_metadata import ArgModelBase
from mcp.shared.exceptions import MCPError
from mcp.types import (
    BlobResourceContents,
    CallToolResult,
    ContentBlock,
    EmbeddedResource,
    TextContent,
    ToolAnnotations,
)
from pydantic import BaseModel, Field, PrivateAttr, ValidationError, create_model

from altegio_mcp.audit import AuditLog
from altegio_mcp.client import AltegioClient
from altegio_mcp.confirm import ConfirmationTokens, TokenRefused
from altegio_mcp.errors import AltegioError, APIStatusError, TransportError
from altegio_mcp.operations.base import (
    Args,
    Caller,
    LocationDirectory,
    OpContext,
    Operation,
    Result,
    SeriesLedger,
)
from altegio_mcp.schema import compact_schema, outline_schema
from altegio_mcp.settings import Settings
from altegio_mcp.text import clean_json, clean_text

log = logging.getLogger(__name__)

AnyOperation = Operation[Any, Any]

TOKEN_FIELD = "confirmation_token"  # noqa: S105 - an argument name, not a secret
APPROVAL_PARAM = "approval"
SANDBOX_BANNER = "[SANDBOX: demo data from the embedded emulator, not a real business] "
SANDBOX_SHORT = "[SANDBOX] "

# Names the model may use from Altegio's older vocabulary; accepted and renamed before validation.
LEGACY_NAMES = {
    "company_id": "location_id",
    "salon_id": "location_id",
    "staff_id": "team_member_id",
    "master_id": "team_member_id",
    "record_id": "appointment_id",
    "staff_ids": "team_member_ids",
}

ConfirmationPath = Literal["not-needed", "elicited", "token", "auto"]


class ConfirmForm(BaseModel):
    """What the person is asked when the client can show a form."""

    confirm: bool = Field(description="Yes, do it")


@dataclass(frozen=True, slots=True)
class Approval:
    """The resolver's verdict before the tool body runs."""

    granted: bool
    path: str
    detail: str = ""


class Runtime:
    """What every tool call shares: settings, the client (opened by the server's lifespan), caches,
    the confirmation tokens, the audit trail, and how to tell who is calling."""

    def __init__(
        self,
        settings: Settings,
        *,
        tokens: ConfirmationTokens,
        audit: AuditLog,
        current_caller: Callable[[], Caller],
        series: SeriesLedger | None = None,
    ) -> None:
        self.settings = settings
        self.series = series or SeriesLedger()
        self.tokens = tokens
        self.audit = audit
        self.current_caller = current_caller
        self._client: AltegioClient | None = None
        self._locations: LocationDirectory | None = None
        self._users = 0

    @asynccontextmanager
    async def connected(self, open_client: Callable[[], AltegioClient]) -> AsyncGenerator[None]:
        """Share one client between overlapping lifespans (several in-memory sessions of one server):
        the first opens it, the last closes it."""
        if self._users == 0:
            client = open_client()
            self._client = client
            self._locations = LocationDirectory(client)
        self._users += 1
        try:
            yield
        finally:
            self._users -= 1
            if self._users == 0 and self._client is not None:
                closing, self._client, self._locations = self._client, None, None
                await closing.aclose()

    @property
    def client(self) -> AltegioClient:
        if self._client is None:
            raise RuntimeError("the Altegio client is not open (the server lifespan has not started)")
        return self._client

    @property
    def locations(self) -> LocationDirectory:
        if self._locations is None:
            raise RuntimeError("the Altegio client is not open (the server lifespan has not started)")
        return self._locations

    def op_context(self, caller: Caller) -> OpContext:
        return OpContext(
            client=self.client,
            caller=caller,
            locations=self.locations,
            default_location_id=self.settings.location_id,
            series=self.series,
        )


# --- selection --------------------------------------------------------------------------------------


def select_operations(
    operations: Sequence[AnyOperation], settings: Settings, default_toolsets: Iterable[str]
) -> list[AnyOperation]:
    """Toolsets, then `tools` added, then `exclude_tools` removed; `read_only` wins over all.

    `default` means the core operations of the default toolsets; naming a toolset takes all of its
    operations; `all` takes everything.
    """
    known_sets = {op.toolset for op in operations}
    known_names = {op.name for op in operations}
    wanted: set[str] = set()
    core_only: set[str] = set()
    for name in settings.toolsets:
        if name == "all":
            wanted |= known_sets
        elif name == "default":
            core_only |= set(default_toolsets)
        elif name in known_sets:
            wanted.add(name)
        else:
            raise ValueError(
                f"unknown toolset {name!r}; choose from: all, default, {', '.join(sorted(known_sets))}"
            )
    for name in [*settings.tools, *settings.exclude_tools]:
        if name not in known_names:
            raise ValueError(f"unknown tool {name!r}; known tools: {', '.join(sorted(known_names))}")
    chosen = [
        op
        for op in operations
        if (op.toolset in wanted or (op.toolset in core_only and op.core) or op.name in settings.tools)
        and op.name not in settings.exclude_tools
    ]
    if settings.read_only:
        chosen = [op for op in chosen if op.read_only]
    return chosen


def annotations_for(op: AnyOperation) -> ToolAnnotations:
    return ToolAnnotations(
        read_only_hint=op.read_only,
        destructive_hint=op.overwrites,
        idempotent_hint=op.is_idempotent,
        open_world_hint=True,
    )


def argument_model(op: AnyOperation) -> type[ArgModelBase]:
    """The tool's argument model: the operation's input plus, when gated, the confirmation token."""
    extra: dict[str, Any] = {}
    if op.confirmation is not None:
        extra[TOKEN_FIELD] = (
            str | None,
            Field(
                default=None,
                max_length=200,
                description="From a confirmation request, once the person agreed.",
            ),
        )
    model = create_model(f"{op.name}_arguments", __base__=(op.input_model, ArgModelBase), **extra)
    return cast(type[ArgModelBase], model)


# --- validation errors written for a model ------------------------------------------------------------


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


class OperationTool(Tool):
    """A `Tool` built from an `Operation`; its `run` adds legacy names and model-readable validation."""

    _types: Draft202012Validator | None = PrivateAttr(default=None)

    def publish_input_schema(self, schema: dict[str, Any]) -> None:
        self.parameters = schema
        self._types = Draft202012Validator(schema)

    async def run(
        self, arguments: dict[str, Any], context: Context[Any, Any], convert_result: bool = False
    ) -> Any:
        arguments = self.fn_metadata.pre_parse_json(rename_legacy(arguments, self.parameters))
        problems = type_errors(self._types, arguments) if self._types is not None else {}
        try:
            self.fn_metadata.arg_model.model_validate(arguments)
        except ValidationError as exc:
            lines = [*problems.values(), *explain_validation(exc, self.parameters, frozenset(problems))]
            raise ToolError(f"Error executing tool {self.name}: {INVALID}{' '.join(lines)}") from exc
        if problems:
            raise ToolError(f"Error executing tool {self.name}: {INVALID}{' '.join(problems.values())}")
        try:
            return await super().run(arguments, context, convert_result)
        except MCPError as exc:
            # Only a confirmation prompt can raise a protocol error in our tools: fail closed, visibly.
            raise ToolError(
                f"Error executing tool {self.name}: not done. Asking the person to confirm failed "
                f"({exc.error.message}); nothing was changed."
            ) from exc


# --- the call path ---------------------------------------------------------------------------------


def _client_can_elicit(ctx: Context[Any, Any]) -> bool:
    caps = ctx.client_capabilities
    elicitation = caps.elicitation if caps is not None else None
    if elicitation is None or (elicitation.form is None and elicitation.url is not None):
        return False
    version = ctx.protocol_version or ""
    return version >= "2026-07-28" or ctx.session.can_send_request


class ToolFactory:
    """Builds one `OperationTool` per operation, all sharing one `Runtime`."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def build(self, op: AnyOperation) -> OperationTool:
        args_model = argument_model(op)
        handler = self._handler(op, args_model)
        tool = OperationTool.from_function(
            handler,
            name=op.name,
            title=op.title,
            description=op.description,
            annotations=annotations_for(op),
            structured_output=True,
        )
        built = cast(OperationTool, tool)
        built.fn_metadata.arg_model = args_model
        built.fn_metadata.output_schema = outline_schema(op.output_model)
        built.publish_input_schema(compact_schema(args_model))
        return built

    def _handler(self, op: AnyOperation, args_model: type[BaseModel]) -> Callable[..., Any]:
        runtime = self.runtime
        field_names = list(args_model.model_fields)

        async def handler(**kwargs: Any) -> CallToolResult:
            ctx = cast(Context[Any, Any], kwargs.pop("ctx"))
            approval = kwargs.pop(APPROVAL_PARAM, None)
            return await invoke(runtime, op, ctx, kwargs, approval)

        params = [inspect.Parameter("ctx", inspect.Parameter.KEYWORD_ONLY, annotation=Context)]
        annotations: dict[str, Any] = {"ctx": Context}
        for name, info in args_model.model_fields.items():
            params.append(
                inspect.Parameter(
                    name,
                    inspect.Parameter.KEYWORD_ONLY,
                    annotation=info.annotation,
                    default=inspect.Parameter.empty
                    if info.is_required()
                    else info.get_default(call_default_factory=True),
                )
            )
            annotations[name] = info.annotation
        if op.confirmation is not None:
            resolver = self._resolver(op, field_names)
            approval_type = Annotated[ElicitationResult[ConfirmForm], Resolve(resolver)]
            params.append(
                inspect.Parameter(APPROVAL_PARAM, inspect.Parameter.KEYWORD_ONLY, annotation=approval_type)
            )
            annotations[APPROVAL_PARAM] = approval_type
        return_type = Annotated[CallToolResult, op.output_model]
        annotations["return"] = return_type
        handler.__signature__ = inspect.Signature(params, return_annotation=return_type)  # type: ignore[attr-defined]
        handler.__annotations__ = annotations
        handler.__name__ = op.name
        handler.__qualname__ = op.name
        return handler

    def _resolver(self, op: AnyOperation, field_names: list[str]) -> Callable[..., Any]:
        """Decides, before the body runs, whether the person must be asked (and asks, where possible)."""
        runtime = self.runtime
        confirmation = op.confirmation
        if confirmation is None:
            raise ValueError(f"{op.name} declares no confirmation")

        async def approve(**kwargs: Any) -> Approval | Elicit[ConfirmForm]:
            ctx = cast(Context[Any, Any], kwargs.pop("ctx"))
            token = kwargs.pop(TOKEN_FIELD, None)
            args = op.input_model.model_construct(**kwargs)
            policy = runtime.settings.confirm
            octx = runtime.op_context(runtime.current_caller())
            if token or not confirmation.applies(octx, args) or policy == "never-ask":
                return Approval(granted=True, path="decided-by-gate")
            if policy == "token" or not _client_can_elicit(ctx):
                return Approval(granted=False, path="token-required")
            try:
                preview = await confirmation.preview(octx, args)
            except AltegioError as exc:
                raise ToolError(f"not done: the target could not be read ({exc.model_message()})") from exc
            question = f"{preview}\n\nProceed?"
            version = ctx.protocol_version or ""
            if version >= "2026-07-28":
                return Elicit(question, ConfirmForm)
            # Legacy session: ask over the back-channel ourselves so a failure stays a tool result.
            try:
                outcome = await ctx.elicit(question, ConfirmForm)
            except (MCPError, ValueError) as exc:
                raise ToolError(
                    f"not done: asking the person to confirm failed ({exc}); nothing was changed"
                ) from exc
            if isinstance(outcome, AcceptedElicitation):
                if outcome.data.confirm:
                    return Approval(granted=True, path="elicited")
                raise ToolError("not done: the person did not confirm; nothing was changed")
            raise ToolError(f"not done: the person chose {outcome.action}; nothing was changed")

        params = [inspect.Parameter("ctx", inspect.Parameter.KEYWORD_ONLY, annotation=Context)]
        params += [inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY) for n in field_names]
        approve.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
        approve.__annotations__ = {"ctx": Context, "return": Approval | Elicit[ConfirmForm]}
        approve.__name__ = f"confirm_{op.name}"
        approve.__qualname__ = f"confirm_{op.name}"
        return approve


async def _gate(
    runtime: Runtime,
    op: AnyOperation,
    octx: OpContext,
    args: Args,
    arguments: dict[str, Any],
    token: str | None,
    approval: object,
) -> ConfirmationPath:
    confirmation = op.confirmation
    if confirmation is None or not confirmation.applies(octx, args):
        return "not-needed"
    if token:
        try:
            runtime.tokens.redeem(token, op.name, arguments, octx.caller.key_id)
        except TokenRefused as exc:
            raise ToolError(f"not done: {exc}") from exc
        return "token"
    if runtime.settings.confirm == "never-ask":
        return "auto"
    match approval:
        case (
            AcceptedElicitation(data=ConfirmForm(confirm=True))
            | AcceptedElicitation(data=Approval(granted=True, path="elicited"))
        ):
            return "elicited"
        case AcceptedElicitation(data=ConfirmForm()):
            raise ToolError("not done: the person did not confirm; nothing was changed")
        case DeclinedElicitation() | CancelledElicitation():
            action = approval.action
            raise ToolError(f"not done: the person chose {action}; nothing was changed")
        case _:
            pass
    preview = await confirmation.preview(octx, args)
    fresh = runtime.tokens.mint(op.name, arguments, octx.caller.key_id)
    minutes = max(runtime.tokens.ttl_seconds // 60, 1)
    raise ToolError(
        f"not done yet: this needs the person's confirmation.\n{preview}\n"
        f"Ask the person whether to go ahead. Only if they agree, call {op.name} again with the same "
        f'arguments plus confirmation_token="{fresh}" (valid {minutes} min, once).'
    )


async def invoke(
    runtime: Runtime, op: AnyOperation, ctx: Context[Any, Any], kwargs: dict[str, Any], approval: object
) -> CallToolResult:
    started = time.perf_counter()
    caller = runtime.current_caller()
    octx = runtime.op_context(caller)
    token = cast(str | None, kwargs.pop(TOKEN_FIELD, None))
    args = op.input_model.model_construct(**kwargs)
    arguments = args.model_dump(mode="json", exclude_none=True)
    confirmed: ConfirmationPath | None = None
    try:
        confirmed = await _gate(runtime, op, octx, args, arguments, token, approval)
        out = await op.handler(octx, args)
    except ToolError as exc:
        if runtime.settings.sandbox:
            raise ToolError(SANDBOX_SHORT + str(exc)) from exc
        raise
    except AltegioError as exc:
        _audit(runtime, op, octx, args, arguments, f"error: {type(exc).__name__}", confirmed)
        log.info("%s failed: %s", op.name, type(exc).__name__)
        prefix = SANDBOX_SHORT if runtime.settings.sandbox else ""
        raise ToolError(prefix + exc.model_message()) from exc
    except ValidationError as exc:
        _audit(runtime, op, octx, args, arguments, "error: unreadable answer", confirmed)
        raise ToolError(
            "Altegio's answer could not be read (unexpected shape). "
            + (
                "Check with a get_ or list_ tool whether the change happened before retrying."
                if octx.writes_sent and not op.read_only
                else ""
            )
        ) from exc
    out.notes = [*out.notes, *octx.notes]
    _audit(runtime, op, octx, args, arguments, "ok", confirmed)
    log.info("%s ok in %.1f ms", op.name, (time.perf_counter() - started) * 1000)
    # Every string leaving the server is cleaned once here, including raw `details` and text
    # renderings, so hidden or reordering characters from public text never reach the model.
    text = cast(str, clean_text(op.render(out)))
    if runtime.settings.sandbox:
        text = SANDBOX_BANNER + text
    content: list[ContentBlock] = [TextContent(type="text", text=text)]
    attachment = out.attachment if isinstance(out, Result) else None
    if attachment is not None:
        content.append(
            EmbeddedResource(
                type="resource",
                resource=BlobResourceContents(
                    uri=attachment.uri,
                    mime_type=attachment.mime_type,
                    blob=base64.b64encode(attachment.data).decode(),
                ),
            )
        )
    return CallToolResult(
        content=content,
        structured_content=clean_json(out.model_dump(mode="json", exclude_none=True)),
        _meta={"altegio-mcp/sandbox": True} if runtime.settings.sandbox else None,
    )


def _audit(
    runtime: Runtime,
    op: AnyOperation,
    octx: OpContext,
    args: Args,
    arguments: dict[str, Any],
    outcome: str,
    confirmed: ConfirmationPath | None,
) -> None:
    if op.read_only or octx.writes_sent == 0:
        return
    target = op.target(args)
    location = getattr(args, "location_id", None) or octx.default_location_id
    runtime.audit.record(
        tool=op.name,
        caller=octx.caller.label,
        location_id=location if isinstance(location, int) else None,
        target_id=target.ident if target else None,
        arguments=arguments,
        outcome=outcome,
        confirmation=confirmed,
    )


__all__ = [
    "APIStatusError",
    "OperationTool",
    "Runtime",
    "ToolFactory",
    "TransportError",
    "annotations_for",
    "argument_model",
    "select_operations",
]
