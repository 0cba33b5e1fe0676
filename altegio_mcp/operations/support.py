"""What several operations share: service lengths, free start times, reading Altegio's dates,
clock times and intervals, picking one item out of an answer, and posting a create at most once.

`bookable_slots` reads the online-booking `book_times` endpoint once and normalises every slot to an
aware, location-local start, so `list_free_times` shows exactly the datetimes `create_appointment`
sends, and a refused booking can compare its own start with them.

`post_never_twice` is how a create is sent: never twice, with the caller's search settling what a
lost answer hid (done, not done, or unknown). With an idempotency `key` it also claims that key in the state
store first, so an identical create in flight on another replica, or lost before a restart, is
recognised too (`idempotency.py`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Generic, Protocol, TypeVar
from zoneinfo import ZoneInfo

from pydantic import JsonValue, TypeAdapter

from altegio_mcp.errors import (
    AltegioError,
    APIStatusError,
    InvalidArgument,
    NotFound,
    Target,
)
from altegio_mcp.operations.base import (
    RAW_JSON,
    IsoDate,
    OpContext,
    OptionalDate,
    Verdict,
    Verified,
    Wire,
    as_list,
)
from altegio_mcp.operations.idempotency import CreateKey
from altegio_mcp.timeutil import TimeError, iso, localize, offset_text, parse_api_datetime

T = TypeVar("T")
ANY = RAW_JSON


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
    """One `book_times` slot; the page's table says `session_length`, its example `seance_length`."""

    time: str | None = None
    seance_length: int | None = None
    session_length: int | None = None
    sum_length: int | None = None
    datetime: str | None = None

    @property
    def length(self) -> int | None:
        for value in (self.seance_length, self.session_length, self.sum_length):
            if value is not None:
                return value
        return None


@dataclass(frozen=True, slots=True)
class Slot:
    """A bookable start in the location's zone, and its length in seconds when Altegio says."""

    start: datetime
    length: int | None


class WireMemberName(Wire):
    id: int
    name: str | None = None


MEMBER_NAMES = TypeAdapter(list[WireMemberName])


async def team_names(ctx: OpContext, location_id: int) -> dict[int, str]:
    """Team member names by id (`GET /staff/{location_id}`), so results can put a name next to
    every id the model relays. Read per call (one light request), so a renamed or new team member
    shows at once and a call always sends the same requests."""
    try:
        res = await ctx.call(
            "GET", f"/staff/{location_id}", MEMBER_NAMES, target=location_target(location_id)
        )
    except AltegioError:  # names are a courtesy: the ids stand on their own
        return {}
    return {m.id: m.name for m in res.data if m.name}


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


def _slot_start(slot: WireSlot, day: date, tz: ZoneInfo) -> datetime | None:
    start = parse_api_datetime(slot.datetime, tz)
    if start is not None:
        return start.astimezone(tz)
    if not slot.time:
        return None
    try:
        clock = time.fromisoformat(slot.time)
        return localize(datetime.combine(day, clock), tz)[0]
    except (ValueError, TimeError):  # an unreadable or non-existent (DST gap) local time is no slot
        return None


async def bookable_slots(
    ctx: OpContext, location_id: int, team_member_id: int, day: date, service_ids: list[int]
) -> list[Slot]:
    """Bookable starts from the online-booking `book_times` endpoint, in order, without repeats."""
    tz = await ctx.zone(location_id)
    res = await ctx.call(
        "GET",
        f"/book_times/{location_id}/{team_member_id}/{day.isoformat()}",
        SLOTS,
        params={"service_ids[]": [str(s) for s in service_ids]},
        partner_only=True,
        target=Target("team member", str(team_member_id), location_id, "list_team_members"),
    )
    seen: dict[datetime, Slot] = {}
    for wire in res.data:
        start = _slot_start(wire, day, tz)
        if start is not None and start not in seen:
            seen[start] = Slot(start=start, length=wire.length)
    return sorted(seen.values(), key=lambda s: s.start)


async def free_times(
    ctx: OpContext, location_id: int, team_member_id: int, day: date, service_ids: list[int]
) -> list[str]:
    """Bookable start datetimes (ISO with offset, as `create_appointment` sends them)."""
    return [
        iso(slot.start) for slot in await bookable_slots(ctx, location_id, team_member_id, day, service_ids)
    ]


# --- reading dates, clock times and intervals -------------------------------------------------------


# The shared date aliases already refuse years outside 2000-2100 (see base.calendar_year).
CalendarDate = IsoDate
OptionalCalendarDate = OptionalDate


def check_date_order(
    start: date | None, end: date | None, *, start_field: str = "start_date", end_field: str = "end_date"
) -> None:
    """Refuse a date range that ends before it starts (either end may be open)."""
    if start and end and end < start:
        raise InvalidArgument(end_field, f"{end} is before {start_field} {start}")


def local_iso(raw: str | None, tz: ZoneInfo) -> str | None:
    """An Altegio datetime as ISO 8601 in the location's zone, with its offset (naive = local)."""
    when = parse_api_datetime(raw, tz)
    return iso(when.astimezone(tz)) if when else None


def whole_minutes(seconds: int | None) -> int | None:
    """Altegio's lengths come in seconds; tools show minutes (none for 0 or null)."""
    return seconds // 60 if seconds else None


def location_target(location_id: int) -> Target:
    return Target("location", str(location_id), None, "list_locations")


def member_target(location_id: int, team_member_id: int | None) -> Target:
    """What a 404 names: callers read the location first (ctx.zone), so then it is the team member."""
    if team_member_id is None:
        return location_target(location_id)
    return Target("team member", str(team_member_id), location_id, "list_team_members")


def wire_list(value: JsonValue) -> list[JsonValue]:
    """An answer documented as an array, also when it comes as one object."""
    return value if isinstance(value, list) else [value] if value else []


def api_dates(values: object) -> list[str]:
    """`YYYY-MM-DD` strings from a list of dates or datetimes (the docs show both), without repeats."""
    found: list[str] = []
    for value in values if isinstance(values, list) else []:  # pyright: ignore[reportUnknownVariableType]
        if not isinstance(value, str):
            continue
        try:
            day = date.fromisoformat(value.strip()[:10]).isoformat()
        except ValueError:
            continue
        if day not in found:
            found.append(day)
    return found


def utc_offset(tz: ZoneInfo, day: date) -> str:
    """The location's offset at noon of a day, e.g. `-05:00`."""
    return offset_text(datetime.combine(day, time(12), tzinfo=tz))


def clock_minutes(text: str | None, *, round_up: bool = False) -> int | None:
    """Minutes after midnight of `HH:MM` or `HH:MM:SS` (24:00 allowed); seconds round down or up."""
    if not text:
        return None
    parts = text.strip().split(":")
    try:
        hours, minutes = int(parts[0]), int(parts[1])
        seconds = int(parts[2]) if len(parts) > 2 else 0
    except (ValueError, IndexError):
        return None
    if not (0 <= hours <= 24 and 0 <= minutes < 60 and 0 <= seconds < 60):
        return None
    return min(hours * 60 + minutes + (1 if round_up and seconds else 0), 24 * 60)


def clock_text(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def free_spans(working: list[tuple[int, int]], busy: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Working intervals minus busy ones, in minutes after midnight."""
    free: list[tuple[int, int]] = []
    for start, end in sorted(working):
        cursor = start
        for b_start, b_end in sorted(busy):
            if b_end <= cursor or b_start >= end:
                continue
            if b_start > cursor:
                free.append((cursor, b_start))
            cursor = max(cursor, b_end)
        if cursor < end:
            free.append((cursor, end))
    return free


# --- answers and creates ---------------------------------------------------------------------------


class HasId(Protocol):
    id: int


W = TypeVar("W", bound=HasId)


def pick_by_id(
    adapter: TypeAdapter[W], data: JsonValue, wanted: int, *, what: str, path: str, target: Target
) -> W:
    """The item with the asked id from an answer documented as an object but sent as an array."""
    items = [adapter.validate_python(item) for item in as_list(data)]
    found = next((w for w in items if w.id == wanted), items[0] if len(items) == 1 else None)
    if found is None:
        raise NotFound(f"{what} not in the answer", method="GET", path=path, target=target)
    return found


@dataclass(frozen=True, slots=True)
class Posted(Generic[T]):
    """How a create ended: Altegio's answer to the POST, what a lost earlier attempt had saved, or
    (with `precheck`) what an identical earlier call had already created."""

    answer: JsonValue = None
    found: T | None = None
    existed: bool = False


def utc_now() -> datetime:
    """The current time; tests replace it to pin "recent" against the sandbox's fixed day."""
    return datetime.now(UTC)


RECENT = timedelta(minutes=10)
"""How recent an identical post must be to count as the same one (a lost answer, a retry)."""


async def post_never_twice(
    ctx: OpContext,
    path: str,
    body: JsonValue,
    *,
    refusal: Callable[[APIStatusError], Awaitable[Exception | None]],
    find_saved: Callable[[], Awaitable[T | None]],
    check: str,
    precheck: bool = False,
    key: str | None = None,
) -> Posted[T]:
    """POST a create so that it happens at most once, whatever the network does (see
    `_post_at_most_once`); with `key` and a state store, also across replicas and restarts."""
    store = ctx.client.state
    if key is None or store is None:
        return await _post_at_most_once(ctx, path, body, refusal, find_saved, check, precheck)
    claim = CreateKey(store, f"POST {path}:{key}", ctx.client.settings, "POST", path)
    earlier = await claim.claim(find_saved)
    if earlier is not None:
        return Posted(found=earlier, existed=True)
    error: BaseException | None = None
    try:
        return await _post_at_most_once(ctx, path, body, refusal, find_saved, check, precheck)
    except BaseException as exc:
        error = exc
        raise
    finally:
        await claim.settle(error)


async def _post_at_most_once(
    ctx: OpContext,
    path: str,
    body: JsonValue,
    refusal: Callable[[APIStatusError], Awaitable[Exception | None]],
    find_saved: Callable[[], Awaitable[T | None]],
    check: str,
    precheck: bool,
) -> Posted[T]:
    """POST a create so that it happens at most once, whatever the network does.

    - `precheck`: look with `find_saved` first; a record with the same key means an identical call
      already succeeded, and it is returned instead of creating another.
    - The POST goes through `OpContext.write`: never re-sent after a lost answer; `find_saved`
      settles what happened (done, not done, or unknown after a timeout), and `check` names the
      read the model can use to look itself.

    `refusal` may turn Altegio's refusal into a more helpful error (None keeps the original).
    """
    if precheck:
        existing = await find_saved()
        if existing is not None:
            return Posted(found=existing, existed=True)

    async def verify() -> Verdict:
        found = await find_saved()
        how = f"{check} {'finds' if found is not None else 'does not find'} it"
        return Verdict(done=found is not None, how=how, found=found)

    try:
        res = await ctx.write("POST", path, ANY, json_body=body, verify=verify, check=check)
    except APIStatusError as exc:
        better = await refusal(exc)
        if better is None:
            raise
        raise better from exc
    if isinstance(res, Verified):
        found: T = res.found
        return Posted(found=found)
    return Posted(answer=res.data)


__all__ = [
    "RECENT",
    "SERVICES",
    "SLOTS",
    "CalendarDate",
    "OptionalCalendarDate",
    "Posted",
    "Slot",
    "WireService",
    "WireSlot",
    "api_dates",
    "as_list",
    "bookable_slots",
    "check_date_order",
    "clock_minutes",
    "clock_text",
    "free_spans",
    "free_times",
    "local_iso",
    "location_target",
    "member_target",
    "pick_by_id",
    "post_never_twice",
    "service_durations",
    "utc_now",
    "utc_offset",
    "whole_minutes",
    "wire_list",
]
