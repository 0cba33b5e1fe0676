"""The appointment calendar (toolset `calendar`, opt-in): working dates and the free/busy time grid.

These are the staff-side calendar reads (`/timetable/...`). They know nothing of service lengths,
so they say where the calendar is open, not what can be booked: `list_free_times` does that.
"""

from __future__ import annotations

from datetime import date
from itertools import pairwise

from pydantic import Field, TypeAdapter

from altegio_mcp.operations.base import (
    RAW_JSON,
    Args,
    LocationId,
    OpContext,
    Operation,
    OptionalTeamMemberId,
    Out,
    Result,
    TeamMemberId,
    Wire,
    as_list,
)
from altegio_mcp.operations.support import (
    CalendarDate,
    api_dates,
    clock_minutes,
    clock_text,
    member_target,
    utc_offset,
)

TOOLSET = "calendar"
DEFAULT_STEP_MINUTES = 15

ANY = RAW_JSON


# --- list_working_dates (GET /timetable/dates) -----------------------------------------------------


class ListWorkingDatesArgs(Args):
    location_id: LocationId
    date: CalendarDate = Field(
        description="Reference day (YYYY-MM-DD); Altegio returns working dates around it."
    )
    team_member_id: OptionalTeamMemberId


class WorkingDates(Result):
    location_id: int
    team_member_id: int | None = None
    date: str
    dates: list[str] = Field(description="Working dates, YYYY-MM-DD.")


async def list_working_dates(ctx: OpContext, a: ListWorkingDatesArgs) -> WorkingDates:
    loc = ctx.location_id(a.location_id)
    await ctx.zone(loc)
    res = await ctx.call(
        "GET",
        f"/timetable/dates/{loc}/{a.date.isoformat()}",
        ANY,
        params={"staff_id": a.team_member_id},
        target=member_target(loc, a.team_member_id),
    )
    # The page promises dates, its example shows datetimes: the first 10 characters are the date.
    return WorkingDates(
        location_id=loc,
        team_member_id=a.team_member_id,
        date=a.date.isoformat(),
        dates=sorted(api_dates(as_list(res.data))),
    )


def render_working_dates(out: WorkingDates) -> str:
    who = f"team member {out.team_member_id}" if out.team_member_id else f"location {out.location_id}"
    if not out.dates:
        return "\n".join([f"No working dates for {who} around {out.date}.", *out.notes])
    line = f"Working dates of {who} around {out.date} ({len(out.dates)}): {', '.join(out.dates)}."
    return "\n".join([line, "Free times to book: list_free_times.", *out.notes])


# --- list_time_grid (GET /timetable/seances) --------------------------------------------------------


class ListTimeGridArgs(Args):
    location_id: LocationId
    team_member_id: TeamMemberId
    date: CalendarDate


class WireCell(Wire):
    """One grid cell; the page's table calls the flag `free`, its schema and example `is_free`."""

    time: str | None = None
    is_free: bool | None = None
    free: bool | None = None


class Cell(Out):
    time: str = Field(description="Local HH:MM.")
    free: bool


class TimeGrid(Result):
    location_id: int
    team_member_id: int
    date: str
    timezone: str
    utc_offset: str = Field(description="Offset of the local times, e.g. -05:00.")
    step_minutes: int
    items: list[Cell]


CELLS = TypeAdapter(list[WireCell])


def _step(minutes: list[int]) -> int:
    gaps = [b - a for a, b in pairwise(minutes) if b > a]
    return min(gaps) if gaps else DEFAULT_STEP_MINUTES


async def list_time_grid(ctx: OpContext, a: ListTimeGridArgs) -> TimeGrid:
    loc = ctx.location_id(a.location_id)
    tz = await ctx.zone(loc)
    res = await ctx.call(
        "GET",
        f"/timetable/seances/{loc}/{a.team_member_id}/{a.date.isoformat()}",
        ANY,
        target=member_target(loc, a.team_member_id),
    )
    cells: dict[int, Cell] = {}
    for wire in CELLS.validate_python([c for c in as_list(res.data) if isinstance(c, dict)]):
        minutes = clock_minutes(wire.time)
        flag = wire.is_free if wire.is_free is not None else wire.free
        if minutes is not None and flag is not None and minutes < 24 * 60:
            cells.setdefault(minutes, Cell(time=clock_text(minutes), free=flag))
    ordered = sorted(cells)
    return TimeGrid(
        location_id=loc,
        team_member_id=a.team_member_id,
        date=a.date.isoformat(),
        timezone=tz.key,
        utc_offset=utc_offset(tz, a.date),
        step_minutes=_step(ordered),
        items=[cells[m] for m in ordered],
    )


def runs(out: TimeGrid) -> tuple[list[str], list[str]]:
    """Consecutive cells merged into `HH:MM–HH:MM` ranges: (free ranges, busy ranges)."""
    free: list[str] = []
    busy: list[str] = []
    current: tuple[int, int, bool] | None = None  # start, end (minutes), free

    def flush(run: tuple[int, int, bool]) -> None:
        (free if run[2] else busy).append(f"{clock_text(run[0])}–{clock_text(min(run[1], 24 * 60))}")

    for cell in out.items:
        minutes = clock_minutes(cell.time)
        if minutes is None:
            continue
        if current is not None and current[2] == cell.free and current[1] == minutes:
            current = (current[0], minutes + out.step_minutes, cell.free)
            continue
        if current is not None:
            flush(current)
        current = (minutes, minutes + out.step_minutes, cell.free)
    if current is not None:
        flush(current)
    return free, busy


def render_time_grid(out: TimeGrid) -> str:
    head = (
        f"Time grid of team member {out.team_member_id} on {date.fromisoformat(out.date):%a %Y-%m-%d} "
        f"({out.timezone}, UTC{out.utc_offset}, {out.step_minutes}-min cells)"
    )
    if not out.items:
        return "\n".join([f"{head}: not working.", *out.notes])
    free, busy = runs(out)
    line = f"{head}: free {', '.join(free) or 'none'}; busy {', '.join(busy) or 'none'}."
    return "\n".join([line, "Not service-aware: to book, use list_free_times.", *out.notes])


# --- declarations ----------------------------------------------------------------------------------

OPERATIONS = (
    Operation(
        name="list_working_dates",
        core=False,
        title="Working dates",
        description="Working dates of a location (company) or team member (staff) around a day (timetable). Not free times.",
        method="GET",
        path="/timetable/dates/{location_id}/{date}",
        input_model=ListWorkingDatesArgs,
        output_model=WorkingDates,
        toolset=TOOLSET,
        kind="read",
        handler=list_working_dates,
        render=render_working_dates,
    ),
    Operation(
        name="list_time_grid",
        core=False,
        title="Calendar time grid",
        description="A team member's (staff) 15-minute free/busy grid for a day (seances); no service lengths: book via list_free_times.",
        method="GET",
        path="/timetable/seances/{location_id}/{team_member_id}/{date}",
        input_model=ListTimeGridArgs,
        output_model=TimeGrid,
        toolset=TOOLSET,
        kind="read",
        handler=list_time_grid,
        render=render_time_grid,
    ),
)
