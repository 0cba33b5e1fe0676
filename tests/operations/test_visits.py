"""Visit tools through a real MCP session: reads, the conditional confirmation of update_visit, the PDF."""

from __future__ import annotations

import base64
import copy
import json
from typing import Any

import httpx
import pytest
from mcp.client.context import ClientRequestContext
from mcp.types import (
    BlobResourceContents,
    ElicitRequestParams,
    ElicitResult,
    EmbeddedResource,
)

from tests.harness import awaits_confirmation, mock_session, sandbox_session, text_of
from tests.operations.upstream import (
    NOT_FOUND_BARE,
    FakeUpstream,
    envelope,
    structured,
    token_in,
)

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("own_state_dir")]

LOCATION = {"id": 4564, "title": "Business Example", "timezone_name": "America/New_York"}

# `GET /visits/{visit_id}` example from the official page (doc 62145662985), as documented: the visit's
# comment is the number 0 and the client's phone a number.
VISIT_EXAMPLE: dict[str, Any] = {
    "attendance": 1,
    "datetime": "2026-09-21T23:00:00.000-05:00",
    "comment": 0,
    "records": [
        {
            "id": 37955315,
            "company_id": 4564,
            "staff_id": 55436,
            "services": [],
            "events": [],
            "goods_transactions": [],
            "staff": {
                "id": 55436,
                "name": "John Doe",
                "specialization": "Manicure and pedicure",
                "position": {"id": 1, "title": "Supervisor"},
                "rating": 4.89,
                "votes_count": 0,
            },
            "client": {
                "id": 4240788,
                "name": "dev1",
                "phone": 13155550175,
                "card": 415,
                "email": "",
                "success_visits_count": 58,
                "fail_visits_count": 9,
            },
            "date": "2026-09-21T23:00:00.000-05:00",
            "datetime": "2026-09-21T23:00:00.000-05:00",
            "create_date": "2026-03-22T17:55:14-05:00",
            "comment": "",
            "online": False,
            "visit_attendance": 1,
            "attendance": 1,
            "confirmed": 1,
            "seance_length": 3600,
            "length": 3600,
            "api_id": "0",
            "visit_id": 8260852,
            "deleted": 0,
            "paid_full": 0,
            "record_labels": [],
            "activity_id": 0,
            "custom_fields": {},
            "documents": [
                {"id": 8172893, "type_id": 7, "visit_id": 3, "record_id": 2, "type_title": "Visit"}
            ],
        }
    ],
}

# `GET /visit/details/...` example from the official page (doc 62114870322).
DETAILS_EXAMPLE: dict[str, Any] = {
    "payment_transactions": [
        {
            "id": 6023813,
            "document_id": 8172806,
            "date": "2026-09-21T23:00:00.000-05:00",
            "type_id": 5,
            "expense_id": 5,
            "account_id": 32299,
            "amount": 10,
            "client_id": 4241492,
            "master_id": 0,
            "supplier_id": 0,
            "comment": "",
            "item_id": 1162679,
            "target_type_id": 1,
            "record_id": 13136569,
            "goods_transaction_id": 0,
            "expense": {"id": 5, "title": "Provision of services"},
            "account": {"id": 32299, "title": "Deposits (payment in cash)"},
            "client": {"id": 4241492, "name": "ModulKassaClient", "phone": "+13155550175"},
            "master": [],
            "supplier": [],
        }
    ],
    "loyalty_transactions": [
        {
            "id": 10614,
            "status_id": 1,
            "amount": 0.5,
            "type_id": 2,
            "type": {"id": 2, "title": "Loyalty programs"},
        }
    ],
    "kkm_transaction_details_container": {
        "last_operation_type": 0,
        "transactions": [
            {
                "id": 1047,
                "print_date": "2026-09-21T23:00:00.000-05:00",
                "printed_count": 1,
                "sum": 13,
                "type": {"id": 0, "title": "Sale operation"},
                "status": {"id": 1, "title": "Successfully"},
                "document": {"id": 2045, "type": 7, "type_title": "Visit"},
                "cashier": {"id": 746310, "name": "Jack Smith"},
            }
        ],
    },
    "items": [
        {
            "id": 0,
            "item_id": 1162679,
            "item_type_id": 1,
            "record_id": 13136569,
            "item_title": "Haircut with the TOP-expert",
            "amount": 2,
            "first_cost": 20,
            "manual_cost": 10,
            "discount": 50,
            "cost": 10,
            "is_service": True,
        }
    ],
}

VISIT_ID = 8260852
RECORD_ID = 37955315
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


NOT_FOUND = httpx.Response(404, json=NOT_FOUND_BARE)


class FakeAltegio(FakeUpstream):
    """A location, one visit (with services and a payment so amounts show), details, the receipt."""

    def __init__(self, visit: dict[str, Any] | None = None, details: dict[str, Any] | None = None) -> None:
        super().__init__(
            {
                f"GET /visits/{VISIT_ID}": lambda _: envelope(self.visit),
                f"PUT /visits/{VISIT_ID}/{RECORD_ID}": self.put,
                f"GET /visit/details/4564/{RECORD_ID}/{VISIT_ID}": lambda _: envelope(self.details),
                f"GET /attendance/receipt_print/{VISIT_ID}": lambda _: self.receipt,
            },
            location=LOCATION,
            not_found=NOT_FOUND_BARE,
        )
        self.visit = copy.deepcopy(visit if visit is not None else VISIT_EXAMPLE)
        self.details = copy.deepcopy(details if details is not None else DETAILS_EXAMPLE)
        self.puts: list[dict[str, Any]] = []
        self.receipt: httpx.Response = httpx.Response(
            200, content=PDF, headers={"content-type": "application/pdf"}
        )

    def put(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.puts.append(body)
        self.visit["attendance"] = body["attendance"]
        self.visit["comment"] = body["comment"]
        return httpx.Response(200)


def priced_visit() -> dict[str, Any]:
    visit = copy.deepcopy(VISIT_EXAMPLE)
    visit["records"][0]["services"] = [{"id": 331, "title": "Haircut", "cost": 55, "first_cost": 55}]
    return visit


def priced_details() -> dict[str, Any]:
    details = copy.deepcopy(DETAILS_EXAMPLE)
    details["items"][0]["cost"] = 55
    return details


# --- get_visit --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("api_id", "comment", "shown"),
    [("0", 0, None), (0, "", None), ("ext-1", "Bring the voucher", "Bring the voucher")],
    ids=["page-example", "yaml-example-numeric-api-id", "text-comment"],
)
async def test_get_visit_parses_documented_shapes(api_id: object, comment: object, shown: str | None) -> None:
    visit = copy.deepcopy(VISIT_EXAMPLE)
    visit["records"][0]["api_id"] = api_id
    visit["comment"] = comment
    fake = FakeAltegio(visit)
    async with mock_session(fake) as s:
        result = await s.call("get_visit", {"visit_id": VISIT_ID})
    data = structured(result)["visit"]
    assert data["id"] == VISIT_ID
    assert data["status"] == "arrived"
    # 23:00 at -05:00 is midnight in New York's summer time (-04:00).
    assert data["start"] == "2026-09-22T00:00:00-04:00"
    assert data.get("comment") == shown
    appointment = data["appointments"][0]
    assert appointment["id"] == RECORD_ID
    assert appointment["client"] == {"id": 4240788, "name": "dev1", "phone": "13155550175"}
    assert appointment["team_member"]["name"] == "John Doe"
    assert appointment["start"].endswith("-04:00")
    text = text_of(result)
    assert f"Visit {VISIT_ID}" in text and "arrived" in text and "dev1" in text


async def test_get_visit_detail_adds_raw_fields() -> None:
    async with mock_session(FakeAltegio()) as s:
        data = structured(await s.call("get_visit", {"visit_id": VISIT_ID, "detail": True}))
    assert data["visit"]["details"]["attendance"] == 1
    assert data["visit"]["appointments"][0]["details"]["documents"][0]["type_title"] == "Visit"


async def test_get_visit_unknown_id_names_it() -> None:
    fake = FakeAltegio()
    async with mock_session(fake) as s:
        result = await s.call("get_visit", {"visit_id": 999})
    assert result.is_error
    assert "No visit 999" in text_of(result) and "get_appointment" in text_of(result)


async def test_get_visit_bad_id_sends_nothing() -> None:
    fake = FakeAltegio()
    async with mock_session(fake) as s:
        result = await s.call("get_visit", {"visit_id": 0})
    assert result.is_error and "visit_id" in text_of(result)
    assert fake.requests == []


# --- get_visit_details --------------------------------------------------------------------------------


async def test_get_visit_details_documented_example() -> None:
    fake = FakeAltegio()
    async with mock_session(fake) as s:
        result = await s.call(
            "get_visit_details", {"location_id": 4564, "appointment_id": RECORD_ID, "visit_id": VISIT_ID}
        )
    data = structured(result)
    assert data["payments"] == [
        {
            "id": 6023813,
            "date": "2026-09-22T00:00:00-04:00",
            "amount": 10.0,
            "account_id": 32299,
            "account": "Deposits (payment in cash)",
            "type": "Provision of services",
            "appointment_id": 13136569,
        }
    ]
    assert (data["paid"], data["due"], data["remaining"]) == (10.0, 10.0, 0.0)
    assert "Sale operation" in data["fiscal"] and "printed" in data["fiscal"]
    assert "return receipt" in data["fiscal"]
    text = text_of(result)
    assert "paid 10.00 of 10.00 due" in text and "#6023813" in text


async def test_get_visit_details_tolerates_empty_blocks() -> None:
    details = {
        "payment_transactions": [],
        "kkm_transaction_details_container": [],
        "loyalty_transactions": [],
    }
    async with mock_session(FakeAltegio(details=details)) as s:
        result = await s.call(
            "get_visit_details", {"location_id": 4564, "record_id": RECORD_ID, "visit_id": VISIT_ID}
        )
    data = structured(result)
    assert data["payments"] == [] and data["paid"] == 0.0 and "due" not in data
    assert data["fiscal"] == "no fiscal receipt printed for this visit"
    assert "No payments." in text_of(result)


async def test_get_visit_details_404_names_the_visit() -> None:
    async with mock_session(FakeAltegio()) as s:
        result = await s.call(
            "get_visit_details", {"location_id": 4564, "appointment_id": 1, "visit_id": VISIT_ID}
        )
    assert result.is_error
    assert f"No visit {VISIT_ID} with appointment 1 at location 4564" in text_of(result)


# --- update_visit -------------------------------------------------------------------------------------


async def test_update_visit_comment_only_runs_at_once() -> None:
    fake = FakeAltegio()
    async with mock_session(fake) as s:
        result = await s.call(
            "update_visit", {"visit_id": VISIT_ID, "appointment_id": RECORD_ID, "comment": "Came early"}
        )
    data = structured(result)
    assert fake.puts == [{"attendance": 1, "comment": "Came early"}]
    assert data["changed"] == ["comment"]
    assert data["visit"]["comment"] == "Came early"
    # read, write, read again (the PUT answers without a body)
    assert [line for line in fake.calls() if "visits" in line] == [
        f"GET /visits/{VISIT_ID}",
        f"PUT /visits/{VISIT_ID}/{RECORD_ID}",
        f"GET /visits/{VISIT_ID}",
    ]
    assert "Updated (comment)" in text_of(result)


async def test_update_visit_confirmed_status_keeps_the_comment() -> None:
    visit = copy.deepcopy(VISIT_EXAMPLE)
    visit["comment"] = "VIP"
    fake = FakeAltegio(visit)
    async with mock_session(fake) as s:
        result = await s.call(
            "update_visit", {"visit_id": VISIT_ID, "appointment_id": RECORD_ID, "status": "confirmed"}
        )
    assert structured(result)["visit"]["status"] == "confirmed"
    assert fake.puts == [{"attendance": 2, "comment": "VIP"}]


GATED = [
    pytest.param(
        {"new_payments": [{"account_id": 3, "amount": 50}]},
        ["add payment 50.00 to account 3"],
        {"new_transactions": [{"account_id": 3, "amount": 50.0}]},
        id="new-payment",
    ),
    pytest.param(
        {"delete_payment_ids": [6023813]},
        ["delete payment #6023813 (10.00, 2026-09-22)"],
        {"deleted_transaction_ids": [6023813]},
        id="delete-payment",
    ),
    pytest.param(
        {"fast_payment": "cash"},
        ["pay the remaining 45.00 in cash"],
        {"fast_payment": 1},
        id="fast-payment",
    ),
    pytest.param(
        {"fast_payment": "card_with_receipt"},
        ["by card and print a fiscal receipt"],
        {"fast_payment": 130},
        id="fast-payment-receipt",
    ),
    pytest.param({"status": "no-show"}, ["mark as no-show"], {"attendance": -1}, id="no-show"),
]


@pytest.mark.parametrize(("extra", "says", "sent"), GATED)
async def test_update_visit_money_or_no_show_needs_confirmation(
    extra: dict[str, Any], says: list[str], sent: dict[str, Any]
) -> None:
    fake = FakeAltegio(priced_visit(), priced_details())
    args = {"visit_id": VISIT_ID, "appointment_id": RECORD_ID, **extra}
    async with mock_session(fake) as s:
        first = await s.call("update_visit", args)
        assert awaits_confirmation(first)
        text = text_of(first)
        assert "confirmation_token" in text
        assert "dev1" in text and "Haircut 55.00" in text and "2026-09-22 00:00" in text
        assert "Paid so far 10.00 of 55.00 due" in text
        for phrase in says:
            assert phrase in text
        assert fake.puts == []
        assert not any(r.method == "PUT" for r in fake.requests)
        second = await s.call("update_visit", {**args, "confirmation_token": token_in(text)})
    structured(second)
    assert len(fake.puts) == 1
    for key, value in sent.items():
        assert fake.puts[0][key] == value


async def test_update_visit_asks_through_elicitation_when_the_client_can() -> None:
    asked: list[str] = []

    async def accept(_ctx: ClientRequestContext, params: ElicitRequestParams) -> ElicitResult:
        asked.append(params.message)
        return ElicitResult(action="accept", content={"confirm": True})

    fake = FakeAltegio(priced_visit(), priced_details())
    options = {"elicitation_callback": accept}
    async with mock_session(fake, client_options=options) as s:
        comment = await s.call(
            "update_visit", {"visit_id": VISIT_ID, "appointment_id": RECORD_ID, "comment": "ok"}
        )
        assert asked == []
        paid = await s.call(
            "update_visit",
            {
                "visit_id": VISIT_ID,
                "appointment_id": RECORD_ID,
                "new_payments": [{"account_id": 3, "amount": 45}],
            },
        )
    structured(comment)
    structured(paid)
    assert len(asked) == 1 and "add payment 45.00 to account 3" in asked[0]
    assert fake.puts[-1]["new_transactions"] == [{"account_id": 3, "amount": 45.0}]


async def test_update_visit_nothing_to_change_sends_nothing() -> None:
    fake = FakeAltegio()
    async with mock_session(fake) as s:
        result = await s.call("update_visit", {"visit_id": VISIT_ID, "appointment_id": RECORD_ID})
    assert result.is_error and "nothing to change" in text_of(result)
    assert fake.requests == []


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"status": "gone"}, "status"),
        ({"fast_payment": "bitcoin"}, "fast_payment"),
        ({"new_payments": [{"account_id": 3, "amount": -5}]}, "new_payments"),
        ({"delete_payment_ids": [0]}, "delete_payment_ids"),
    ],
)
async def test_update_visit_bad_arguments_send_nothing(extra: dict[str, Any], field: str) -> None:
    fake = FakeAltegio()
    async with mock_session(fake) as s:
        result = await s.call("update_visit", {"visit_id": VISIT_ID, "appointment_id": RECORD_ID, **extra})
    assert result.is_error and field in text_of(result)
    assert fake.requests == []


async def test_update_visit_foreign_appointment_is_refused_before_writing() -> None:
    fake = FakeAltegio()
    async with mock_session(fake) as s:
        result = await s.call("update_visit", {"visit_id": VISIT_ID, "appointment_id": 1, "comment": "x"})
    assert result.is_error and "appointment_id" in text_of(result) and str(RECORD_ID) in text_of(result)
    assert fake.puts == []


async def test_update_visit_unknown_visit_names_it() -> None:
    async with mock_session(FakeAltegio()) as s:
        result = await s.call("update_visit", {"visit_id": 5, "appointment_id": RECORD_ID, "comment": "x"})
    assert result.is_error and "No visit 5" in text_of(result)


# --- get_visit_receipt ------------------------------------------------------------------------------


async def test_receipt_is_an_embedded_pdf() -> None:
    fake = FakeAltegio()
    async with mock_session(fake) as s:
        result = await s.call("get_visit_receipt", {"visit_id": VISIT_ID})
    data = structured(result)
    uri = f"altegio://visits/{VISIT_ID}/receipt.pdf"
    assert data["uri"] == uri and data["size_bytes"] == len(PDF) and data["content_type"] == "application/pdf"
    resources = [b for b in result.content if isinstance(b, EmbeddedResource)]
    assert len(resources) == 1
    blob = resources[0].resource
    assert isinstance(blob, BlobResourceContents)
    assert blob.mime_type == "application/pdf" and str(blob.uri) == uri
    assert base64.b64decode(blob.blob).startswith(b"%PDF-")
    assert "blob" not in json.dumps(data)
    assert uri in text_of(result)


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(200, json=envelope({"url": "https://example.test/r.pdf"})),
        httpx.Response(200, json={"success": False, "data": None, "meta": {"message": "Receipt not ready"}}),
        httpx.Response(200, content=b"<html>oops</html>", headers={"content-type": "application/pdf"}),
    ],
    ids=["json-instead-of-pdf", "unsuccessful-envelope", "not-a-pdf"],
)
async def test_receipt_that_is_not_a_pdf_is_an_error(answer: httpx.Response) -> None:
    fake = FakeAltegio()
    fake.receipt = answer
    async with mock_session(fake) as s:
        result = await s.call("get_visit_receipt", {"visit_id": VISIT_ID})
    assert result.is_error
    assert not any(isinstance(b, EmbeddedResource) for b in result.content)
    text = text_of(result)
    assert "PDF" in text or "pdf" in text or "Receipt not ready" in text


async def test_receipt_unknown_visit() -> None:
    fake = FakeAltegio()
    fake.receipt = NOT_FOUND
    async with mock_session(fake) as s:
        result = await s.call("get_visit_receipt", {"visit_id": VISIT_ID})
    assert result.is_error and f"No visit {VISIT_ID}" in text_of(result)


# --- against the embedded sandbox ---------------------------------------------------------------------------

NY = 1001
PAID = 600002  # yesterday, paid 50 cash + 35 card
PART_PAID = 600003  # two days ago, 20 paid of more


async def test_sandbox_visit_reads() -> None:
    async with sandbox_session() as s:
        assert s.sandbox is not None
        visit_id = s.sandbox.state.appointments_by_id[PAID].visit_id
        visit = structured(await s.call("get_visit", {"visit_id": visit_id}))["visit"]
        details = structured(
            await s.call(
                "get_visit_details", {"location_id": NY, "appointment_id": PAID, "visit_id": visit_id}
            )
        )
    assert visit["status"] == "arrived" and visit["start"].endswith("-05:00")
    assert PAID in [a["id"] for a in visit["appointments"]]
    assert details["paid"] == 85.0 and len(details["payments"]) == 2
    assert {p["account"] for p in details["payments"]} == {"Cash desk", "Card terminal"}
    assert all(p["date"].endswith("-05:00") for p in details["payments"])


async def test_sandbox_fast_payment_is_confirmed_then_pays_the_rest() -> None:
    async with sandbox_session() as s:
        assert s.sandbox is not None
        visit_id = s.sandbox.state.appointments_by_id[PART_PAID].visit_id
        ids = {"location_id": NY, "appointment_id": PART_PAID, "visit_id": visit_id}
        before = structured(await s.call("get_visit_details", ids))
        args = {"visit_id": visit_id, "appointment_id": PART_PAID, "fast_payment": "cash"}
        first = await s.call("update_visit", args)
        text = text_of(first)
        assert awaits_confirmation(first) and f"pay the remaining {before['remaining']:.2f} in cash" in text
        assert s.sandbox.requests.find("PUT") == []
        done = structured(await s.call("update_visit", {**args, "confirmation_token": token_in(text)}))
        after = structured(await s.call("get_visit_details", ids))
        assert len(s.sandbox.requests.find("PUT", "/visits/")) == 1
    assert done["changed"] == ["fast_payment"]
    assert before["remaining"] > 0 and after["remaining"] == 0.0
    assert after["paid"] == before["due"]


async def test_sandbox_comment_runs_at_once_and_receipt_is_a_pdf() -> None:
    async with sandbox_session() as s:
        assert s.sandbox is not None
        visit_id = s.sandbox.state.appointments_by_id[PAID].visit_id
        updated = structured(
            await s.call("update_visit", {"visit_id": visit_id, "appointment_id": PAID, "comment": "Lovely"})
        )
        receipt = await s.call("get_visit_receipt", {"visit_id": visit_id})
    assert updated["visit"]["comment"] == "Lovely" and updated["visit"]["status"] == "arrived"
    blob = next(b.resource for b in receipt.content if isinstance(b, EmbeddedResource))
    assert isinstance(blob, BlobResourceContents) and blob.mime_type == "application/pdf"
    assert base64.b64decode(blob.blob).startswith(b"%PDF-")
