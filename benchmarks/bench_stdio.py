"""Figures that spawn the real console script over stdio: cold start (1) and memory (6).

Both talk to `altegio-mcp serve --sandbox` with the SDK's own stdio client, the way an MCP host
launches the server. The server's stderr goes to a scratch file so its logs never mix with the table.
"""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

import anyio
from bench_common import (
    BENCH_DIR,
    ROOT,
    Figure,
    JsonDict,
    Row,
    child_pids,
    cpu_seconds,
    ms_summary,
    peak_rss_kib,
    pick_appointment,
    ratio,
    rss_kib,
    server_command,
)
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client

COLD_START_TARGET = 1.3


def _params(command: str, args: list[str], env: dict[str, str]) -> StdioServerParameters:
    return StdioServerParameters(command=command, args=args, env=env, cwd=str(ROOT))


async def _spawn_to_tools_list(params: StdioServerParameters, errlog: TextIO) -> tuple[float, int]:
    """Seconds from spawning the process to holding its `tools/list` answer, and the tool count."""
    started = time.perf_counter()
    async with Client(stdio_client(params, errlog=errlog), cache=None) as client:
        listed = await client.list_tools()
        elapsed = time.perf_counter() - started
    return elapsed, len(listed.tools)


# A host lists the tools at once, then calls the first one when its model has answered: about a
# second later at the very least.
THINK_SECONDS = 1.0


async def _first_call(params: StdioServerParameters, errlog: TextIO) -> tuple[float, float]:
    """Seconds for the first and the second `list_team_members` call, the first one made
    `THINK_SECONDS` after the `tools/list` answer."""
    async with Client(stdio_client(params, errlog=errlog), cache=None) as client:
        await client.list_tools()
        await anyio.sleep(THINK_SECONDS)
        started = time.perf_counter()
        first = await client.call_tool("list_team_members", {})
        middle = time.perf_counter()
        second = await client.call_tool("list_team_members", {})
        ended = time.perf_counter()
    if first.is_error or second.is_error:
        raise RuntimeError(f"list_team_members failed: {first.content or second.content}")
    return middle - started, ended - middle


async def _cold_start(runs: int, env: dict[str, str], errlog: TextIO, baseline: str | None) -> JsonDict:
    command, prefix = server_command()
    # Without --sandbox, as deployed: tokens from the environment, the default credential store.
    # Nothing at start talks to Altegio, so dummy tokens are enough to reach tools/list. keyring
    # is still imported and asked for a backend, but its failing backend keeps the developer's
    # real keychain out of it.
    production = {k: v for k, v in env.items() if k != "ALTEGIO_CREDENTIAL_STORE"}
    production |= {
        "ALTEGIO_PARTNER_TOKEN": "benchmark-partner",
        "ALTEGIO_USER_TOKEN": "benchmark-user",
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
    }
    servers = {
        "altegio": _params(command, [*prefix, "serve", "--sandbox"], env),
        "bare_sdk": _params(sys.executable, [str(BENCH_DIR / "minimal_server.py")], env),
        "altegio_production": _params(command, [*prefix, "serve"], production),
    }
    if baseline is not None:  # another installation's console script, e.g. the commit before a change
        servers["baseline"] = _params(baseline, ["serve", "--sandbox"], env)
        servers["baseline_production"] = _params(baseline, ["serve"], production)
    samples: dict[str, list[float]] = {name: [] for name in servers}
    tools: dict[str, int] = {}
    for name, params in servers.items():  # warm the OS file cache and the .pyc files; not counted
        _, tools[name] = await _spawn_to_tools_list(params, errlog)
    for run in range(runs):
        # Rotate which server goes first so a drifting machine load biases none of them.
        names = list(servers)
        order = names[run % len(names) :] + names[: run % len(names)]
        for name in order:
            elapsed, _ = await _spawn_to_tools_list(servers[name], errlog)
            samples[name].append(elapsed)
    # The first call after the start (the tools and the client load lazily: see the README).
    callers = ["altegio", *(["baseline"] if baseline is not None else [])]
    first_calls: dict[str, list[tuple[float, float]]] = {name: [] for name in callers}
    for run in range(max(3, runs // 2)):
        for name in callers[run % len(callers) :] + callers[: run % len(callers)]:
            first_calls[name].append(await _first_call(servers[name], errlog))
    data: JsonDict = {
        "runs": runs,
        "first_call": {
            name: {
                "think_seconds": THINK_SECONDS,
                "first": ms_summary([first for first, _ in pairs]),
                "second": ms_summary([second for _, second in pairs]),
            }
            for name, pairs in first_calls.items()
        },
        "command": " ".join([command, *prefix, "serve", "--sandbox"]),
        "tools_listed": tools,
        **{name: ms_summary(values) for name, values in samples.items()},
        "samples_ms": {name: [round(s * 1000, 2) for s in values] for name, values in samples.items()},
    }
    if baseline is not None:
        data["baseline_command"] = f"{baseline} serve --sandbox"
    return data


def cold_start(runs: int, env: dict[str, str], errlog: TextIO, baseline: str | None = None) -> Figure:
    """Figure 1; with `baseline` (another installation's `altegio-mcp`), its two starts alternate
    with ours too, so a before/after comparison comes from one run."""
    data = anyio.run(_cold_start, runs, env, errlog, baseline)
    ours, bare = data["altegio"]["median_ms"], data["bare_sdk"]["median_ms"]
    deployed = data["altegio_production"]["median_ms"]
    data["ratio_median"] = r = ratio(ours, bare)
    data["ratio_median_production"] = ratio(deployed, bare)
    rows = [
        Row(
            "1 Cold start: spawn → tools/list",
            f"{ours:.0f} ms median of {runs} ({data['tools_listed']['altegio']} tools)",
            f"{bare:.0f} ms bare SDK, 1 tool",
            r,
            f"≤ {COLD_START_TARGET}×",
            r <= COLD_START_TARGET,
        ),
        Row(
            "  same, `serve` as deployed (no sandbox)",
            f"{deployed:.0f} ms median ({data['tools_listed']['altegio_production']} tools)",
            "tokens from env, default credential store",
            data["ratio_median_production"],
            "(info)",
            None,
        ),
    ]
    for name, first in data["first_call"].items():
        rows.append(
            Row(
                f"  first tool call, {THINK_SECONDS:.0f} s after tools/list"
                + (" (baseline)" if name == "baseline" else ""),
                f"{first['first']['median_ms']:.0f} ms median (the second: {first['second']['median_ms']:.0f} ms)",
                "serve --sandbox, list_team_members",
                None,
                "(info)",
                None,
            )
        )
    if baseline is not None:
        for key, label in (("baseline", "serve --sandbox"), ("baseline_production", "serve")):
            median = data[key]["median_ms"]
            data[f"ratio_median_{key}"] = ratio(median, bare)
            rows.append(
                Row(
                    f"  baseline `{label}` (same run)",
                    f"{median:.0f} ms median ({data['tools_listed'][key]} tools)",
                    baseline,
                    data[f"ratio_median_{key}"],
                    "(info)",
                    None,
                )
            )
    return Figure("cold_start", data, rows)


async def _memory(calls: int, env: dict[str, str], errlog: TextIO) -> JsonDict:
    """The server as deployed (`serve`, tokens from the environment) against the sandbox in its own
    process, so the server's RSS is not mixed with the emulator's data and request log."""
    from bench_peer import ours_env, start_upstream

    command, prefix = server_command()
    upstream_process, upstream, _ = await start_upstream(errlog, env)
    try:
        return await _memory_of(command, prefix, ours_env(env, upstream), calls, errlog)
    finally:
        upstream_process.terminate()
        with anyio.move_on_after(5):
            await upstream_process.wait()


async def _memory_of(
    command: str, prefix: list[str], env: dict[str, str], calls: int, errlog: TextIO
) -> JsonDict:
    params = _params(command, [*prefix, "serve"], env)
    before = set(child_pids("serve"))
    async with Client(stdio_client(params, errlog=errlog), cache=None) as client:
        await client.list_tools()
        spawned = [pid for pid in child_pids("serve") if pid not in before]
        if len(spawned) != 1:
            raise RuntimeError(f"expected one server process, found {spawned}")
        pid = spawned[0]
        after_start = rss_kib(pid)
        target = await pick_appointment(client)
        arguments: dict[str, Any] = {
            "location_id": target.location_id,
            "appointment_id": target.appointment_id,
        }
        await client.call_tool("get_appointment", arguments)
        after_first_call = rss_kib(pid)
        half = calls // 2
        at_half = after_first_call
        latencies: list[float] = []
        errors = 0
        cpu_before = cpu_seconds(pid)
        started = time.perf_counter()
        for n in range(1, calls + 1):
            call_started = time.perf_counter()
            result = await client.call_tool("get_appointment", arguments)
            latencies.append(time.perf_counter() - call_started)
            errors += int(result.is_error)
            if n == half:
                at_half = rss_kib(pid)
        wall = time.perf_counter() - started
        server_cpu = cpu_seconds(pid) - cpu_before
        after_calls = rss_kib(pid)
        peak = peak_rss_kib(pid)
    return {
        "calls": calls,
        "errors": errors,
        "rss_kib": {
            "after_start": after_start,
            "after_first_call": after_first_call,
            "after_half": at_half,
            "after_calls": after_calls,
            "peak": peak,
        },
        "growth_kib": after_calls - after_start,
        "growth_second_half_kib": after_calls - at_half,
        "stdio_latency": ms_summary(latencies),
        "stdio_calls_per_second": round(calls / wall, 1),
        "server_cpu_ms_per_call": round(server_cpu * 1000 / calls, 4),
    }


def memory(calls: int, env: dict[str, str], errlog: TextIO) -> Figure:
    data = anyio.run(_memory, calls, env, errlog)
    rss = data["rss_kib"]
    per_k_second_half = data["growth_second_half_kib"] / max(calls - calls // 2, 1) * 1000
    data["growth_second_half_kib_per_1000_calls"] = round(per_k_second_half, 1)
    latency = data["stdio_latency"]
    return Figure(
        "memory",
        data,
        [
            Row(
                "6 RSS of stdio server after start",
                f"{rss['after_start'] / 1024:.1f} MiB; after the first call {rss['after_first_call'] / 1024:.1f} MiB",
                "`serve`, upstream: the sandbox in its own process",
            ),
            Row(
                f"6 RSS after {calls:,} get_appointment calls",
                f"{rss['after_calls'] / 1024:.1f} MiB (+{data['growth_kib'] / 1024:.1f} MiB; "
                f"2nd half +{per_k_second_half:.0f} KiB/1k calls)",
                f"peak {rss['peak'] / 1024:.1f} MiB",
                ratio(rss["after_calls"], rss["after_start"]),
                "",
                None,
            ),
            Row(
                "  (same run) stdio sequential call",
                f"{latency['median_ms']:.2f} ms median, p95 {latency['p95_ms']:.2f} ms, "
                f"{data['stdio_calls_per_second']:.0f} calls/s",
                f"server CPU {data['server_cpu_ms_per_call']:.2f} ms/call",
                None,
                "0 errors",
                data["errors"] == 0,
            ),
        ],
    )
