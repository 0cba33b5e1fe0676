"""Routes: visits (read, details, edit) and the visit receipt PDF."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from altegio_mcp.sandbox.models import Visit
from altegio_mcp.sandbox.pdf import receipt_pdf
from altegio_mcp.sandbox.protocol import ApiError, json_body, ok
from altegio_mcp.sandbox.routes.common import Context, api_route, path_int
from altegio_mcp.sandbox.views import visit_details_json, visit_json
from altegio_mcp.sandbox.visits import edit_visit


class VisitRoutes:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def routes(self) -> list[Route]:
        return [
            api_route("/visits/{visit_id:int}", self.get_visit, "GET"),
            api_route("/visits/{visit_id:int}/{record_id:int}", self.edit, "PUT"),
            api_route("/visit/details/{location_id:int}/{record_id:int}/{visit_id:int}", self.details, "GET"),
            api_route("/attendance/receipt_print/{visit_id:int}", self.receipt, "GET"),
        ]

    def _visit(self, request: Request) -> Visit:
        """The visit named in the path, after the caller's access to its location is checked."""
        user = self.ctx.require_user(request)
        visit = self.ctx.state.visit(path_int(request, "visit_id"))
        if visit is None:
            raise ApiError.not_found("Visit not found.")
        if visit.location_id not in user.location_ids:
            raise ApiError.forbidden()
        return visit

    async def get_visit(self, request: Request) -> Response:
        return ok(visit_json(self.ctx.state, self._visit(request)))

    async def edit(self, request: Request) -> Response:
        visit = self._visit(request)
        record = self.ctx.state.appointment(path_int(request, "record_id"))
        if record is None or record.visit_id != visit.id or record.deleted:
            raise ApiError.not_found("Appointment not found in this visit.")
        edit_visit(self.ctx.state, visit, record, await json_body(request))
        return ok(visit_json(self.ctx.state, visit))

    async def details(self, request: Request) -> Response:
        _, location = self.ctx.user_location(request, path_int(request, "location_id"))
        visit = self.ctx.state.visit(path_int(request, "visit_id"))
        record = self.ctx.state.appointment(path_int(request, "record_id"))
        if visit is None or visit.location_id != location.id or record is None or record.visit_id != visit.id:
            raise ApiError.not_found("Visit not found.")
        return ok(visit_details_json(self.ctx.state, visit))

    async def receipt(self, request: Request) -> Response:
        visit = self._visit(request)
        return Response(
            receipt_pdf(self.ctx.state, visit),
            media_type="application/pdf",
            headers={"Content-Disposition": f'inline; filename="receipt-{visit.id}.pdf"'},
        )
