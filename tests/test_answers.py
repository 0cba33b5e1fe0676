"""What the model reads says what "now" is, why an answer is empty, and names next to ids (sandbox)."""

from __future__ import annotations

from typing import Any

import pytest

from altegio_mcp.sandbox import DUBAI_LOCATION_ID
from tests.harness import awaits_confirmation, sandbox_session, text_of

pytestmark = pytest.mark.anyio


def data(result: Any) -> dict[str, Any]:
    assert not result.is_error, text_of(result)
    assert result.structured_content is not None
    return result.structured_content


async def test_whoami_and_date_relative_results_say_the_local_now() -> None:
    async with sandbox_session() as s:
        me = data(await s.call("whoami"))
        # The sandbox clock starts at noon UTC of 2026-11-27: 07:00 in New York.
        assert me["now"].startswith("2026-11-27T07:0") and me["now"].endswith("-05:00")
        assert "Now there: Fri 2026-11-27 07:0" in text_of(await s.call("whoami"))
        dubai = next(loc for loc in me["locations"] if loc["id"] == DUBAI_LOCATION_ID)
        assert dubai["now"].startswith("2026-11-27T16:0") and dubai["now"].endswith("+04:00")
        listed = data(
            await s.call("list_appointments", {"start_date": "2026-11-28", "end_date": "2026-11-28"})
        )
        assert listed["now"].startswith("2026-11-27T07:0")
        assert data(await s.call("get_location", {}))["location"]["now"].startswith("2026-11-27T07:0")


async def test_names_stand_next_to_team_member_ids() -> None:
    async with sandbox_session() as s:
        reviews = data(await s.call("list_comments", {"count": 5}))["items"]
        assert all(r["team_member"] for r in reviews if r.get("team_member_id"))
        days = data(await s.call("get_team_schedule", {"start_date": "2026-11-28"}))["items"]
        assert {d["team_member"] for d in days} >= {"Olivia Bennett", "Marcus Reyes"}


async def test_team_members_filtered_by_service() -> None:
    async with sandbox_session() as s:
        members = data(await s.call("list_team_members", {"service_id": 4102}))
        assert {m["id"] for m in members["items"]} == {2101, 2102}
        assert "performing service 4102" in text_of(await s.call("list_team_members", {"service_id": 4102}))


async def test_a_time_in_another_zone_is_echoed_back_in_the_refusal() -> None:
    async with sandbox_session() as s:
        result = await s.call(
            "create_appointment",
            {
                "location_id": DUBAI_LOCATION_ID,
                "team_member_id": 2201,
                "service_ids": [4201],
                "client_id": 5105,
                "datetime": "2026-11-30T11:30:00-05:00",
            },
        )
    assert result.is_error
    assert "read as Mon 2026-11-30 20:30 Asia/Dubai local time (+04:00)" in text_of(result)


async def test_update_visit_says_paid_and_remaining() -> None:
    async with sandbox_session() as s:
        today = data(
            await s.call("list_appointments", {"start_date": "2026-11-27", "end_date": "2026-11-27"})
        )
        item = today["items"][0]
        ids = {"appointment_id": item["id"], "visit_id": item["visit_id"]}
        first = await s.call("update_visit", {**ids, "fast_payment": "cash"})
        assert awaits_confirmation(first)
        token = first.structured_content["confirmation"]["token"]  # type: ignore[index]
        done = data(
            await s.call("update_visit", {**ids, "fast_payment": "cash", "confirmation_token": token})
        )
    assert done["paid"] > 0 and done["remaining"] == 0


async def test_no_error_text_starts_with_the_sdk_prefix() -> None:
    async with sandbox_session() as s:
        results = [
            await s.call("list_appointments", {"start_date": "27/11/2026"}),
            await s.call("get_appointment", {"appointment_id": 6000150}),
            await s.call("get_visit", {"visit_id": "x"}),
            await s.call("delete_appointment", {"appointment_id": 600155, "confirmation_token": "v1.bad"}),
        ]
    for result in results:
        assert result.is_error
        text = text_of(result)
        assert "Error executing tool" not in text, text
        assert text.split(":")[0] in {"Invalid arguments, nothing was sent", "Not done"} or text.startswith(
            "No appointment"
        ), text
