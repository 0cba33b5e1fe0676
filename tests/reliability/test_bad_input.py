"""Bad input: every tool in `tools/list`, fed schema-derived arguments plus deliberate breakage.

For each tool, hypothesis (derandomized, a fixed number of examples) draws arguments from the tool's
own input schema and then breaks them one way: a missing required field, a wrong type, a huge
string, a negative or huge id, a malformed date, an unknown field, bidi/emoji text, nested junk.
Each call goes through a real MCP client session against the sandbox and must end in a normal
result or an `is_error` result, never a protocol error or traceback text. Arguments the tool's
argument model rejects must be refused before any HTTP request, with the offending field named.
"""

from __future__ import annotations

import json
import string
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any, cast

import jsonschema
import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mcp import MCPError
from pydantic import ValidationError

from altegio_mcp.arguments import rename_legacy
from tests.harness import Session, sandbox_session, text_of
from tests.reliability.conftest import (
    NAMED_IDS,
    SESSION_SETTINGS,
    Tally,
    ToolInfo,
    canonical_value,
    tool_catalogue,
)

EXAMPLES_PER_TOOL = 30

# Ids that exist in the seeded sandbox, so some drawn calls get past the 404s into real handlers.
SEED_IDS = (1001, 1002, 1003, 2101, 2102, 2103, 3101, 4101, 4102, 4105, 5001, 5007, 600038, 600040, 700038)
BAD_IDS = (0, -1, -7, -(2**31), -(2**63), 2**31, 2**63, 2**64, 10**30, 10**100)
BAD_DATES = (
    "",
    " ",
    "tomorrow",
    "2026-13-01",
    "2026-02-30",
    "2026-11-31",
    "0000-00-00",
    "2026/11/28",
    "28.11.2026",
    "2026-11-28T25:00:00",
    "2026-11-28T15:61:00-05:00",
    "2026-11-28T15:00:00+24:00",
    "2026-11-28T15:00:00+99:99",
    "9999-99-99T99:99:99",
    "2026-11-28T15:00:00Zjunk",
    "2026-W48-5",
    "1e10",
    "null",
    "2026-11-28\u202e",
    "２０２６-１１-２８",
)
# Calendar dates and datetimes on both sides of the years the tools accept; years 1 and 9999 have a
# test of their own (test_extreme_dates_fail_cleanly).
SANE_DATES = st.dates(min_value=date(1990, 1, 1), max_value=date(2110, 12, 31))
OFFSETS = st.sampled_from(
    [UTC, timezone(timedelta(hours=-5)), timezone(timedelta(hours=14)), timezone(timedelta(hours=-12))]
)
UNKNOWN_KEYS = (
    "foo",
    "company_id",
    "record_id",
    "staff_id",
    "__proto__",
    "",
    "a" * 300,
    "location id",
    "🙂",
    "$ref",
)
NASTY_FRAGMENTS = st.sampled_from(
    [
        *"aZ 09-+@.'\"\\/<>{}",
        *(
            "\u202e",
            "\u202d",
            "\u2066",
            "\u2067",
            "\u2069",
            "\u200b",
            "\u200d",
            "\ufeff",
            "\u00ad",
            "\U000e0041",
        ),
        *(
            "😀",
            "👩\u200d👩\u200d👧",
            "🏳️\u200d🌈",
            "ש",
            "ا",
            "中",
            "\x00",
            "\x1b",
            "\n",
            "\t",
            "\r",
            "\U0010ffff",
        ),
    ]
)
NASTY_TEXT = st.lists(NASTY_FRAGMENTS, min_size=1, max_size=40).map("".join)
JSON_LEAF = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
)
NESTED_JUNK = st.recursive(
    JSON_LEAF,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=25,
)

MUTATIONS = (
    "valid",
    "missing_required",
    "wrong_type",
    "huge_string",
    "bad_id",
    "bad_date",
    "unknown_field",
    "unicode",
    "nested_junk",
    "null",
)


# --- schema → strategy ------------------------------------------------------------------------------


def _integers(schema: dict[str, Any]) -> st.SearchStrategy[int]:
    low = int(schema.get("minimum", schema.get("exclusiveMinimum", -1000) + 1))
    high = int(schema.get("maximum", low + 1_000_000))
    seeds = [i for i in SEED_IDS if low <= i <= high]
    pool = st.integers(min_value=low, max_value=min(high, low + 30)) | st.integers(
        min_value=low, max_value=high
    )
    return st.sampled_from(seeds) | pool if seeds else pool


def _string(schema: dict[str, Any]) -> st.SearchStrategy[str]:
    fmt = schema.get("format")
    if fmt == "date":
        return SANE_DATES.map(date.isoformat)
    if fmt == "date-time":
        low, high = datetime(1990, 1, 2), datetime(2110, 12, 30)
        moments = st.datetimes(low, high) | st.datetimes(low, high, timezones=OFFSETS)
        return moments.map(lambda d: d.isoformat(timespec="seconds"))
    if "pattern" in schema:
        pattern = str(schema["pattern"])
        limit = int(schema.get("maxLength", 200))
        return st.from_regex(pattern, fullmatch=True).filter(lambda s: len(s) <= limit)
    low = int(schema.get("minLength", 0))
    high = min(int(schema.get("maxLength", 40)), 40)
    plain = st.text(
        alphabet=string.ascii_letters + string.digits + " -'", min_size=low, max_size=max(low, high)
    )
    return plain | NASTY_TEXT.filter(lambda s: low <= len(s) <= int(schema.get("maxLength", 10**6)))


def strategy_for(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    if "enum" in schema:
        return st.sampled_from(list(schema["enum"]))
    if "anyOf" in schema:
        return st.one_of([strategy_for(s) for s in schema["anyOf"]])
    kind = schema.get("type")
    if kind == "integer":
        return _integers(schema)
    if kind == "number":
        low = float(schema.get("minimum", schema.get("exclusiveMinimum", 0.0)))
        high = float(schema.get("maximum", 1e6))
        return st.floats(
            min_value=low, max_value=high, allow_nan=False, exclude_min="exclusiveMinimum" in schema
        )
    if kind == "boolean":
        return st.booleans()
    if kind == "string":
        return _string(schema)
    if kind == "array":
        items = strategy_for(cast(dict[str, Any], schema.get("items", {})))
        low = int(schema.get("minItems", 0))
        return st.lists(items, min_size=low, max_size=max(low, min(int(schema.get("maxItems", 4)), 4)))
    if kind == "object":
        return object_strategy(schema)
    return NESTED_JUNK


def object_strategy(schema: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    props = cast(dict[str, dict[str, Any]], schema.get("properties", {}))
    required = set(cast(list[str], schema.get("required", [])))
    return st.fixed_dictionaries(
        {name: strategy_for(p) for name, p in props.items() if name in required},
        optional={name: strategy_for(p) for name, p in props.items() if name not in required},
    )


def _wrong_type(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """A value whose JSON type the field does not have (or an unparseable string for a number)."""
    kind = schema.get("type")
    choices: list[st.SearchStrategy[Any]] = [
        st.just({"nested": [1, {"x": None}]}),
        st.just([["a"], 1]),
        st.just("not-a-" + str(kind)),
    ]
    if kind != "number":
        choices.append(st.just(1.5))
    if kind not in {"integer", "number"}:
        choices.append(st.integers(min_value=-5, max_value=5))
    if kind != "boolean":
        choices.append(st.just("maybe"))
    return st.one_of(choices)


def _fields_of(schema: dict[str, Any], *kinds: str) -> list[str]:
    props = cast(dict[str, dict[str, Any]], schema.get("properties", {}))
    found: list[str] = []
    for name, prop in props.items():
        kind = prop.get("format") or prop.get("type")
        if kind in kinds or (prop.get("type") == "array" and prop.get("items", {}).get("type") in kinds):
            found.append(name)
    return found


@st.composite
def broken_arguments(draw: st.DrawFn, tool: ToolInfo) -> tuple[str, dict[str, Any]]:
    schema = tool.input_schema
    props = cast(dict[str, dict[str, Any]], schema.get("properties", {}))
    args = dict(draw(object_strategy(schema)))
    mutation = draw(st.sampled_from(MUTATIONS))
    names = list(props)

    def pick(candidates: list[str]) -> str | None:
        return draw(st.sampled_from(candidates)) if candidates else None

    if mutation == "missing_required":
        field = pick(sorted(set(cast(list[str], schema.get("required", []))) & set(args)))
        if field is not None:
            del args[field]
    elif mutation == "wrong_type":
        field = pick(names)
        if field is not None:
            args[field] = draw(_wrong_type(props[field]))
    elif mutation == "huge_string":
        field = pick(names)
        if field is not None:
            size = draw(st.sampled_from([1_001, 20_000, 300_000]))
            args[field] = draw(st.sampled_from(["A", "é", "😀", "\u202e", "9"])) * size
    elif mutation == "bad_id":
        field = pick(_fields_of(schema, "integer"))
        if field is not None:
            bad = draw(st.sampled_from(BAD_IDS))
            args[field] = [bad] if props[field].get("type") == "array" else bad
    elif mutation == "bad_date":
        field = pick(_fields_of(schema, "date", "date-time") or names)
        if field is not None:
            args[field] = draw(st.sampled_from(BAD_DATES))
    elif mutation == "unknown_field":
        args[draw(st.sampled_from(UNKNOWN_KEYS))] = draw(JSON_LEAF)
    elif mutation == "unicode":
        field = pick(names)
        if field is not None:
            args[field] = draw(NASTY_TEXT)
    elif mutation == "nested_junk":
        field = pick(names) or "junk"
        args[field] = draw(NESTED_JUNK)
    elif mutation == "null":
        field = pick(names)
        if field is not None:
            args[field] = None
    return mutation, args


# --- the session every example shares ----------------------------------------------------------------


class LiveSession:
    """One sandbox-backed MCP session running in a portal thread, so sync hypothesis tests can call it."""

    def __init__(self, portal: BlockingPortal, session: Session) -> None:
        self.portal = portal
        self.session = session

    def call(self, tool: str, arguments: dict[str, Any]) -> Any:
        return self.portal.call(self.session.call, tool, arguments)

    def upstream_requests(self) -> int:
        assert self.session.sandbox is not None
        return len(self.session.sandbox.requests)

    def argument_error(self, tool: str, arguments: dict[str, Any]) -> ValidationError | None:
        """What the tool's own argument model says about these arguments (None: they are valid)."""
        registered = self.session.server.mcp._tool_manager.get_tool(tool)  # pyright: ignore[reportPrivateUsage]
        assert registered is not None
        meta = registered.fn_metadata
        try:
            meta.arg_model.model_validate(
                meta.pre_parse_json(rename_legacy(arguments, registered.parameters))
            )
        except ValidationError as exc:
            return exc
        return None


@pytest.fixture(scope="module")
def live() -> Iterator[LiveSession]:
    with start_blocking_portal("asyncio") as portal:
        manager = portal.wrap_async_context_manager(sandbox_session(**SESSION_SETTINGS))
        with manager as session:
            yield LiveSession(portal, session)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "fuzzed_tool" in metafunc.fixturenames:
        metafunc.parametrize("fuzzed_tool", sorted(tool_catalogue()))


# --- the checks --------------------------------------------------------------------------------------


def check_result(
    live: LiveSession, tool: ToolInfo, mutation: str, args: dict[str, Any], tally: Tally
) -> None:
    invalid = live.argument_error(tool.name, args)
    before = live.upstream_requests()
    try:
        result = live.call(tool.name, args)
    except MCPError as exc:  # a JSON-RPC error: the model would see nothing
        raise AssertionError(f"{tool.name}{args!r:.300} gave a protocol error: {exc}") from exc
    sent = live.upstream_requests() - before
    text = text_of(result)
    shown = f"{tool.name} [{mutation}] {json.dumps(args, default=str)[:400]} -> {text[:400]!r}"
    tally.add("bad_input.cases")
    tally.add(f"bad_input.{'error' if result.is_error else 'ok'}")
    assert "Traceback" not in text, shown
    assert 'File "' not in text, shown
    if result.is_error:
        assert "Error executing tool" not in text, f"SDK prefix: {shown}"
        assert len(text) > 20 and not text.startswith("Internal error: "), f"crash text: {shown}"
    else:
        assert isinstance(result.structured_content, dict), shown
        if tool.output_schema is not None:
            jsonschema.validate(result.structured_content, tool.output_schema)
    if invalid is not None:
        tally.add("bad_input.rejected_before_http")
        assert result.is_error, f"invalid arguments were accepted: {shown}"
        assert "Invalid arguments, nothing was sent" in text, shown
        assert sent == 0, f"{sent} upstream request(s) for invalid arguments: {shown}"
        for error in invalid.errors():
            field = str(error["loc"][0]) if error["loc"] else ""
            assert f"`{field}" in text, f"the message does not name `{field}`: {shown}"
    else:
        # The compact schemas drop `null` from optional fields on purpose; a null there is not a breach.
        present = {k: v for k, v in args.items() if v is not None}
        if not jsonschema.Draft202012Validator(tool.input_schema).is_valid(present):
            tally.add("bad_input.coerced_outside_schema")


@settings(
    max_examples=EXAMPLES_PER_TOOL,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
@given(data=st.data())
def test_every_tool_survives_bad_input(
    fuzzed_tool: str, live: LiveSession, tally: Tally, data: st.DataObject
) -> None:
    tool = tool_catalogue()[fuzzed_tool]
    mutation, args = data.draw(broken_arguments(tool), label="arguments")
    tally.add(f"bad_input.mutation.{mutation}")
    check_result(live, tool, mutation, args, tally)


def test_the_fuzzed_tools_are_the_served_tools(live: LiveSession) -> None:
    """The parametrisation came from `tools/list` at collection time; it must still match."""
    served = {t.name for t in live.portal.call(live.session.client.list_tools).tools}
    assert served == set(tool_catalogue())
    assert len(served) >= 20


# --- found by the fuzz, pinned as tests --------------------------------------------------------------

EXTREME_VALUES = {
    "date": ("0001-01-01", "9999-12-31"),
    "date-time": ("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00", "9999-12-31T23:59:59"),
}


def extreme_cases() -> list[Any]:
    cases: list[Any] = []
    for tool in sorted(tool_catalogue().values(), key=lambda t: t.name):
        props = cast(dict[str, dict[str, Any]], tool.input_schema.get("properties", {}))
        for field, prop in props.items():
            for value in EXTREME_VALUES.get(str(prop.get("format")), ()):
                cases.append(pytest.param(tool.name, field, value, id=f"{tool.name}-{field}-{value}"))
    return cases


@pytest.mark.parametrize(("tool_name", "field", "value"), extreme_cases())
def test_extreme_dates_fail_cleanly(
    live: LiveSession, tally: Tally, tool_name: str, field: str, value: str
) -> None:
    """Years 1 and 9999 pass the JSON schema. They used to end in an unhandled OverflowError
    (`astimezone()` or `date + timedelta` out of range) that the SDK shows only as "Error executing
    tool <name>"; the argument models now bound the year, and this keeps it that way."""
    tool = tool_catalogue()[tool_name]
    props = cast(dict[str, dict[str, Any]], tool.input_schema.get("properties", {}))
    required = set(cast(list[str], tool.input_schema.get("required", [])))
    args = {n: canonical_value(n, p) for n, p in props.items() if n in required or n in NAMED_IDS}
    args[field] = value
    tally.add("bad_input.extreme_dates")
    check_result(live, tool, "extreme_date", args, tally)


@pytest.mark.parametrize(
    ("tool_name", "args"),
    [
        pytest.param("get_appointment", {"appointment_id": True}, id="boolean-as-id"),
        pytest.param("get_location", {"location_id": "1001"}, id="string-as-id"),
        pytest.param("list_bookable_team_members", {"datetime": 1_800_000_000}, id="number-as-datetime"),
        pytest.param("list_team_members", {"include_unavailable": 0}, id="integer-as-boolean"),
    ],
)
def test_arguments_outside_the_schema_send_nothing(
    live: LiveSession, tool_name: str, args: dict[str, Any]
) -> None:
    tool = tool_catalogue()[tool_name]
    assert not jsonschema.Draft202012Validator(tool.input_schema).is_valid(args)
    before = live.upstream_requests()
    result = live.call(tool_name, args)
    assert result.is_error
    assert live.upstream_requests() == before
