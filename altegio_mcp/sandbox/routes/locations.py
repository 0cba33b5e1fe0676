"""Routes: `POST /auth`, `GET /companies`, `GET /company/{location_id}` (partner-only reads)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from altegio_mcp.sandbox.booking import bookable_members, next_slot
from altegio_mcp.sandbox.jsontypes import JsonDict, JsonList, to_text
from altegio_mcp.sandbox.models import Location
from altegio_mcp.sandbox.protocol import ApiError, FieldErrors, json_body, ok, query_flag, query_int
from altegio_mcp.sandbox.routes.common import Context, api_route, path_int
from altegio_mcp.sandbox.timeutil import iso
from altegio_mcp.sandbox.views_catalog import location_json, location_list_json

BAD_CREDENTIALS = "Invalid login or password."


class LocationRoutes:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def routes(self) -> list[Route]:
        return [
            api_route("/auth", self.authorize, "POST"),
            api_route("/companies", self.list_locations, "GET"),
            api_route("/company/{location_id:int}", self.get_location, "GET"),
        ]

    async def authorize(self, request: Request) -> Response:
        self.ctx.require_partner(request)
        body = await json_body(request)
        errors = FieldErrors()
        login, password = to_text(body.get("login")), to_text(body.get("password"))
        if not login:
            errors.add("login", "login is required (phone or email).")
        if not password:
            errors.add("password", "password is required.")
        errors.raise_if_any()
        user = self.ctx.state.user_by_login(login or "")
        if user is None or user.password != password:
            raise ApiError.standard(401, BAD_CREDENTIALS)
        data: JsonDict = {
            "id": user.id,
            "user_token": user.token,
            "name": user.name,
            "phone": user.phone,
            "login": user.login,
            "email": user.email,
            "avatar": user.avatar,
            "is_approved": True,
            "is_email_confirmed": True,
        }
        return ok(data, status=201)

    def _next_slot(self, location: Location) -> str | None:
        state = self.ctx.state
        found = next_slot(state, location, bookable_members(state, location, []), [])
        return iso(found) if found is not None else None

    async def list_locations(self, request: Request) -> Response:
        self.ctx.require_partner(request)
        state = self.ctx.state
        locations = state.locations()
        if query_flag(request, "my"):
            user = self.ctx.require_user(request)
            locations = [loc for loc in locations if loc.id in user.location_ids]
        wanted_id = query_int(request, "id")
        group_id = query_int(request, "group_id")
        city_id = query_int(request, "city_id")
        min_id = query_int(request, "min_id")
        business_type_id = query_int(request, "business_type_id")
        locations = [
            loc
            for loc in locations
            if (wanted_id is None or loc.id == wanted_id)
            and (group_id is None or loc.main_group_id == group_id)
            and (city_id is None or loc.city_id == city_id)
            and (min_id is None or loc.id >= min_id)
            and (business_type_id is None or loc.business_type_id == business_type_id)
        ]
        count = query_int(request, "count", minimum=1)
        if count is not None:
            page = query_int(request, "page", minimum=1) or 1
            locations = locations[(page - 1) * count : page * count]
        for_booking = query_flag(request, "forBooking")
        data: JsonList = [
            location_list_json(state, loc, self._next_slot(loc) if for_booking else None) for loc in locations
        ]
        return ok(data)

    async def get_location(self, request: Request) -> Response:
        self.ctx.require_partner(request, legacy=True)
        location = self.ctx.state.location(path_int(request, "location_id"))
        if location is None:
            raise ApiError.legacy(404, "Not found")
        my = query_flag(request, "my")
        if my:
            user = self.ctx.require_user(request, legacy=True)
            if location.id not in user.location_ids:
                raise ApiError.forbidden()
        data = location_json(
            self.ctx.state,
            location,
            next_slot=self._next_slot(location) if query_flag(request, "forBooking") else None,
            show_groups=query_flag(request, "show_groups"),
            show_bookforms=query_flag(request, "showBookforms"),
            access=my,
        )
        form_id = query_int(request, "bookform_id")
        if form_id is not None:
            data["online_sales_form_url"] = f"https://o{form_id}.alteg.io/"
        return ok(data)
