"""MCP resource templates: background a model can read without tool calls.

`altegio://locations/{location_id}/profile`, `/services` and `/team` are built from the same read
operations the tools use (so they need no code of their own against the API), for the calling
user, and cached for a minute per caller in the state store (`cache:` keys), so replicas share
the cache; when the store is unreachable a resource is simply built fresh. Opening hours are not a field of any v1 location
endpoint, so the profile derives them from the team's working schedules for the coming week.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from functools import cache
from typing import TYPE_CHECKING, Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError

from altegio_mcp.state import StateStore, StateUnavailable
from altegio_mcp.timeutil import iso, offset_text, zone

if TYPE_CHECKING:
    from altegio_mcp.operations.base import Operation
    from altegio_mcp.runtime import Runtime

TTL_SECONDS = 60.0
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@cache
def by_name() -> dict[str, Operation[Any, Any]]:
    """Every operation by name, loaded with the first resource read (not at start)."""
    from altegio_mcp.operations import ALL_OPERATIONS

    return {op.name: op for op in ALL_OPERATIONS}


class ResourceCache:
    """Per-caller, per-URI results for a short while, in the state store."""

    def __init__(self, store: StateStore, ttl: float = TTL_SECONDS) -> None:
        self.store = store
        self.ttl = ttl

    @staticmethod
    def _key(caller: str, uri: str) -> str:
        return "cache:" + hashlib.sha256(f"{caller}|{uri}".encode()).hexdigest()[:32]

    async def get(self, key: tuple[str, str], build: Callable[[], Awaitable[str]]) -> str:
        name = self._key(*key)
        try:
            hit = await self.store.get(name)
        except StateUnavailable:
            return await build()
        if hit is not None:
            return hit.decode()
        value = await build()
        with contextlib.suppress(StateUnavailable):
            await self.store.put(name, value.encode(), ttl=self.ttl)
        return value


async def read_operation(runtime: Runtime, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """Run one read operation for the current caller and return its structured output."""
    op = by_name()[name]
    if not op.read_only:
        raise ValueError(f"{name} is not a read operation")
    octx = runtime.op_context(runtime.current_caller())
    out = await op.handler(octx, op.input_model.model_validate(arguments))
    dumped: dict[str, Any] = out.model_dump(mode="json", exclude_none=True)
    return dumped


def opening_hours(schedule: dict[str, Any]) -> dict[str, str]:
    """Per weekday, the earliest start and latest end of anyone's working interval."""
    spans: dict[str, tuple[str, str]] = {}
    for day in schedule.get("items", []):
        weekday = WEEKDAYS[date.fromisoformat(str(day["date"])[:10]).weekday()]
        for span in day.get("working", []):
            start, end = str(span["start"]), str(span["end"])
            current = spans.get(weekday)
            spans[weekday] = (min(current[0], start), max(current[1], end)) if current else (start, end)
    return {day: f"{spans[day][0]}-{spans[day][1]}" if day in spans else "closed" for day in WEEKDAYS}


def _location_id(raw: str) -> int:
    if not raw.isdigit() or int(raw) < 1:
        raise ResourceNotFoundError(f"location id must be a positive number, got {raw!r}; see whoami")
    return int(raw)


def register_resources(server: MCPServer[Runtime], runtime: Runtime) -> None:
    cache = ResourceCache(runtime.state)

    async def cached(uri: str, build: Callable[[], Awaitable[dict[str, Any]]]) -> str:
        from altegio_mcp.errors import AltegioError, NotFound, PermissionDenied
        from altegio_mcp.ratelimit import fingerprint

        async def render() -> str:
            try:
                payload = await build()
            except (NotFound, PermissionDenied) as exc:
                raise ResourceNotFoundError(exc.model_message()) from exc
            except AltegioError as exc:
                raise ResourceError(exc.model_message()) from exc
            if runtime.settings.sandbox:
                payload = {"sandbox": True, **payload}
            return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))

        caller = runtime.current_caller()
        # The store may be shared by processes acting for different users: the key names the
        # upstream and the user token (hashed), not only the caller's local id.
        who = f"{runtime.settings.base_url}|{caller.key_id}|{fingerprint(caller.auth.user_secret() or '')}"
        return await cache.get((who, uri), render)

    @server.resource(
        "altegio://locations/{location_id}/profile",
        name="location_profile",
        title="Location profile",
        description="Local date and time now, timezone, UTC offset, currency, address and opening hours (from the team's schedules).",
        mime_type="application/json",
    )
    async def location_profile(location_id: str) -> str:  # pyright: ignore[reportUnusedFunction]
        loc = _location_id(location_id)

        async def build() -> dict[str, Any]:
            got = await read_operation(runtime, "get_location", {"location_id": loc})
            listed = await read_operation(runtime, "list_locations", {"count": 200})
            profile: dict[str, Any] = dict(got["location"])
            for item in listed.get("items", []):
                if item.get("id") == loc and item.get("currency"):
                    profile["currency"] = item["currency"]
            start = runtime.clock().astimezone(zone(str(profile.get("timezone") or "UTC"))).date()
            week = await read_operation(
                runtime,
                "get_team_schedule",
                {
                    "location_id": loc,
                    "start_date": start.isoformat(),
                    "end_date": (start + timedelta(days=6)).isoformat(),
                },
            )
            profile["opening_hours"] = opening_hours(week)
            profile["opening_hours_note"] = "Derived from team members' working hours for the next 7 days."
            return profile

        text = await cached(f"altegio://locations/{loc}/profile", build)
        # "now" is read at every read, never from the minute-long cache.
        profile = json.loads(text)
        local = runtime.clock().astimezone(zone(str(profile.get("timezone") or "UTC")))
        profile["now"] = iso(local)
        profile["utc_offset"] = offset_text(local)
        return json.dumps(profile, ensure_ascii=False, separators=(",", ":"))

    @server.resource(
        "altegio://locations/{location_id}/services",
        name="service_catalog",
        title="Service catalog",
        description="Services with categories, prices and durations at a location.",
        mime_type="application/json",
    )
    async def service_catalog(location_id: str) -> str:  # pyright: ignore[reportUnusedFunction]
        loc = _location_id(location_id)

        async def build() -> dict[str, Any]:
            services = await read_operation(runtime, "list_services", {"location_id": loc})
            categories = await read_operation(runtime, "list_service_categories", {"location_id": loc})
            return {
                "location_id": loc,
                "categories": categories.get("items", []),
                "services": services.get("items", []),
            }

        return await cached(f"altegio://locations/{loc}/services", build)

    @server.resource(
        "altegio://locations/{location_id}/team",
        name="team_roster",
        title="Team roster",
        description="Bookable team members (legacy: staff) at a location.",
        mime_type="application/json",
    )
    async def team_roster(location_id: str) -> str:  # pyright: ignore[reportUnusedFunction]
        loc = _location_id(location_id)

        async def build() -> dict[str, Any]:
            team = await read_operation(runtime, "list_team_members", {"location_id": loc})
            return {"location_id": loc, "team_members": team.get("items", [])}

        return await cached(f"altegio://locations/{loc}/team", build)
