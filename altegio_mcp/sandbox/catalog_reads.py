"""Catalogued operations no dedicated route emulates: reads shaped by the catalog, 501 for the rest.

A request no route of the sandbox serves is looked up in the operation catalog
(`altegio_mcp.catalog`). A catalogued read is answered with the success envelope, its `data` holding
exactly the operation's documented answer fields (`response_data`), as a short list or one object
as the catalog records. Values come from the sandbox where a field names something it holds (the
location, its team members and clients, and the ids in the path) and from a small seeded table of
products, storages, sales documents, loyalty cards, memberships, certificates and salaries, so a
product listed is the product fetched by id. Other fields get a plain value of the kind their name
implies (ids, flags, dates, amounts, titles). Any other catalogued operation (every write) answers
501 naming the operation; a path that is not catalogued at all stays a 404.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from starlette.requests import Request
from starlette.responses import Response

from altegio_mcp.sandbox.auth import parse_authorization
from altegio_mcp.sandbox.constants import BASE_PATH, DEMO_PARTNER_TOKEN
from altegio_mcp.sandbox.jsontypes import Json, JsonDict
from altegio_mcp.sandbox.protocol import ApiError, ok
from altegio_mcp.sandbox.state import SandboxState

V2_PATH = "/api/v2"
LIST_LENGTH = 3

# Seeded records of the areas the issue names (products, stock, sales, loyalty, salaries). Field
# names are Altegio's; a record lends its values to every operation whose answer has that field.
PRODUCTS: tuple[JsonDict, ...] = (
    {
        "good_id": 7001,
        "title": "Argan Oil Shampoo",
        "article": "AO-250",
        "barcode": "4600000000011",
        "category_id": 7101,
        "category": "Hair care",
        "cost": 24.0,
        "actual_cost": 11.5,
        "unit_id": 1,
        "unit_short_title": "pc",
        "critical_amount": 3,
        "desired_amount": 12,
    },
    {
        "good_id": 7002,
        "title": "Keratin Mask",
        "article": "KM-200",
        "barcode": "4600000000028",
        "category_id": 7101,
        "category": "Hair care",
        "cost": 32.0,
        "actual_cost": 15.0,
        "unit_id": 1,
        "unit_short_title": "pc",
        "critical_amount": 2,
        "desired_amount": 8,
    },
    {
        "good_id": 7003,
        "title": "Cuticle Oil",
        "article": "CO-15",
        "barcode": "4600000000035",
        "category_id": 7102,
        "category": "Nail care",
        "cost": 9.5,
        "actual_cost": 3.2,
        "unit_id": 1,
        "unit_short_title": "pc",
        "critical_amount": 5,
        "desired_amount": 20,
    },
)
STORAGES: tuple[JsonDict, ...] = (
    {"id": 7201, "title": "Retail shelf", "for_service": 0, "for_sale": 1, "comment": "Sales"},
    {"id": 7202, "title": "Consumables", "for_service": 1, "for_sale": 0, "comment": "Used in services"},
)
ACCOUNTS: tuple[JsonDict, ...] = (
    {"id": 7301, "title": "Cash desk", "type": 0, "comment": "Front desk"},
    {"id": 7302, "title": "Card terminal", "type": 1, "comment": "Non-cash"},
)
LOYALTY_CARD: JsonDict = {
    "id": 7401,
    "number": "2026000074010",
    "balance": 42.5,
    "points": 0,
    "paid_amount": 640.0,
    "sold_amount": 700.0,
    "visits_count": 9,
    "type_id": 7402,
}
MEMBERSHIP: JsonDict = {
    "id": 7501,
    "number": "750100",
    "balance_string": "Manicure (x4)",
    "is_frozen": False,
    "freeze_period": 0,
    "period": 3,
    "period_unit_id": 3,
}
CERTIFICATE: JsonDict = {
    "id": 7601,
    "number": "GIFT-7601",
    "balance": 80.0,
    "default_balance": 100.0,
    "type_id": 7602,
    "status_id": 2,
}
SALARY: JsonDict = {
    "working_days_count": 20,
    "working_hours_count": 164,
    "group_services_count": 2,
    "services_count": 57,
    "services_sum": 3420.0,
    "goods_sales_count": 6,
    "goods_sales_sum": 171.0,
    "total_sum": 3591.0,
    "salary": 1436.4,
}
SALE: JsonDict = {
    "state": {
        "items": [
            {
                "id": 7001,
                "type": "good",
                "title": "Argan Oil Shampoo",
                "amount": 1,
                "default_cost_per_unit": 24.0,
                "default_cost_total": 24.0,
                "client_discount_percent": 0,
                "cost_to_pay_total": 24.0,
            }
        ],
        "loyalty_transactions": [],
        "payment_transactions": [],
    },
    "kkm_state": {"last_operation_type": 0, "transactions": []},
    "payment_methods": [],
}
SEEDED: tuple[JsonDict, ...] = (LOYALTY_CARD, MEMBERSHIP, CERTIFICATE, SALARY, SALE)
TABLES: dict[str, tuple[JsonDict, ...]] = {
    "/goods/": PRODUCTS,
    "/goods/search/": PRODUCTS,
    "/storages/": STORAGES,
    "/accounts/": ACCOUNTS,
}


@dataclass(frozen=True, slots=True)
class Found:
    """A catalogued operation a request matched, with the values of its path placeholders."""

    id: str
    summary: str
    kind: str
    fields: tuple[str, ...]
    as_list: bool
    path_values: dict[str, str]


def match(method: str, url_path: str) -> Found | None:
    """The catalogued operation a concrete request path belongs to (most literal segments wins)."""
    from altegio_mcp import catalog

    if url_path.startswith(V2_PATH):
        version, rest = "v2", url_path[len(V2_PATH) :]
    elif url_path.startswith(BASE_PATH):
        version, rest = "v1", url_path[len(BASE_PATH) :]
    else:
        return None
    segments = rest.rstrip("/").split("/")
    best: tuple[int, Found] | None = None
    for op in catalog.operations():
        if op.version != version or op.method != method.upper():
            continue
        template = op.path.split("/")
        if len(template) != len(segments):
            continue
        values: dict[str, str] = {}
        literal = 0
        for part, seg in zip(template, segments, strict=True):
            if part.startswith("{") and part.endswith("}"):
                values[part[1:-1]] = seg
            elif part == seg:
                literal += 1
            else:
                break
        else:
            found = Found(op.id, op.summary, op.kind, op.response_data, op.response_list, values)
            if best is None or literal > best[0]:
                best = (literal, found)
    return best[1] if best else None


def not_emulated(found: Found) -> ApiError:
    return ApiError.standard(
        501,
        f"The sandbox does not emulate {found.id} ({found.summary}). Nothing was changed; "
        "try it against a real Altegio account.",
    )


def _number(text: str | None) -> int | None:
    return int(text) if text is not None and text.isdigit() else None


class ShapedReads:
    """Answers a catalogued read from its documented answer fields."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state

    def answer(self, request: Request, found: Found) -> Response:
        credentials = parse_authorization(request.headers.get("authorization"))
        if credentials.partner_token != DEMO_PARTNER_TOKEN or credentials.kind == "malformed":
            raise ApiError.unauthorized()
        location_id = _number(found.path_values.get("location_id") or found.path_values.get("company_id"))
        if location_id is not None and self.state.location(location_id) is None:
            raise ApiError.not_found("Location not found.")
        client_id = _number(found.path_values.get("client_id"))
        if client_id is not None and self.state.client(client_id) is None:
            raise ApiError.not_found("Client not found.")
        member_id = _number(found.path_values.get("team_member_id"))
        if member_id is not None and self.state.team_member(member_id) is None:
            raise ApiError.not_found("Team member not found.")
        table = self._table(found)
        wanted = _number(found.path_values.get("product_id"))
        if table is PRODUCTS and wanted is not None:
            table = tuple(p for p in PRODUCTS if p["good_id"] == wanted)
            if not table:
                raise ApiError.not_found("Product not found.")
        term = (request.query_params.get("term") or "").lower()
        if table is PRODUCTS and term:
            table = tuple(p for p in PRODUCTS if term in str(p["title"]).lower())
        count = len(table) if table else LIST_LENGTH
        records = [self._record(found, index, table[index] if table else None) for index in range(count)]
        if found.id.startswith("v2 "):
            resources: list[Json] = [
                {"type": "resource", "id": str(r.get("id", index + 1)), "attributes": r}
                for index, r in enumerate(records)
            ]
            return _json_api(resources if found.as_list else resources[0])
        data: Json = list(records) if found.as_list else (records[0] if records else {})
        meta: Json = {"count": len(records)} if found.as_list else None
        return ok(data, meta)

    def _table(self, found: Found) -> tuple[JsonDict, ...]:
        path = found.id.split(" ", 1)[1] if not found.id.startswith("v2 ") else found.id.split(" ", 2)[2]
        for prefix, table in TABLES.items():
            if path.startswith(prefix):
                return table
        return ()

    def _record(self, found: Found, index: int, row: JsonDict | None) -> JsonDict:
        record: JsonDict = {}
        for name in found.fields:
            record[name] = self._value(found, name, index, row)
        return record

    def _value(self, found: Found, name: str, index: int, row: JsonDict | None) -> Json:
        if row is not None and name in row:
            return row[name]
        for seeded in SEEDED:
            if name in seeded:
                return seeded[name]
        if name in found.path_values:
            number = _number(found.path_values[name])
            return number if number is not None else found.path_values[name]
        return _plain(name, index, self._context(found))

    def _context(self, found: Found) -> dict[str, Json]:
        state = self.state
        location_id = _number(found.path_values.get("location_id") or found.path_values.get("company_id"))
        location = state.location(location_id) if location_id is not None else None
        context: dict[str, Json] = {"today": state.today.isoformat()}
        if location is not None:
            context |= {
                "location_id": location.id,
                "location_title": location.title,
                "currency": location.currency_short_title,
                "chain_id": location.main_group_id,
                "chain_title": location.main_group_title,
            }
            members = state.team_members(location.id)
            clients = state.clients(location.id)
            if members:
                context |= {"staff_id": members[0].id, "staff_name": members[0].name}
            if clients:
                context |= {
                    "client_id": clients[0].id,
                    "client_name": clients[0].name,
                    "phone": clients[0].phone,
                }
        return context


SUFFIXES: tuple[tuple[Callable[[str], bool], Callable[[str, int, dict[str, Json]], Json]], ...] = (
    (lambda n: n in {"salon_id", "company_id", "location_id"}, lambda _n, _i, c: c.get("location_id", 1)),
    (
        lambda n: n in {"salon_group_id", "chain_id", "group_id", "company_group_id"},
        lambda _n, _i, c: c.get("chain_id", 1),
    ),
    (lambda n: n in {"staff_id", "master_id", "team_member_id"}, lambda _n, _i, c: c.get("staff_id", 1)),
    (lambda n: n == "client_id", lambda _n, _i, c: c.get("client_id", 1)),
    (lambda n: n == "id" or n.endswith("_id"), lambda n, i, _c: 9000 + 10 * i + len(n)),
    (
        lambda n: n.startswith(("is_", "has_", "allow")) or n.endswith(("_enabled", "_access")),
        lambda _n, i, _c: i == 0,
    ),
    (lambda n: "date" in n or n.endswith(("_at", "_after", "_before")), lambda _n, i, c: _day(c, i)),
    (lambda n: n in {"phone", "client_phone"}, lambda _n, _i, c: c.get("phone", "+10000000000")),
    (lambda n: n in {"currency", "currency_short_title"}, lambda _n, _i, c: c.get("currency", "USD")),
    (
        lambda n: n.endswith(("count", "amount", "sum", "cost", "balance", "price", "percent", "salary")),
        lambda _n, i, _c: 10 * (i + 1),
    ),
    (
        lambda n: n in {"title", "name", "label", "value", "public_title"},
        lambda n, i, c: f"{c.get('location_title', 'Sandbox')} {n} {i + 1}",
    ),
    (lambda n: n.endswith(("s", "_list", "items")), lambda _n, _i, _c: []),
)


def _day(context: dict[str, Json], index: int) -> Json:
    from datetime import date

    today = date.fromisoformat(str(context["today"]))
    return (today - timedelta(days=index)).isoformat()


def _plain(name: str, index: int, context: dict[str, Json]) -> Json:
    for applies, value in SUFFIXES:
        if applies(name):
            return value(name, index, context)
    return ""


def _json_api(data: Json) -> Response:
    from starlette.responses import JSONResponse

    return JSONResponse({"data": data, "meta": {}})
