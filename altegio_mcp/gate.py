"""The confirmation gate: destructive calls run only after the person agreed.

Before the tool body runs, a resolver decides: nothing to confirm; a confirmation token in the call
(checked by `decide`); or the person must be asked. With a client that can show a form the server
asks it (`Elicit` on 2026-07-28 sessions, a live `ctx.elicit` on legacy ones, so a failure stays a
tool result); otherwise `decide` answers "not done yet" with a preview and a single-use token.
A confirmation request is not an error: `decide` raises `ConfirmationRequired`, which the tool
wrapper turns into a normal result that starts "Not done yet" and carries the preview, the token and
its expiry as structured content (README, "Confirmation of destructive actions", says why). Every
other outcome that does not run the call (declined, bad token) is an error result saying so.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, cast

from mcp.server.mcpserver import (
    AcceptedElicitation,
    CancelledElicitation,
    Context,
    DeclinedElicitation,
    Elicit,
)
from mcp.server.mcpserver.exceptions import ToolError
from mcp.shared.exceptions import MCPError
from pydantic import BaseModel, Field

from altegio_mcp.confirm import TokenRefused
from altegio_mcp.errors import AltegioError
from altegio_mcp.operations.base import Args, OpContext, Operation
from altegio_mcp.runtime import Runtime

AnyOperation = Operation[Any, Any]

TOKEN_FIELD = "confirmation_token"  # noqa: S105 - an argument name, not a secret
APPROVAL_PARAM = "approval"

ConfirmationPath = Literal["not-needed", "elicited", "token", "auto"]


class ConfirmForm(BaseModel):
    """What the person is asked when the client can show a form."""

    confirm: bool = Field(description="Yes, do it")


NOT_DONE_YET = "Not done yet: needs the person's confirmation."


class ConfirmationRequired(Exception):
    """The call needs the person's agreement first: what will change, and the token that does it."""

    def __init__(self, preview: str, token: str, expires_at: int) -> None:
        super().__init__(NOT_DONE_YET)
        self.preview = preview
        self.token = token
        self.expires_at = expires_at


@dataclass(frozen=True, slots=True)
class Approval:
    """The resolver's verdict before the tool body runs."""

    granted: bool
    path: str


def client_can_elicit(ctx: Context[Any, Any]) -> bool:
    caps = ctx.client_capabilities
    elicitation = caps.elicitation if caps is not None else None
    if elicitation is None or (elicitation.form is None and elicitation.url is not None):
        return False
    version = ctx.protocol_version or ""
    return version >= "2026-07-28" or ctx.session.can_send_request


def confirmation_resolver(runtime: Runtime, op: AnyOperation, field_names: list[str]) -> Callable[..., Any]:
    """Decides, before the body runs, whether the person must be asked (and asks, where possible)."""
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
        if policy == "token" or not client_can_elicit(ctx):
            return Approval(granted=False, path="token-required")
        try:
            preview = await confirmation.preview(octx, args)
        except AltegioError as exc:
            raise ToolError(f"Not done: the target could not be read ({exc.model_message()})") from exc
        question = f"{preview}\n\nProceed?"
        version = ctx.protocol_version or ""
        if version >= "2026-07-28":
            return Elicit(question, ConfirmForm)
        # Legacy session: ask over the back-channel ourselves so a failure stays a tool result.
        try:
            outcome = await ctx.elicit(question, ConfirmForm)
        except (MCPError, ValueError) as exc:
            raise ToolError(
                f"Not done: asking the person to confirm failed ({exc}); nothing was changed"
            ) from exc
        if isinstance(outcome, AcceptedElicitation):
            if outcome.data.confirm:
                return Approval(granted=True, path="elicited")
            raise ToolError("Not done: the person did not confirm; nothing was changed.")
        raise ToolError(f"Not done: the person chose {outcome.action}; nothing was changed.")

    params = [inspect.Parameter("ctx", inspect.Parameter.KEYWORD_ONLY, annotation=Context)]
    params += [inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY) for n in field_names]
    approve.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    approve.__annotations__ = {"ctx": Context, "return": Approval | Elicit[ConfirmForm]}
    approve.__name__ = f"confirm_{op.name}"
    approve.__qualname__ = f"confirm_{op.name}"
    return approve


async def decide(
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
            await runtime.tokens.redeem(token, op.name, arguments, octx.caller.key_id)
        except TokenRefused as exc:
            raise ToolError(f"Not done: {exc}") from exc
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
            raise ToolError("Not done: the person did not confirm; nothing was changed.")
        case DeclinedElicitation() | CancelledElicitation():
            action = approval.action
            raise ToolError(f"Not done: the person chose {action}; nothing was changed.")
        case _:
            pass
    preview = await confirmation.preview(octx, args)
    fresh = runtime.tokens.mint(op.name, arguments, octx.caller.key_id)
    raise ConfirmationRequired(preview, fresh, runtime.tokens.expiry_of(fresh))
