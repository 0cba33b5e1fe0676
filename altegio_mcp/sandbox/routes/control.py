"""Out-of-API control routes under `/__sandbox__` for end-to-end tests over a socket.

`POST /__sandbox__/reset` reseeds; `GET /__sandbox__/state` summarises the data; `POST
/__sandbox__/faults` queues a scripted fault (body: the keyword arguments of `Faults.script`);
`DELETE /__sandbox__/faults` clears them; `GET /__sandbox__/requests` lists the API requests received
(method, path, status, arrival time; never a body or token). They need no token: the sandbox holds
only demo data.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import get_args

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from altegio_mcp.sandbox.constants import CONTROL_PATH
from altegio_mcp.sandbox.faults import FaultKind, Faults
from altegio_mcp.sandbox.jsontypes import JsonDict, JsonList, to_int, to_number, to_text
from altegio_mcp.sandbox.protocol import ApiError, json_body, ok
from altegio_mcp.sandbox.requestlog import RequestLog
from altegio_mcp.sandbox.state import SandboxState

FAULT_KINDS: tuple[FaultKind, ...] = get_args(FaultKind)


class ControlRoutes:
    def __init__(
        self, state: SandboxState, faults: Faults, requests: RequestLog, reset: Callable[[], None]
    ) -> None:
        self.state = state
        self.faults = faults
        self.requests = requests
        self.reset_all = reset

    def routes(self) -> list[Route]:
        return [
            Route(f"{CONTROL_PATH}/reset", self.reset, methods=["POST"]),
            Route(f"{CONTROL_PATH}/state", self.summary, methods=["GET"]),
            Route(f"{CONTROL_PATH}/faults", self.script_fault, methods=["POST"]),
            Route(f"{CONTROL_PATH}/faults", self.clear_faults, methods=["DELETE"]),
            Route(f"{CONTROL_PATH}/requests", self.request_log, methods=["GET"]),
        ]

    async def reset(self, request: Request) -> Response:
        self.reset_all()
        return ok({"reset": True})

    async def summary(self, request: Request) -> Response:
        state = self.state
        data: JsonDict = {
            "today": state.today.isoformat(),
            "now": state.now().isoformat(),
            "locations": len(state.locations_by_id),
            "team_members": len(state.team_members_by_id),
            "services": len(state.services_by_id),
            "clients": len(state.clients_by_id),
            "appointments": len(state.appointments()),
            "deleted_appointments": len(state.appointments(include_deleted=True)) - len(state.appointments()),
            "visits": len(state.visits_by_id),
            "reviews": len(state.reviews_by_id),
            "client_schedules": len(state.client_schedules_by_id),
            "requests": len(self.requests),
            "pending_faults": len(self.faults.pending),
        }
        return ok(data)

    async def script_fault(self, request: Request) -> Response:
        body = await json_body(request)
        wanted = to_text(body.get("kind"))
        kind: FaultKind | None = next((k for k in FAULT_KINDS if k == wanted), None)
        if kind is None:
            raise ApiError.invalid("kind", f"kind must be one of {list(FAULT_KINDS)}.")
        retry_after = body.get("retry_after")
        self.faults.script(
            kind=kind,
            method=to_text(body.get("method")),
            path_pattern=to_text(body.get("path_pattern")) or "",
            times=to_int(body.get("times")) or 1,
            status=to_int(body.get("status")) or 503,
            retry_after=retry_after if isinstance(retry_after, int | str) else None,
            seconds=to_number(body.get("seconds")) or 0.0,
            message=to_text(body.get("message")) or "Sandbox scripted fault.",
        )
        return ok({"pending": len(self.faults.pending)}, status=201)

    async def request_log(self, request: Request) -> Response:
        records: JsonList = [
            {"method": r.method, "path": r.path, "status": r.status, "at": r.at} for r in self.requests
        ]
        return ok(records)

    async def clear_faults(self, request: Request) -> Response:
        self.faults.clear()
        return ok({"pending": 0})
