"""Routes: clients (search, read, create, edit, delete), client comments, visit history search."""

from __future__ import annotations

from datetime import date

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from altegio_mcp.sandbox.client_search import (
    ORDER_FIELDS,
    Predicate,
    build_predicate,
    client_facts,
    invalid_filter,
    projected,
    sort_key,
)
from altegio_mcp.sandbox.clients import (
    DUPLICATE_PHONE_MESSAGE,
    PHONE_DIGITS_MESSAGE,
    client_by_phone,
    create_client,
    normalized_phone,
    valid_phone,
)
from altegio_mcp.sandbox.history import HistoryQuery, search_history
from altegio_mcp.sandbox.jsontypes import JsonList, as_list, to_int, to_number, to_text
from altegio_mcp.sandbox.models import Client, ClientComment, Location
from altegio_mcp.sandbox.protocol import ApiError, FieldErrors, json_body, no_content, ok
from altegio_mcp.sandbox.routes.common import Context, api_route, path_int
from altegio_mcp.sandbox.timeutil import parse_date
from altegio_mcp.sandbox.views_catalog import client_comment_json, client_json

DEFAULT_PAGE_SIZE = 25
DEFAULT_FIELDS = ["id", "name"]
TEXT_FIELDS = ("surname", "middle_name", "email", "card", "comment")
NUMBER_FIELDS = ("discount", "spent", "balance")
FLAG_FIELDS = ("gender_id", "importance_id", "sms_check", "sms_not")


class ClientRoutes:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def routes(self) -> list[Route]:
        comments = "/clients/{location_id:int}/clients/{client_id:int}/comments"
        return [
            api_route("/company/{location_id:int}/clients/search", self.search, "POST"),
            api_route("/company/{location_id:int}/clients/visits/search", self.visit_history, "POST"),
            api_route("/client/{location_id:int}/{client_id:int}", self.get_client, "GET"),
            api_route("/client/{location_id:int}/{client_id:int}", self.update_client, "PUT"),
            api_route("/client/{location_id:int}/{client_id:int}", self.delete_client, "DELETE"),
            api_route("/clients/{location_id:int}", self.create, "POST"),
            api_route(comments, self.list_comments, "GET"),
            api_route(comments, self.add_comment, "POST"),
            api_route(comments + "/{comment_id:int}", self.delete_comment, "DELETE"),
        ]

    def _client(self, location: Location, client_id: int) -> Client:
        client = self.ctx.state.client(client_id)
        if client is None or client.location_id != location.id:
            raise ApiError.not_found("Client not found.")
        return client

    async def search(self, request: Request) -> Response:
        _, location = self.ctx.user_location(request, path_int(request, "location_id"))
        body = await json_body(request)
        page = to_int(body.get("page")) if body.get("page") is not None else 1
        size = to_int(body.get("page_size")) if body.get("page_size") is not None else DEFAULT_PAGE_SIZE
        limit = self.ctx.page_max("clients_search")
        if page is None or page < 1:
            raise ApiError.invalid("page", "page must be a positive integer.")
        if size is None or not 1 <= size <= limit:
            raise ApiError.invalid("page_size", f"page_size must be between 1 and {limit}.")
        fields = [f for f in (to_text(i) for i in as_list(body.get("fields")) or []) if f] or DEFAULT_FIELDS
        order_by = to_text(body.get("order_by")) or "id"
        if order_by not in ORDER_FIELDS:
            raise ApiError.invalid("order_by", f"order_by must be one of {sorted(ORDER_FIELDS)}.")
        descending = (to_text(body.get("order_by_direction")) or "ASC").upper() == "DESC"
        use_or = (to_text(body.get("operation")) or "AND").upper() == "OR"
        raw_filters = body.get("filters")
        filter_items = as_list(raw_filters) if raw_filters is not None else []
        if filter_items is None:
            raise invalid_filter()
        state = self.ctx.state
        predicates: list[Predicate] = [
            p for item in filter_items if (p := build_predicate(state, item)) is not None
        ]
        facts = client_facts(state, location.id)
        if predicates:
            combine = any if use_or else all
            facts = [f for f in facts if combine(p(f) for p in predicates)]
        facts.sort(key=sort_key(order_by), reverse=descending)
        chosen = facts[(page - 1) * size : page * size]
        data: JsonList = [projected(state, f, fields) for f in chosen]
        return ok(data, {"total_count": len(facts)})

    async def get_client(self, request: Request) -> Response:
        _, location = self.ctx.user_location(request, path_int(request, "location_id"))
        return ok(client_json(self.ctx.state, self._client(location, path_int(request, "client_id"))))

    def _read_client_body(
        self, body: dict[str, object], location: Location, own_id: int | None
    ) -> tuple[str, str]:
        errors = FieldErrors()
        name = (to_text(body.get("name")) or "").strip()
        phone = to_text(body.get("phone")) or ""
        if not name:
            errors.add("name", "Client name not specified")
        if not phone.strip():
            errors.add("phone", "Customer phone number cannot be empty")
        elif not valid_phone(phone):
            errors.add("phone", PHONE_DIGITS_MESSAGE)
        else:
            existing = client_by_phone(self.ctx.state, location.id, phone)
            if existing is not None and existing.id != own_id:
                errors.add("phone", DUPLICATE_PHONE_MESSAGE)
        errors.raise_if_any()
        return name, phone

    def _apply_optional(self, client: Client, body: dict[str, object], labels_key: str) -> None:
        for key in TEXT_FIELDS:
            value = to_text(body.get(key))
            if value is not None:
                setattr(client, key, value)
        for key in NUMBER_FIELDS:
            amount = to_number(body.get(key))
            if amount is not None:
                setattr(client, key, amount)
        for key in FLAG_FIELDS:
            flag = to_int(body.get(key))
            if flag is not None:
                setattr(client, key, flag)
        birth = to_text(body.get("birth_date"))
        if birth is not None:
            parsed = parse_date(birth)
            client.birth_date = parsed.isoformat() if parsed is not None else None
        labels = as_list(body.get(labels_key))
        if labels is not None:
            client.labels = [v for v in (to_int(item) for item in labels) if v is not None]

    async def create(self, request: Request) -> Response:
        _, location = self.ctx.user_location(request, path_int(request, "location_id"))
        body = await json_body(request)
        name, phone = self._read_client_body(body, location, None)
        client = create_client(self.ctx.state, location, name, phone)
        self._apply_optional(client, body, "categories")
        return ok(client_json(self.ctx.state, client), status=201)

    async def update_client(self, request: Request) -> Response:
        _, location = self.ctx.user_location(request, path_int(request, "location_id"))
        client = self._client(location, path_int(request, "client_id"))
        body = await json_body(request)
        name, phone = self._read_client_body(body, location, client.id)
        client.name, client.phone = name, normalized_phone(phone)
        self._apply_optional(client, body, "labels")
        client.last_change_date = self.ctx.state.now().astimezone(location.tz)
        return ok(client_json(self.ctx.state, client))

    async def delete_client(self, request: Request) -> Response:
        _, location = self.ctx.user_location(request, path_int(request, "location_id"))
        client = self._client(location, path_int(request, "client_id"))
        del self.ctx.state.clients_by_id[client.id]
        return no_content()

    async def list_comments(self, request: Request) -> Response:
        _, location = self.ctx.user_location(request, path_int(request, "location_id"))
        client = self._client(location, path_int(request, "client_id"))
        comments = sorted(
            self.ctx.state.client_comments(client.id), key=lambda c: (c.create_date, c.id), reverse=True
        )
        data: JsonList = [client_comment_json(self.ctx.state, c) for c in comments]
        return ok(data, {"count": len(data)})

    async def add_comment(self, request: Request) -> Response:
        user, location = self.ctx.user_location(request, path_int(request, "location_id"))
        client = self._client(location, path_int(request, "client_id"))
        text = (to_text((await json_body(request)).get("text")) or "").strip()
        if not text:
            raise ApiError.invalid("text", "text is required.")
        state = self.ctx.state
        now = state.now().astimezone(location.tz)
        comment = ClientComment(
            state.next_id("client_comment"), location.id, client.id, text, now, now, user.id
        )
        state.client_comments_by_id[comment.id] = comment
        return ok(client_comment_json(state, comment), {}, status=201)

    async def delete_comment(self, request: Request) -> Response:
        _, location = self.ctx.user_location(request, path_int(request, "location_id"))
        client = self._client(location, path_int(request, "client_id"))
        comment = self.ctx.state.client_comments_by_id.get(path_int(request, "comment_id"))
        if comment is None or comment.client_id != client.id:
            raise ApiError.not_found("Comment not found.")
        del self.ctx.state.client_comments_by_id[comment.id]
        return no_content()

    async def visit_history(self, request: Request) -> Response:
        _, location = self.ctx.user_location(request, path_int(request, "location_id"))
        body = await json_body(request)
        state = self.ctx.state
        client_id = to_int(body.get("client_id"))
        phone = to_text(body.get("client_phone"))
        client = state.client(client_id) if client_id is not None else None
        if client is None and phone:
            client = client_by_phone(state, location.id, phone)
        if client_id is None and not phone:
            raise ApiError.invalid("client_id", "client_id or client_phone is required.")
        if client is None or client.location_id != location.id:
            raise ApiError.not_found("Client not found.")
        errors = FieldErrors()
        bounds: list[date | None] = []
        for key in ("from", "to"):
            text = to_text(body.get(key))
            parsed = parse_date(text) if text else None
            if text and parsed is None:
                errors.add(key, f"{key} must be a date (YYYY-MM-DD).")
            bounds.append(parsed)
        statuses = {s for s in (to_text(i) for i in as_list(body.get("payment_statuses")) or []) if s}
        if statuses - {"not_paid", "paid_not_full", "paid_full", "paid_over"}:
            errors.add("payment_statuses", "Unknown payment status.")
        attendance = to_int(body.get("attendance"))
        if body.get("attendance") is not None and attendance not in (-1, 0, 1, 2):
            errors.add("attendance", "attendance must be one of -1, 0, 1, 2.")
        errors.raise_if_any()
        query = HistoryQuery(client.id, bounds[0], bounds[1], frozenset(statuses), attendance)
        data, meta = search_history(state, location, query)
        return ok(data, meta)
