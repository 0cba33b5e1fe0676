"""Routes: location reviews (`GET /comments/{location_id}`, `POST /comments/{location_id}/{team_member_id}`)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from altegio_mcp.sandbox.jsontypes import JsonList, to_int, to_text
from altegio_mcp.sandbox.models import Review
from altegio_mcp.sandbox.protocol import (
    STAFF_ALIASES,
    ApiError,
    FieldErrors,
    json_body,
    ok,
    page_params,
    query_date,
    query_int,
)
from altegio_mcp.sandbox.routes.common import Context, api_route, path_int
from altegio_mcp.sandbox.views_catalog import review_json

DEFAULT_COUNT = 25


class ReviewRoutes:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def routes(self) -> list[Route]:
        return [
            api_route("/comments/{location_id:int}", self.list_reviews, "GET"),
            api_route("/comments/{location_id:int}/{team_member_id:int}", self.leave_review, "POST"),
        ]

    async def list_reviews(self, request: Request) -> Response:
        _, location = self.ctx.user_location(request, path_int(request, "location_id"))
        page, count = page_params(
            request, size_name="count", default_size=DEFAULT_COUNT, max_size=self.ctx.page_max("comments")
        )
        start, end = query_date(request, "start_date"), query_date(request, "end_date")
        staff_id = query_int(request, *STAFF_ALIASES)
        rating = query_int(request, "rating", minimum=1, maximum=5)
        found = [
            r
            for r in self.ctx.state.reviews(location.id)
            if (start is None or r.date.date() >= start)
            and (end is None or r.date.date() <= end)
            and (staff_id is None or r.master_id == staff_id)
            and (rating is None or r.rating == rating)
        ]
        found.sort(key=lambda r: (r.date, r.id), reverse=True)
        data: JsonList = [review_json(r) for r in found[(page - 1) * count : page * count]]
        return ok(data)

    async def leave_review(self, request: Request) -> Response:
        user, location = self.ctx.user_location(request, path_int(request, "location_id"))
        state = self.ctx.state
        member = state.team_member(path_int(request, "team_member_id"))
        if member is None or member.location_id != location.id:
            raise ApiError.not_found("Team member not found.")
        body = await json_body(request)
        errors = FieldErrors()
        mark = to_int(body.get("mark"))
        if mark is None or not 1 <= mark <= 5:
            errors.add("mark", "mark is required: a rating from 1 to 5.")
        name = (to_text(body.get("name")) or "").strip()
        if not name:
            errors.add("name", "name is required.")
        text = to_text(body.get("text"))
        if text is None:
            errors.add("text", "text is required.")
        if mark is None or text is None or errors.items:
            raise ApiError.validation(errors.items)
        review = Review(
            id=state.next_id("review"),
            location_id=location.id,
            master_id=member.id,
            text=text,
            date=state.now().astimezone(location.tz),
            rating=mark,
            user_id=user.id,
            user_name=name,
        )
        state.reviews_by_id[review.id] = review
        member.comments_count += 1
        member.votes_count += 1
        data = review_json(review)
        return ok(data, status=201)
