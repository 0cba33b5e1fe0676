"""The profile of the hot paths: import time, start-up phases (schema generation included), the cost
of one call step by step, a sampled profile of many calls, and where memory grows per call.

Import time uses `python -X importtime`; the start-up phases come from `startup_probe.py` in a fresh
interpreter; the per-call steps are timed directly against the in-process server, and the sampled
profile uses pyinstrument when it is installed (it is skipped, with a note, when it is not).
"""

from __future__ import annotations

import gc
import json
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, cast

import anyio
import bench_samples
from bench_common import BENCH_DIR, ROOT, JsonDict, pick_appointment
from bench_inprocess import PAGE, InProcess, bare_call, in_process, mcp_call
from jsonschema.validators import validator_for  # pyright: ignore[reportUnknownVariableType]
from mcp import Client
from mcp.server import MCPServer

from altegio_mcp.client import AltegioClient
from altegio_mcp.operations import ALL_OPERATIONS
from altegio_mcp.tools import ToolFactory

IMPORT_SETS = {
    # Both sides build their server (constructing an `MCPServer` configures logging, which loads
    # rich), neither serves.
    "bare SDK (minimal_server.py)": "from mcp.server import MCPServer; "
    "MCPServer(name='minimal', version='0.0.0', log_level='WARNING')",
    "altegio_mcp.cli (every command)": "import altegio_mcp.cli",
    # What `serve --sandbox` loads before its `tools/list` answer (the sandbox itself waits for
    # the first call).
    "serve --sandbox": "from altegio_mcp import cli, server; "
    "server.build_server(cli.settings_from(cli._parser().parse_args(['serve', '--sandbox'])))",
}
BARE, SERVE = "bare SDK (minimal_server.py)", "serve --sandbox"


# --- import time -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ImportLine:
    self_us: int
    cumulative_us: int
    depth: int
    name: str


def parse_importtime(stderr: str) -> list[ImportLine]:
    """`import time:  self | cumulative | <indent>module` lines, as `-X importtime` writes them."""
    lines: list[ImportLine] = []
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "[us]" in line:
            continue
        own, cumulative, name = line.removeprefix("import time:").split("|", 2)
        raw = name[1:]
        depth = (len(raw) - len(raw.lstrip(" "))) // 2
        lines.append(ImportLine(int(own), int(cumulative), depth, raw.strip()))
    return lines


def _importtime_run(code: str, env: dict[str, str]) -> tuple[float, list[ImportLine]]:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        check=True,
    )
    return time.perf_counter() - started, parse_importtime(done.stderr)


def _total_ms(lines: list[ImportLine]) -> float:
    return sum(line.cumulative_us for line in lines if line.depth == 0) / 1000


def import_times(runs: int, env: dict[str, str]) -> JsonDict:
    """Import cost of each set (median of `runs`), and what the server imports beyond the bare SDK."""
    chosen: dict[str, list[ImportLine]] = {}
    totals: dict[str, float] = {}
    walls: dict[str, float] = {}
    for code in IMPORT_SETS.values():  # compile and cache the .pyc files first; not counted
        _importtime_run(code, env)
    for label, code in IMPORT_SETS.items():
        runs_seen = sorted(
            (_importtime_run(code, env) for _ in range(runs)), key=lambda run: _total_ms(run[1])
        )
        wall, lines = runs_seen[len(runs_seen) // 2]
        chosen[label], totals[label], walls[label] = lines, round(_total_ms(lines), 1), round(wall * 1000, 1)
    bare_names = {line.name for line in chosen[BARE]}
    extra = [line for line in chosen[SERVE] if line.name not in bare_names]
    by_package: defaultdict[str, int] = defaultdict(int)
    for line in extra:
        by_package[line.name.split(".")[0]] += line.self_us
    own_modules = sorted(
        (line for line in chosen[SERVE] if line.name.startswith("altegio_mcp")),
        key=lambda line: -line.cumulative_us,
    )
    return {
        "runs": runs,
        "import_ms": totals,
        "interpreter_wall_ms": walls,
        "extra_over_bare_sdk_ms": round(sum(line.self_us for line in extra) / 1000, 1),
        "extra_by_package_ms": {
            name: round(us / 1000, 1) for name, us in sorted(by_package.items(), key=lambda kv: -kv[1])[:10]
        },
        "top_extra_modules_self_ms": {
            line.name: round(line.self_us / 1000, 1)
            for line in sorted(extra, key=lambda line: -line.self_us)[:10]
        },
        "altegio_modules_cumulative_ms": {
            line.name: round(line.cumulative_us / 1000, 1) for line in own_modules[:10]
        },
    }


# --- start-up phases ---------------------------------------------------------------------------------


def startup_phases(runs: int, env: dict[str, str]) -> JsonDict:
    """`startup_probe.py` in fresh interpreters; the run with the median total is reported."""
    results: list[JsonDict] = []
    for _ in range(runs):
        done = subprocess.run(
            [sys.executable, str(BENCH_DIR / "startup_probe.py")],
            capture_output=True,
            text=True,
            env=env,
            cwd=ROOT,
            check=True,
        )
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))
    results.sort(key=lambda result: result["total_ms"])
    median = results[len(results) // 2]
    median["runs"] = runs
    median["total_ms_all_runs"] = [result["total_ms"] for result in results]
    return median


# --- one call, step by step ----------------------------------------------------------------------------


Step = tuple[str, Callable[[], object], bool]
"""A named step to time: the callable and whether it returns an awaitable."""


async def _time_round_robin(steps: list[Step], iterations: int) -> dict[str, float]:
    """Median microseconds of each step, taking turns so load drift hits every step alike."""
    samples: dict[str, list[float]] = {name: [] for name, _, _ in steps}
    for round_ in range(iterations + min(20, iterations)):
        for name, fn, is_async in steps:
            started = time.perf_counter()
            if is_async:
                await cast(Awaitable[object], fn())
            else:
                fn()
            if round_ >= min(20, iterations):  # the first rounds only warm up
                samples[name].append(time.perf_counter() - started)
    return {name: round(statistics.median(values) * 1e6, 1) for name, values in samples.items()}


HANDLER = "operation handler (upstream + wire parse + convert)"
VALIDATE = "validate arguments (once; the server does it twice)"
SERVER = "server alone: MCPServer.call_tool"
FLOOR_SERVER = "bare-SDK ping tool: MCPServer.call_tool"
FLOOR_WHOLE = "bare-SDK ping tool: whole in-memory call"
WHOLE = "whole call: in-memory Client.call_tool"
ITEMISED_IN_SERVER = (
    HANDLER,
    VALIDATE,
    VALIDATE,
    "render text",
    "dump structured content",
    "SDK re-validates structured content (pydantic)",
)


async def _steps(
    env: InProcess,
    bare: AltegioClient,
    tool_name: str,
    arguments: dict[str, Any],
    upstream: tuple[str, dict[str, Any] | None],
    iterations: int,
    floor: tuple[MCPServer, Client] | None = None,
) -> JsonDict:
    op = next((op for op in ALL_OPERATIONS if op.name == tool_name), None)
    if op is None:
        return {"skipped": f"no operation named {tool_name}"}
    runtime = env.server.runtime
    tool = ToolFactory(runtime).build(op)
    meta = tool.fn_metadata
    args = op.input_model.model_validate(arguments)

    def handler() -> Awaitable[object]:
        return op.handler(runtime.op_context(runtime.current_caller()), args)

    result = await op.handler(runtime.op_context(runtime.current_caller()), args)
    dumped = result.model_dump(mode="json", exclude_none=True)
    schema = tool.output_schema
    validator = validator_for(schema)(schema) if schema is not None else None  # pyright: ignore[reportUnknownVariableType]

    def check_output() -> object:
        return list(validator.iter_errors(dumped)) if validator is not None else None  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]

    path, params = upstream
    steps: list[Step] = [
        ("upstream request (bare AltegioClient)", bare_call(bare, path, params), True),
        (HANDLER, handler, True),
        (VALIDATE, lambda: meta.arg_model.model_validate(meta.pre_parse_json(arguments)), False),
        ("render text", lambda: op.render(result), False),
        ("dump structured content", lambda: result.model_dump(mode="json", exclude_none=True), False),
        (
            "SDK re-validates structured content (pydantic)",
            lambda: op.output_model.model_validate(dumped),
            False,
        ),
        ("client checks outputSchema (jsonschema)", check_output, False),
        (SERVER, lambda: env.server.mcp.call_tool(tool_name, arguments), True),
        (WHOLE, mcp_call(env.client, tool_name, arguments), True),
    ]
    if floor is not None:
        minimal, floor_client = floor
        steps += [
            (FLOOR_SERVER, lambda: minimal.call_tool("ping", {}), True),
            (FLOOR_WHOLE, mcp_call(floor_client, "ping", {}), True),
        ]
    us = await _time_round_robin(steps, iterations)
    us["= server: SDK tool plumbing and our wrapper, not itemised"] = round(
        us[SERVER] - sum(us[name] for name in ITEMISED_IN_SERVER), 1
    )
    us["= SDK request path + client (whole − server alone)"] = round(us[WHOLE] - us[SERVER], 1)
    if floor is not None:
        us["= the same for the bare-SDK ping"] = round(us[FLOOR_WHOLE] - us[FLOOR_SERVER], 1)
    return {"iterations": iterations, "median_us": us}


SAMPLED_STEPS = (
    "validate_tool_result",
    "convert_result",
    "validate_arguments",
    "invoke",
    "handle_async_request",
    "to_appointment",
    "render_list",
    "render_one",
    "visit_counts",
)


async def _sampled(env: InProcess, tool_name: str, arguments: dict[str, Any], calls: int) -> JsonDict:
    """pyinstrument over `calls` in-memory calls: time by layer, top functions, selected steps."""
    call = mcp_call(env.client, tool_name, arguments)
    for _ in range(min(50, calls)):
        await call()
    profiler = bench_samples.profiler()
    profiler.start()
    for _ in range(calls):
        await call()
    session = profiler.stop()
    return {
        "calls": calls,
        "by_layer_ms_per_call": bench_samples.layers(session, per=calls),
        "top_self_ms_per_call": bench_samples.top_functions(session, per=calls),
        "inclusive_ms_per_call": bench_samples.inclusive_of(session, SAMPLED_STEPS, per=calls),
    }


async def _call_profile(iterations: int, profile_calls: int) -> JsonDict:
    from minimal_server import server as minimal

    async with (
        in_process() as env,
        AltegioClient(env.settings, transport=env.sandbox.transport()) as bare,
        Client(minimal, cache=None) as floor_client,
    ):
        target = await pick_appointment(env.client)
        loc, appointment = target.location_id, target.appointment_id
        one = {"location_id": loc, "appointment_id": appointment}
        page = {"location_id": loc, "count": PAGE}
        many = f"list_appointments_count_{PAGE}"
        many_iterations = max(iterations // 10, 20)
        data: JsonDict = {
            "get_appointment": await _steps(
                env,
                bare,
                "get_appointment",
                one,
                (f"/record/{loc}/{appointment}", None),
                iterations,
                (minimal, floor_client),
            ),
            many: await _steps(
                env,
                bare,
                "list_appointments",
                page,
                (f"/records/{loc}", {"page": 1, "count": PAGE}),
                many_iterations,
            ),
            "sampled": None,
        }
        if bench_samples.available():
            data["sampled"] = {
                "get_appointment": await _sampled(env, "get_appointment", one, profile_calls),
                many: await _sampled(env, "list_appointments", page, max(profile_calls // 10, 20)),
            }
    return data


def call_profile(iterations: int, profile_calls: int) -> JsonDict:
    return anyio.run(_call_profile, iterations, profile_calls)


# --- memory growth per call ------------------------------------------------------------------------------


async def _growth_sites(calls: int) -> JsonDict:
    async with in_process() as env:
        target = await pick_appointment(env.client)
        call = mcp_call(
            env.client,
            "get_appointment",
            {"location_id": target.location_id, "appointment_id": target.appointment_id},
        )
        for _ in range(50):
            await call()
        gc.collect()
        tracemalloc.start(25)
        before = tracemalloc.take_snapshot()
        for _ in range(calls):
            await call()
        gc.collect()
        after = tracemalloc.take_snapshot()
        env.sandbox.requests.clear()  # what is left is growth outside the sandbox's request log
        gc.collect()
        without_log = tracemalloc.take_snapshot()
        tracemalloc.stop()
    stats = after.compare_to(before, "traceback")
    outside_log = sum(stat.size_diff for stat in without_log.compare_to(before, "filename"))
    growth = sum(stat.size_diff for stat in stats)
    sites: list[JsonDict] = []
    for stat in sorted(stats, key=lambda stat: -stat.size_diff)[:6]:
        frames = list(reversed(stat.traceback))  # most recent first
        ours = next((f for f in frames if "altegio_mcp" in f.filename), frames[0])
        sites.append(
            {
                "where": f"{bench_samples.LIBRARY_PREFIX.sub('', ours.filename.removeprefix(str(ROOT) + '/'))}"
                f":{ours.lineno}",
                "allocated_at": f"{bench_samples.LIBRARY_PREFIX.sub('', frames[0].filename)}:{frames[0].lineno}",
                "bytes_per_call": round(stat.size_diff / calls, 1),
                "blocks_per_call": round(stat.count_diff / calls, 2),
            }
        )
    return {
        "calls": calls,
        "bytes_per_call": round(growth / calls, 1),
        "bytes_per_call_outside_sandbox_request_log": round(outside_log / calls, 1),
        "top_sites": sites,
    }


def growth_sites(calls: int) -> JsonDict:
    return anyio.run(_growth_sites, calls)
