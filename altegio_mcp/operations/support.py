"""Small reads several operations share: service lengths for a team member, and free start times."""

from __future__ import annotations

from datetime import date

from pydantic import TypeAdapter

from altegio_mcp.errors import Target
from altegio_mcp.operations.base import OpContext, Wire, as_list


class WireService(Wire):
    id: int
    title: str | None = None
    category_id: int | None = None
    price_min: float | None = None
    price_max: float | None = None
    duration: int | None = None
    seance_length: int | None = None
    active: int | None = None


class WireSlot(Wire):
    time: str | None = None
    seance_length: int | None = None
    session_length: int | None = None
    sum_length: int | None = None
    datetime: str | None = None


SERVICES = TypeAdapter(list[WireService])
SLOTS = TypeAdapter(list[WireSlot])
DEFAULT_SERVICE_SECONDS = 3600


async def service_durations(ctx: OpContext, location_id: int, team_member_id: int) -> dict[int, int]:
    """Seconds each service takes with this team member (`GET /services/{location_id}?staff_id=`)."""
    res = await ctx.call(
        "GET",
        f"/services/{location_id}",
        SERVICES,
        params={"staff_id": team_member_id},
        target=Target("location", str(location_id), None, "list_locations"),
    )
    return {s.id: s.seance_length or s.duration or DEFAULT_SERVICE_SECONDS for s in res.data}


async def free_times(
    ctx: OpContext, location_id: int, team_member_id: int, day: date, service_ids: list[int]
) -> list[str]:
    """Bookable start datetimes (ISO with offset) from the online-booking `book_times` endpoint."""
    res = await ctx.call(
        "GET",
        f"/book_times/{location_id}/{team_member_id}/{day.isoformat()}",
        SLOTS,
        params={"service_ids[]": [str(s) for s in service_ids]},
        partner_only=True,
        target=Target("team member", str(team_member_id), location_id, "list_team_members"),
    )
    return [slot.datetime for slot in res.data if slot.datetime]


__all__ = ["SERVICES", "SLOTS", "WireService", "WireSlot", "as_list", "free_times", "service_durations"]
