"""The policy wrapper: every `Operation` becomes an MCP tool here, and only here.

For each selected operation this module derives the tool's flat input schema, output schema and
all four annotations, and wraps the handler in one policy: arguments checked before any HTTP
(`arguments.py`), the confirmation gate for destructive calls (`gate.py`), upstream errors turned
into text written for a model (`ToolError`, the only text the SDK lets through), public text
cleaned, the audit trail of writes, and a short text rendering beside the structured result.
Toolset, allow/deny and read-only filtering happen in `select_operations`, before anything is
registered.
"""

from __future__ import annotations

import base64
import copy
import inspect
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal, cast

from mcp.server.mcpserver import Context, ElicitationResult, Resolve
from mcp.server.mcpserver.exceptions import ToolError, UnexpectedToolError
from mcp.server.mcpserver.resolve import build_resolver_plans, find_resolved_parameters
from mcp.server.mcpserver.tools import Tool
from mcp.server.mcpserver.utilities.func_metadata import ArgModelBase, FuncMetadata
from mcp.shared.exceptions import MCPError
from mcp.types import (
    BlobResourceContents,
    CallToolResult,
    ContentBlock,
    EmbeddedResource,
    TextContent,
    ToolAnnotations,
)
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, create_model

from altegio_mcp.arguments import INVALID, explain_validation, rename_legacy, type_errors
from altegio_mcp.audit import AuditUnavailable
from altegio_mcp.errors import AltegioError, WriteOutcome
from altegio_mcp.gate import (
    APPROVAL_PARAM,
    NOT_DONE_YET,
    TOKEN_FIELD,
    ConfirmationPath,
    ConfirmationRequired,
    ConfirmForm,
    confirmation_resolver,
    decide,
)
from altegio_mcp.operations.base import Args, OpContext, Operation, Result
from altegio_mcp.runtime import Runtime
from altegio_mcp.schema import compact_schema, output_schema, prime_output_schemas
from altegio_mcp.selection import select_operations
from altegio_mcp.text import clean_text

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator

log = logging.getLogger(__name__)

AnyOperation = Operation[Any, Any]

SANDBOX_BANNER = "[SANDBOX: demo data from the embedded emulator, not a real business] "
SANDBOX_TAG = " [SANDBOX]"  # ends error texts, which start with what happened


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
            # No description: a confirmation request says exactly when and how to pass it.
            Field(default=None, max_length=200),
        )
    model = create_model(f"{op.name}_arguments", __base__=(op.input_model, ArgModelBase), **extra)
    return cast(type[ArgModelBase], model)


# --- the tool: validation written for a model -------------------------------------------------------


class OperationTool(Tool):
    """A `Tool` built from an `Operation`; its `run` adds legacy names and model-readable validation."""

    _types: Any = PrivateAttr(default=None)  # a jsonschema Draft202012Validator, built lazily

    def _type_checker(self) -> Draft202012Validator:
        # Built on first use: importing jsonschema's validators costs ~45 ms of start-up.
        if self._types is None:
            from jsonschema import validators

            self._types = validators.Draft202012Validator(self.parameters)
        checker: Draft202012Validator = self._types
        return checker

    def _invalid(self, problems: dict[str, str], exc: ValidationError | None) -> ToolError:
        lines = list(problems.values())
        if exc is not None:
            lines += explain_validation(exc, self.parameters, frozenset(problems))
        return ToolError(f"{INVALID}{' '.join(lines)}")

    async def run(
        self, arguments: dict[str, Any], context: Context[Any, Any], convert_result: bool = False
    ) -> Any:
        arguments = self.fn_metadata.pre_parse_json(rename_legacy(arguments, self.parameters))
        problems = type_errors(self._type_checker(), arguments)
        if problems:
            try:
                self.fn_metadata.arg_model.model_validate(arguments)
            except ValidationError as exc:
                raise self._invalid(problems, exc) from exc
            raise self._invalid(problems, None)
        try:
            return await super().run(arguments, context, convert_result)
        except UnexpectedToolError as exc:
            # A bug: the SDK logs the traceback; the model gets what happened, without the SDK prefix.
            raise UnexpectedToolError(
                f"Internal error: {self.name} failed inside altegio-mcp (logged on the server). "
                "Check with a get_ or list_ tool whether anything changed before you retry."
            ) from exc.__cause__
        except ToolError as exc:
            cause = exc.__cause__
            # The SDK validates the arguments once with our model; rewrite its message for a model.
            if isinstance(cause, ValidationError) and cause.title == self.fn_metadata.arg_model.__name__:
                raise self._invalid({}, cause) from cause
            # The SDK puts "Error executing tool <name>: " before every ToolError; the text starts
            # with what happened instead.
            if isinstance(cause, ToolError):
                raise ToolError(str(cause)) from cause
            raise
        except MCPError as exc:
            # Only a confirmation prompt can raise a protocol error in our tools: fail closed, visibly.
            raise ToolError(
                f"Not done: asking the person to confirm failed ({exc.error.message}); nothing was changed."
            ) from exc


# --- the call path ---------------------------------------------------------------------------------


class ToolFactory:
    """Builds one `OperationTool` per operation, all sharing one `Runtime`."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def build_all(self, operations: Sequence[AnyOperation]) -> list[OperationTool]:
        prime_tool_output_schemas(operations)  # one schema pass for every output model
        return [self.build(op) for op in operations]

    def build(self, op: AnyOperation, published: dict[str, Any] | None = None) -> OperationTool:
        """The tool of `op`. `published` is its `tools/list` form from the schema cache, whose
        schemas are used as they are (a test keeps the cache equal to a fresh generation)."""
        args_model = argument_model(op)
        handler = self._handler(op, args_model)
        if published is None:
            parameters, output = compact_schema(args_model), tool_output_schema(op)
        else:
            parameters = copy.deepcopy(cast(dict[str, Any], published["inputSchema"]))
            output = cast(dict[str, Any], published["outputSchema"])
        # Built directly rather than with `Tool.from_function`, which would derive (and we would
        # throw away) a second argument model and two full JSON schemas per tool at every start.
        resolved = find_resolved_parameters(handler)
        return OperationTool(
            fn=handler,
            name=op.name,
            title=op.title,
            description=op.description,
            parameters=parameters,
            # No `output_model`: every result is built as an instance of the operation's output
            # model (validated on construction), so the SDK's second validation would only add cost.
            fn_metadata=FuncMetadata(arg_model=args_model, output_schema=output),
            is_async=True,
            context_kwarg="ctx",
            resolved_params=dict(resolved),
            resolver_plans=build_resolver_plans(resolved, set(args_model.model_fields)),
            annotations=annotations_for(op),
        )

    def _handler(self, op: AnyOperation, args_model: type[BaseModel]) -> Callable[..., Any]:
        runtime = self.runtime
        field_names = list(args_model.model_fields)

        async def handler(**kwargs: Any) -> CallToolResult:
            ctx = cast("Context[Any, Any]", kwargs.pop("ctx"))
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
            resolver = confirmation_resolver(self.runtime, op, field_names)
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


async def invoke(
    runtime: Runtime, op: AnyOperation, ctx: Context[Any, Any], kwargs: dict[str, Any], approval: object
) -> CallToolResult:
    started = time.perf_counter()
    caller = runtime.current_caller()
    octx = runtime.op_context(caller)
    octx.resend_safe = bool(op.resend_safe)
    token = cast(str | None, kwargs.pop(TOKEN_FIELD, None))
    args = op.input_model.model_construct(**kwargs)
    # The canonical arguments serve confirmation tokens and the audit trail: writes only.
    arguments: dict[str, Any] = {} if op.read_only else args.model_dump(mode="json", exclude_none=True)
    journal = Journal(runtime, op, octx, args, arguments)
    try:
        journal.confirmation = await decide(runtime, op, octx, args, arguments, token, approval)
        octx.journal = journal.intent
        out = await op.handler(octx, args)
    except ConfirmationRequired as request:
        return confirmation_result(runtime, op, request)
    except ToolError as exc:
        journal.close(f"error: {exc}"[:200])
        if runtime.settings.sandbox:
            raise ToolError(str(exc) + SANDBOX_TAG) from exc
        raise
    except AuditUnavailable as exc:
        raise ToolError(f"Not done: {exc}, so nothing was sent to Altegio. Tell the operator.") from exc
    except AltegioError as exc:
        journal.close(exc.outcome if isinstance(exc, WriteOutcome) else f"error: {type(exc).__name__}")
        log.info("%s failed: %s", op.name, type(exc).__name__)
        suffix = SANDBOX_TAG if runtime.settings.sandbox else ""
        # Altegio's own words (meta.message, field errors) are public text too: cleaned like results;
        # how inputs were read (a time in another zone's offset) explains many refusals.
        read_as = "".join(f" Note: {note}." for note in octx.notes)
        raise ToolError(cast(str, clean_text(exc.model_message())) + read_as + suffix) from exc
    except ValidationError as exc:
        journal.close("done (answer unreadable)")
        raise ToolError(
            "Altegio's answer could not be read (unexpected shape). "
            + (
                "Check with a get_ or list_ tool whether the change happened before retrying."
                if octx.writes_sent and not op.read_only
                else ""
            )
        ) from exc
    except BaseException:
        # Cancelled by the client (or the server stopping) mid-flight: the write may have landed.
        journal.close("cancelled: unknown whether Altegio applied it")
        raise
    out.notes = [*out.notes, *octx.notes]
    journal.close("done (read back)" if octx.settled else "done")
    log.info("%s ok in %.1f ms", op.name, (time.perf_counter() - started) * 1000)
    # Every string from Altegio was cleaned once, on the way in (`clean_wire`), so the result and
    # its text rendering, built from those strings, need no second pass.
    text = op.render(out)
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
        structured_content=out.model_dump(mode="json", exclude_none=True),
        _meta={"altegio-mcp/sandbox": True} if runtime.settings.sandbox else None,
    )


class Journal:
    """The audit side of one tool call: an intent line before each write is sent, then one outcome
    line for each when the call ends, however it ends."""

    __slots__ = ("_args", "_arguments", "_octx", "_op", "_open", "_runtime", "confirmation")

    def __init__(
        self, runtime: Runtime, op: AnyOperation, octx: OpContext, args: Args, arguments: dict[str, Any]
    ) -> None:
        self._runtime, self._op, self._octx = runtime, op, octx
        self._args, self._arguments = args, arguments
        self._open: list[str] = []
        self.confirmation: ConfirmationPath | None = None

    def intent(self, method: str, path: str) -> None:
        target = self._op.target(self._args)
        location = getattr(self._args, "location_id", None) or self._octx.default_location_id
        self._open.append(
            self._runtime.audit.intent(
                tool=self._op.name,
                caller=self._octx.caller.label,
                request=f"{method} {path}",
                location_id=location if isinstance(location, int) else None,
                target_id=target.ident if target else None,
                arguments=self._arguments,
                confirmation=self.confirmation,
            )
        )

    def close(self, outcome: str) -> None:
        for ident in self._open:
            self._runtime.audit.outcome(ident, tool=self._op.name, outcome=outcome)
        self._open.clear()


class ConfirmationPayload(BaseModel):
    """What a confirmation request carries besides its text."""

    tool: str = Field(description="The tool to call again, with the same arguments plus the token.")
    preview: str = Field(description="What the call will change, for the person to read.")
    token: str = Field(description="Pass as confirmation_token, only once the person agreed.")
    expires_at: str = Field(description="When the token stops working, ISO 8601 with offset.")


class ConfirmationRequest(BaseModel):
    """The structured result of a call that waits for the person's confirmation (nothing ran)."""

    model_config = ConfigDict(extra="forbid")

    done: Literal[False] = Field(description="Always false: nothing was changed yet.")
    confirmation: ConfirmationPayload


def prime_tool_output_schemas(operations: Iterable[AnyOperation]) -> None:
    """Generate the output schemas of all these tools in one pass (see `prime_output_schemas`)."""
    prime_output_schemas([*(op.output_model for op in operations), ConfirmationRequest])


def tool_output_schema(op: AnyOperation) -> dict[str, Any]:
    """The operation's complete output schema; a gated one may also answer a confirmation request."""
    if op.confirmation is None:
        return output_schema(op.output_model)
    return output_schema(op.output_model, ConfirmationRequest)


def confirmation_result(runtime: Runtime, op: AnyOperation, request: ConfirmationRequired) -> CallToolResult:
    """A confirmation request as a normal result (not `is_error`): see the README for why."""
    expires = datetime.fromtimestamp(request.expires_at, UTC)
    minutes = max(runtime.tokens.ttl_seconds // 60, 1)
    text = (
        f"{NOT_DONE_YET}\n{request.preview}\nAsk the person whether to go ahead. Only if they agree, "
        f'call {op.name} again with the same arguments plus confirmation_token="{request.token}" '
        f"(valid {minutes} min, until {expires:%H:%M} UTC, once)."
    )
    payload = ConfirmationRequest(
        done=False,
        confirmation=ConfirmationPayload(
            tool=op.name, preview=request.preview, token=request.token, expires_at=expires.isoformat()
        ),
    )
    if runtime.settings.sandbox:
        text += SANDBOX_TAG
    return CallToolResult(
        content=[TextContent(type="text", text=text)],
        structured_content=payload.model_dump(mode="json"),
        _meta={"altegio-mcp/sandbox": True} if runtime.settings.sandbox else None,
    )


__all__ = ["OperationTool", "ToolFactory", "annotations_for", "argument_model", "select_operations"]
