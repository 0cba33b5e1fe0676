"""Routes: services, service categories and team members of a location."""

from __future__ import annotations

from datetime import date, timedelta

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from altegio_mcp.sandbox.jsontypes import JsonList
from altegio_mcp.sandbox.models import Location, Service, TeamMember
from altegio_mcp.sandbox.protocol import STAFF_ALIASES, ApiError, ok, query_int
from altegio_mcp.sandbox.routes.common import Context, api_route, path_int
from altegio_mcp.sandbox.scheduling import works_on
from altegio_mcp.sandbox.views_catalog import (
    category_json,
    company_service_json,
    company_staff_json,
    service_json,
    staff_json,
)


class CatalogRoutes:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def routes(self) -> list[Route]:
        return [
            api_route("/services/{location_id:int}", self.list_services, "GET"),
            api_route("/company/{location_id:int}/services", self.company_services, "GET"),
            api_route("/company/{location_id:int}/services/{service_id:int}", self.company_service, "GET"),
            api_route("/company/{location_id:int}/service_categories", self.categories, "GET"),
            api_route(
                "/company/{location_id:int}/service_categories/{category_id:int}", self.categories, "GET"
            ),
            api_route("/staff/{location_id:int}", self.list_staff, "GET"),
            api_route("/company/{location_id:int}/staff", self.company_staff_list, "GET"),
            api_route("/company/{location_id:int}/staff/{team_member_id:int}", self.company_staff, "GET"),
        ]

    def _filtered_services(self, request: Request, location: Location, *, strict: bool) -> list[Service]:
        state = self.ctx.state
        staff_id = query_int(request, *STAFF_ALIASES)
        category_id = query_int(request, "category_id")
        if strict and staff_id is not None and self._member(location, staff_id) is None:
            raise ApiError.listed_not_found("Team Member not found.")
        if strict and category_id is not None and state.category(category_id) is None:
            raise ApiError.listed_not_found("Category not found.")
        services = [
            s
            for s in state.services(location.id)
            if (staff_id is None or staff_id in s.staff_lengths)
            and (category_id is None or s.category_id == category_id)
        ]
        return sorted(services, key=lambda s: (-s.weight, s.id))

    def _member(self, location: Location, member_id: int) -> TeamMember | None:
        member = self.ctx.state.team_member(member_id)
        return member if member is not None and member.location_id == location.id else None

    async def list_services(self, request: Request) -> Response:
        _, location = self.ctx.user_location(request, path_int(request, "location_id"))
        data: JsonList = [service_json(s) for s in self._filtered_services(request, location, strict=False)]
        return ok(data)

    async def company_services(self, request: Request) -> Response:
        _, location = self.ctx.user_location(request, path_int(request, "location_id"))
        data: JsonList = [
            company_service_json(s) for s in self._filtered_services(request, location, strict=True)
        ]
        return ok(data, {"total_count": len(data)})

    async def company_service(self, request: Request) -> Response:
        _, location = self.ctx.user_location(request, path_int(request, "location_id"))
        service = self.ctx.state.service(path_int(request, "service_id"))
        if service is None or service.location_id != location.id:
            raise ApiError.listed_not_found("Service not found.")
        return ok(company_service_json(service))

    async def categories(self, request: Request) -> Response:
        _, location = self.ctx.user_location(request, path_int(request, "location_id"))
        state = self.ctx.state
        categories = sorted(state.categories(location.id), key=lambda c: (-c.weight, c.id))
        if "category_id" in request.path_params:
            wanted = path_int(request, "category_id")
            categories = [c for c in categories if c.id == wanted]
            if not categories:
                raise ApiError.listed_not_found("Service category does not exist.")
        staff_id = query_int(request, *STAFF_ALIASES)
        if staff_id is not None:
            if self._member(location, staff_id) is None:
                raise ApiError.listed_not_found("Team Member not found.")
            linked = {s.category_id for s in state.services(location.id) if staff_id in s.staff_lengths}
            categories = [c for c in categories if c.id in linked]
        data: JsonList = [category_json(state, c) for c in categories]
        return ok(data, {"total_count": len(data)})

    async def list_staff(self, request: Request) -> Response:
        _, location = self.ctx.user_location(request, path_int(request, "location_id"))
        state = self.ctx.state
        members = sorted(state.team_members(location.id), key=lambda m: (-m.weight, m.id))
        today = state.now().astimezone(location.tz).date()
        data: JsonList = [staff_json(m, _is_bookable(m, today)) for m in members]
        return ok(data)

    async def company_staff_list(self, request: Request) -> Response:
        _, location = self.ctx.user_location(request, path_int(request, "location_id"))
        members = sorted(self.ctx.state.team_members(location.id), key=lambda m: (-m.weight, m.id))
        data: JsonList = [company_staff_json(m) for m in members]
        return ok(data, {"total_count": len(data)})

    async def company_staff(self, request: Request) -> Response:
        location_id = path_int(request, "location_id")
        _, location = self.ctx.user_location(request, location_id)
        member_id = path_int(request, "team_member_id")
        member = self._member(location, member_id)
        if member is None:
            raise ApiError.listed_not_found(
                f"Team Member with ID {member_id} was not found in branch {location_id}."
            )
        return ok(company_staff_json(member))


def _is_bookable(member: TeamMember, today: date) -> bool:
    """Bookable online: visible, active, and working at some point in the next two weeks."""
    if member.hidden or member.fired or member.status:
        return False
    return any(works_on(member, today + timedelta(days=offset)) for offset in range(14))
