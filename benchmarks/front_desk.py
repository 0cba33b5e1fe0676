"""A scripted front-desk day through an MCP client against the sandbox: what each task costs the model.

    .venv/bin/python benchmarks/front_desk.py                 # the default toolsets
    .venv/bin/python benchmarks/front_desk.py --toolsets all

The script plays the model's part: it reads only what tools return (ids, times and confirmation
tokens come from results, never from the seed), and takes a shortcut only where a result offers
one (a nearest free day named in an empty answer, names already next to ids). A tool missing from
the configuration is counted as a gap, as a model would find no tool for the job.

Per task it prints the tool calls, the calls that answered an error, the gaps, and the bytes put
into the model's context: the arguments it wrote, the text content it read, and the structured
content (which some clients show the model instead of, or besides, the text). The fixed cost read
on every turn, the model-facing part of `tools/list` (name, description, input schema), is printed
per toolset beside the table.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any, cast

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_common import TODAY, JsonDict, compact_json_bytes
from bench_inprocess import InProcess, in_process
from mcp.types import CallToolResult, EmbeddedResource, TextContent

from altegio_mcp.docs import model_facing_bytes
from altegio_mcp.sandbox import DUBAI_LOCATION_ID

TOKEN = re.compile(r'confirmation_token="([^"]+)"')


class Gap(Exception):
    """The tool a task needs is not in the active configuration."""


@dataclass(slots=True)
class TaskCost:
    task: str
    calls: int = 0
    errors: int = 0
    gaps: list[str] = field(default_factory=list[str])
    argument_bytes: int = 0
    text_bytes: int = 0
    structured_bytes: int = 0
    attachment_bytes: int = 0
    failed: str | None = None

    @property
    def context_bytes(self) -> int:
        return self.argument_bytes + self.text_bytes


@dataclass(slots=True)
class Desk:
    """The model's side of the session: calls tools and keeps the bill for the current task."""

    env: InProcess
    tools: set[str]
    cost: TaskCost = field(default_factory=lambda: TaskCost(""))

    async def call(self, tool: str, arguments: JsonDict) -> CallToolResult:
        if tool not in self.tools:
            self.cost.gaps.append(tool)
            raise Gap(tool)
        result = await self.env.client.call_tool(tool, arguments)
        self.cost.calls += 1
        self.cost.errors += bool(result.is_error)
        self.cost.argument_bytes += compact_json_bytes({"name": tool, "arguments": arguments})
        for block in result.content:
            if isinstance(block, TextContent):
                self.cost.text_bytes += len(block.text.encode())
            elif isinstance(block, EmbeddedResource):
                self.cost.attachment_bytes += compact_json_bytes(block.model_dump(mode="json"))
        if result.structured_content is not None:
            self.cost.structured_bytes += compact_json_bytes(result.structured_content)
        return result

    async def data(self, tool: str, arguments: JsonDict) -> JsonDict:
        """A call that must succeed; its structured content."""
        result = await self.call(tool, arguments)
        if result.is_error or result.structured_content is None:
            raise RuntimeError(f"{tool} failed: {_text(result)[:300]}")
        return result.structured_content

    async def confirmed(self, tool: str, arguments: JsonDict) -> JsonDict:
        """A gated call: first without a token, then (the person agreed) with the token it returned."""
        first = await self.call(tool, arguments)
        if not first.is_error and first.structured_content and "confirmation" not in first.structured_content:
            return first.structured_content
        token = _token(first)
        if token is None:
            raise RuntimeError(f"{tool}: no confirmation token in {_text(first)[:300]}")
        return await self.data(tool, {**arguments, "confirmation_token": token})


def _text(result: CallToolResult) -> str:
    return "\n".join(b.text for b in result.content if isinstance(b, TextContent))


def _token(result: CallToolResult) -> str | None:
    structured = result.structured_content or {}
    confirmation = structured.get("confirmation")
    if isinstance(confirmation, dict) and isinstance(confirmation.get("token"), str):
        return cast(str, confirmation["token"])
    match = TOKEN.search(_text(result))
    return match.group(1) if match else None


def _items(data: JsonDict) -> list[JsonDict]:
    return cast(list[JsonDict], data.get("items") or [])


def _free_starts(data: JsonDict) -> list[str]:
    """Start times from a list_free_times result, whatever the item shape."""
    starts: list[str] = []
    for item in _items(data) or cast(list[Any], data.get("times") or []):
        if isinstance(item, str):
            starts.append(item)
        elif isinstance(item, dict):
            value = cast(JsonDict, item).get("datetime") or cast(JsonDict, item).get("start")
            if isinstance(value, str):
                starts.append(value)
    return starts


def _suggested_date(data: JsonDict) -> str | None:
    """A nearest free day offered by an empty free-times answer, if the answer offers one."""
    for key in ("nearest_date", "next_free_date", "nearest"):
        value = data.get(key)
        if isinstance(value, str):
            return value[:10]
        if isinstance(value, dict) and isinstance(cast(JsonDict, value).get("date"), str):
            return str(cast(JsonDict, value)["date"])[:10]
    return None


# --- the day's tasks --------------------------------------------------------------------------------


def _today(desk_now: str | None) -> date:
    return date.fromisoformat(desk_now[:10]) if desk_now else TODAY


async def tomorrows_book(desk: Desk, state: JsonDict) -> None:
    me = await desk.data("whoami", {})
    now = me.get("now")
    if now is None:
        locations = cast(list[JsonDict], me.get("locations") or [])
        now = next((loc.get("now") for loc in locations if loc.get("now")), None)
    state["today"] = _today(cast(str | None, now))
    tomorrow = (state["today"] + timedelta(days=1)).isoformat()
    await desk.data("list_appointments", {"start_date": tomorrow, "end_date": tomorrow})


async def _free_time(desk: Desk, team_member_id: int, day: date, services: list[int], **extra: Any) -> str:
    """The first free start from `day` on: the model asks, and follows a suggestion when offered."""
    args = {"team_member_id": team_member_id, "date": day.isoformat(), "service_ids": services, **extra}
    data = await desk.data("list_free_times", args)
    starts = _free_starts(data)
    if starts:
        return starts[0]
    suggested = _suggested_date(data)
    if suggested is None:
        dates = await desk.data(
            "list_bookable_dates", {"team_member_id": team_member_id, "service_ids": services, **extra}
        )
        later = [
            str(d)
            for d in cast(list[Any], dates.get("bookable_dates") or dates.get("dates") or [])
            if str(d) > day.isoformat()
        ]
        if not later:
            raise RuntimeError("no bookable date")
        suggested = later[0]
    again = await desk.data("list_free_times", {**args, "date": suggested})
    return _free_starts(again)[0]


async def book_new_client(desk: Desk, state: JsonDict) -> None:
    await desk.data("search_clients", {"query": "Nora Blake"})
    client = await desk.data("create_client", {"name": "Nora Blake", "phone": "+12125550777"})
    client_id = cast(JsonDict, client.get("client", client))["id"]
    services = await desk.data("list_services", {"team_member_id": 2101})
    cut = next(s for s in _items(services) if "Women" in str(s.get("title")))
    tomorrow = state["today"] + timedelta(days=1)
    start = await _free_time(desk, 2101, tomorrow, [cut["id"]])
    booked = await desk.data(
        "create_appointment",
        {"team_member_id": 2101, "service_ids": [cut["id"]], "client_id": client_id, "datetime": start},
    )
    state["new_booking"] = cast(JsonDict, booked.get("appointment", booked))["id"]


async def move_appointment(desk: Desk, state: JsonDict) -> None:
    tomorrow = (state["today"] + timedelta(days=1)).isoformat()
    found = await desk.data("search_clients", {"query": "Ethan Brooks"})
    client_id = _items(found)[0]["id"]
    listed = await desk.data(
        "list_appointments", {"client_id": client_id, "start_date": tomorrow, "end_date": tomorrow}
    )
    item = _items(listed)[0]
    member = cast(JsonDict, item["team_member"])["id"]
    services = [cast(JsonDict, s)["id"] for s in cast(list[Any], item["services"])]
    times = await desk.data(
        "list_free_times", {"team_member_id": member, "date": tomorrow, "service_ids": services}
    )
    later = [t for t in _free_starts(times) if t > str(item["start"])]
    await desk.data("update_appointment", {"appointment_id": item["id"], "datetime": later[-1]})


async def cancel_appointment(desk: Desk, state: JsonDict) -> None:
    tomorrow = (state["today"] + timedelta(days=1)).isoformat()
    found = await desk.data("search_clients", {"query": "Harper Lewis"})
    client_id = _items(found)[0]["id"]
    listed = await desk.data(
        "list_appointments", {"client_id": client_id, "start_date": tomorrow, "end_date": tomorrow}
    )
    await desk.confirmed("delete_appointment", {"appointment_id": _items(listed)[0]["id"]})


async def weekly_series(desk: Desk, state: JsonDict) -> None:
    """Mia Rossi joins the Saturday styling masterclass every week."""
    found = await desk.data("search_clients", {"query": "Mia Rossi"})
    client_id = _items(found)[0]["id"]
    start = state["today"].isoformat()
    end = (state["today"] + timedelta(days=7)).isoformat()
    week = await desk.data("list_appointments", {"start_date": start, "end_date": end, "count": 100})
    group = next(
        i
        for i in _items(week)
        if any("masterclass" in str(cast(JsonDict, s).get("title")) for s in cast(list[Any], i["services"]))
    )
    schedule = await desk.data("find_schedule", {"entity_type": "record", "entity_id": group["id"]})
    days = cast(
        list[JsonDict], schedule.get("days") or cast(JsonDict, schedule.get("schedule", {})).get("days")
    )
    saturday = next(d for d in days if "sat" in json.dumps(d).lower())
    schedule_id = schedule.get("schedule_id") or cast(JsonDict, schedule.get("schedule", {})).get("id")
    await desk.data(
        "create_recurring_appointments",
        {
            "schedule_id": schedule_id,
            "client_id": client_id,
            "schedule_day_ids": [saturday.get("day_id", saturday.get("id"))],
        },
    )


async def cash_payment_and_receipt(desk: Desk, state: JsonDict) -> None:
    """Today's first appointment is paid in cash; the client wants the receipt."""
    today = state["today"].isoformat()
    listed = await desk.data("list_appointments", {"start_date": today, "end_date": today})
    item = _items(listed)[0]
    ids = {"appointment_id": item["id"], "visit_id": item["visit_id"]}
    await desk.data("get_visit_details", ids)
    await desk.confirmed("update_visit", {**ids, "fast_payment": "cash"})
    await desk.data("get_visit_receipt", {"visit_id": item["visit_id"]})


async def reviews(desk: Desk, state: JsonDict) -> None:
    """This month's reviews, with who they are about; the owner wants to answer the 1-star one."""
    listed = await desk.data("list_comments", {})
    # A name is either beside the id (a string) or must be looked up in the team list.
    unnamed = [
        i for i in _items(listed) if i.get("team_member_id") and not isinstance(i.get("team_member"), str)
    ]
    if unnamed:
        await desk.data("list_team_members", {})


async def integration_bookings(desk: Desk, state: JsonDict) -> None:
    start = state["today"] - timedelta(days=state["today"].weekday())
    await desk.data(
        "list_partner_appointments",
        {"start_date": start.isoformat(), "end_date": (start + timedelta(days=6)).isoformat()},
    )


async def two_mistakes(desk: Desk, state: JsonDict) -> None:
    """A date in the wrong format, then an appointment id misread: both corrected from the error."""
    tomorrow = state["today"] + timedelta(days=1)
    wrong = await desk.call("list_appointments", {"start_date": tomorrow.strftime("%d/%m/%Y")})
    assert wrong.is_error
    await desk.data(
        "list_appointments", {"start_date": tomorrow.isoformat(), "end_date": tomorrow.isoformat()}
    )
    missing = await desk.call("get_appointment", {"appointment_id": 6000150})
    assert missing.is_error
    await desk.data("get_appointment", {"appointment_id": state["new_booking"]})


async def booking_in_dubai(desk: Desk, state: JsonDict) -> None:
    """A check-up with Dr. Haddad in Dubai; the first try sends New York's offset."""
    loc = {"location_id": DUBAI_LOCATION_ID}
    found = await desk.data("search_clients", {**loc, "query": "Sara Haddad"})
    client_id = _items(found)[0]["id"]
    services = await desk.data("list_services", {**loc, "team_member_id": 2201})
    check_up = next(s for s in _items(services) if "check-up" in str(s.get("title")))
    monday = state["today"] + timedelta(days=(7 - state["today"].weekday()) % 7 or 7)
    start = await _free_time(desk, 2201, monday, [check_up["id"]], **loc)
    booking = {**loc, "team_member_id": 2201, "service_ids": [check_up["id"]], "client_id": client_id}
    wrong = await desk.call("create_appointment", {**booking, "datetime": start[:19] + "-05:00"})
    if wrong.is_error:
        await desk.data("create_appointment", {**booking, "datetime": start})


TASKS: tuple[tuple[str, Callable[[Desk, JsonDict], Awaitable[None]]], ...] = (
    ("tomorrow's book", tomorrows_book),
    ("book a new client", book_new_client),
    ("move an appointment", move_appointment),
    ("cancel an appointment", cancel_appointment),
    ("weekly series", weekly_series),
    ("cash payment + receipt", cash_payment_and_receipt),
    ("reviews", reviews),
    ("this week's integration bookings", integration_bookings),
    ("two mistakes", two_mistakes),
    ("booking in Dubai", booking_in_dubai),
)


async def session(toolsets: Sequence[str]) -> tuple[list[TaskCost], JsonDict]:
    async with in_process(toolsets) as env:
        listed = await env.client.list_tools()
        wire = [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in listed.tools]
        sizes = [model_facing_bytes(t) for t in wire]
        surface = {"tools": len(wire), "model_facing_bytes": sum(sizes)}
        desk = Desk(env, {t["name"] for t in wire})
        state: JsonDict = {}
        costs: list[TaskCost] = []
        for name, task in TASKS:
            desk.cost = TaskCost(name)
            try:
                await task(desk, state)
            except Gap:
                pass
            except Exception as exc:
                desk.cost.failed = f"{type(exc).__name__}: {exc}"[:160]
            costs.append(desk.cost)
        return costs, surface


def table(costs: list[TaskCost], surface: JsonDict) -> str:
    header = ("task", "calls", "errors", "gaps", "args B", "text B", "context B", "structured B")
    rows = [
        (
            c.task + (" (FAILED)" if c.failed else ""),
            str(c.calls),
            str(c.errors),
            ", ".join(c.gaps) or "-",
            f"{c.argument_bytes:,}",
            f"{c.text_bytes:,}",
            f"{c.context_bytes:,}",
            f"{c.structured_bytes:,}",
        )
        for c in costs
    ]
    total = (
        "total",
        str(sum(c.calls for c in costs)),
        str(sum(c.errors for c in costs)),
        str(sum(len(c.gaps) for c in costs)),
        f"{sum(c.argument_bytes for c in costs):,}",
        f"{sum(c.text_bytes for c in costs):,}",
        f"{sum(c.context_bytes for c in costs):,}",
        f"{sum(c.structured_bytes for c in costs):,}",
    )
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
        *("| " + " | ".join(r) + " |" for r in [*rows, total]),
    ]
    lines.append(
        f"\ntools/list read every turn (name + description + inputSchema): {surface['tools']} tools, "
        f"{surface['model_facing_bytes']:,} B"
    )
    lines += [f"  {c.task}: {c.failed}" for c in costs if c.failed]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="A scripted front-desk day against the sandbox.")
    parser.add_argument("--toolsets", default="default")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    costs, surface = anyio.run(session, args.toolsets.split(","))
    if args.json:
        print(json.dumps({"surface": surface, "tasks": [asdict(c) for c in costs]}, indent=2, default=str))
    else:
        print(table(costs, surface))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
