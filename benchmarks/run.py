"""Performance benchmarks of altegio-mcp: one command prints a table and writes `benchmarks/results.json`.

    .venv/bin/python benchmarks/run.py             # full run, a few minutes
    .venv/bin/python benchmarks/run.py --quick     # smoke run, well under a minute
    .venv/bin/python benchmarks/run.py --only per_call,tool_list

Figures: (1) cold start over stdio against a bare-SDK server, (2) per-call overhead of the MCP path
against a bare `AltegioClient`, (3) the `tools/list` footprint, (4) response compactness against
Altegio's raw JSON, (5) streamable-HTTP throughput with concurrent sessions, (6) memory of the stdio
server over many calls; then a profile of import time, start-up and one call. Every ratio compares
two things measured in this same run. Nothing here asserts a timing: the machine is shared and
noisy, so the verdict column informs and never fails the command. The exit status is non-zero only
when a benchmark could not run.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import bench_profile
from bench_common import BENCH_DIR, ROOT, Figure, JsonDict, Row, isolate_environment
from bench_http import GENERATORS, UPSTREAMS, HttpOptions, http_throughput
from bench_inprocess import compactness, per_call, tool_list
from bench_peer import PeerRun, side_by_side
from bench_stdio import cold_start, memory

RESULTS = BENCH_DIR / "results.json"


@dataclass(frozen=True, slots=True)
class Sizes:
    """How much each benchmark does; `--quick` shrinks every count."""

    cold_start_runs: int
    calls: int
    list_calls: int
    http_calls: int
    http_clients: int
    memory_calls: int
    import_runs: int
    probe_runs: int
    step_iterations: int
    profile_calls: int
    growth_calls: int
    peer_calls: int
    peer_list_calls: int
    peer_start_runs: int


FULL = Sizes(
    cold_start_runs=10,
    calls=1000,
    list_calls=200,
    http_calls=800,
    http_clients=16,
    memory_calls=10_000,
    import_runs=5,
    probe_runs=3,
    step_iterations=500,
    profile_calls=1000,
    growth_calls=2000,
    peer_calls=500,
    peer_list_calls=200,
    peer_start_runs=10,
)
QUICK = Sizes(
    cold_start_runs=3,
    calls=200,
    list_calls=40,
    http_calls=160,
    http_clients=16,
    memory_calls=1000,
    import_runs=1,
    probe_runs=1,
    step_iterations=100,
    profile_calls=200,
    growth_calls=300,
    peer_calls=100,
    peer_list_calls=40,
    peer_start_runs=3,
)

FIGURES = ("peer", "cold_start", "per_call", "tool_list", "compactness", "http", "memory", "profile")


def _figures(
    sizes: Sizes,
    env: dict[str, str],
    errlog: TextIO,
    scratch: Path,
    http: HttpOptions,
    args: argparse.Namespace,
) -> dict[str, Callable[[], Figure]]:
    return {
        "peer": lambda: side_by_side(
            PeerRun(args.peer, args.before, sizes.peer_calls, sizes.peer_list_calls, sizes.peer_start_runs),
            env,
            errlog,
            scratch,
        ),
        "cold_start": lambda: cold_start(sizes.cold_start_runs, env, errlog, args.cold_start_baseline),
        "per_call": lambda: per_call(sizes.calls, sizes.list_calls),
        "tool_list": tool_list,
        "compactness": compactness,
        "http": lambda: http_throughput(http, env, errlog, scratch),
        "memory": lambda: memory(sizes.memory_calls, env, errlog),
        "profile": lambda: profile(sizes, env),
    }


def profile(sizes: Sizes, env: dict[str, str]) -> Figure:
    data: JsonDict = {
        "imports": bench_profile.import_times(sizes.import_runs, env),
        "startup": bench_profile.startup_phases(sizes.probe_runs, env),
        "call": bench_profile.call_profile(sizes.step_iterations, sizes.profile_calls),
        "growth": bench_profile.growth_sites(sizes.growth_calls),
    }
    notes = [] if data["call"].get("sampled") else ["pyinstrument is not installed: no sampled profile"]
    return Figure("profile", data, [], notes)


# --- output ---------------------------------------------------------------------------------------


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def table(rows: Sequence[Row]) -> str:
    """The rows as a Markdown table (it reads as plain text and pastes into a report)."""
    head = ["Figure", "Measured", "Baseline / context", "Ratio", "Target", "Verdict"]
    body = [
        [
            row.figure,
            row.measured,
            row.baseline,
            "" if row.ratio is None else f"{row.ratio:.2f}×",
            row.target,
            "" if row.meets is None else ("meets" if row.meets else "MISSES"),
        ]
        for row in rows
    ]
    widths = [max(len(line[i]) for line in [head, *body]) for i in range(len(head))]

    def render(cells: list[str]) -> str:
        return "| " + " | ".join(_cell(c).ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([render(head), rule, *(render(line) for line in body)])


def _pairs(mapping: dict[str, Any], unit: str = "ms") -> str:
    return ", ".join(f"{name} {value:g} {unit}" for name, value in mapping.items())


def profile_report(data: JsonDict) -> str:
    """The profile as readable text: imports, start-up phases, one call by step, samples, growth."""
    out: list[str] = []
    imports = data["imports"]
    out.append(f"Import time (python -X importtime, median of {imports['runs']}):")
    out.append("  " + _pairs(imports["import_ms"]))
    out.append(f"  beyond the bare SDK: {imports['extra_over_bare_sdk_ms']:g} ms, by package:")
    out.append("    " + _pairs(imports["extra_by_package_ms"]))
    out.append("  heaviest extra modules (self): " + _pairs(imports["top_extra_modules_self_ms"]))
    out.append("  altegio_mcp modules (cumulative): " + _pairs(imports["altegio_modules_cumulative_ms"]))

    startup = data["startup"]
    out.append(f"\nStart-up in a fresh interpreter (startup_probe.py, median of {startup['runs']}):")
    for name, value in startup["phases_ms"].items():
        out.append(f"  {value:8.1f} ms  {name}")
    out.append(f"  {startup['total_ms']:8.1f} ms  total ({startup['tools']} tools)")
    out.append(
        f"  build_server {startup['build_server_ms']:g} ms, split: "
        + _pairs(startup["build_server_split_ms"])
    )
    if startup.get("first_call_ms"):
        out.append("  left for the first tool call: " + _pairs(startup["first_call_ms"]))
    out.append("  slowest tools to build (on their first call): " + _pairs(startup["slowest_tools_ms"]))
    if startup.get("build_server_profile"):
        out.append("  build_server, top self time (pyinstrument, ms per build):")
        for item in startup["build_server_profile"][:8]:
            out.append(
                f"    {item['self_ms']:7.2f} self {item['inclusive_ms']:7.2f} incl  {item['function']}  ({item['where']})"
            )

    call = data["call"]
    for case, steps in call.items():
        if case == "sampled" or not isinstance(steps, dict) or "median_us" not in steps:
            continue
        out.append(f"\nOne {case} call, step by step (median µs of {steps['iterations']}):")
        for name, value in steps["median_us"].items():
            out.append(f"  {value:9.1f} µs  {name}")
    for case, sampled in (call.get("sampled") or {}).items():
        out.append(f"\nSampled profile of {sampled['calls']} in-memory {case} calls (pyinstrument):")
        out.append("  self time by layer (callees in the stdlib count for their caller), ms per call:")
        for name, value in sampled["by_layer_ms_per_call"].items():
            out.append(f"    {value['ms']:7.3f} ms {value['share']:6.1%}  {name}")
        out.append("  top functions by self time, ms per call:")
        for item in sampled["top_self_ms_per_call"][:10]:
            out.append(
                f"    {item['self_ms']:7.3f} self {item['inclusive_ms']:7.3f} incl  {item['function']}  ({item['where']})"
            )
        out.append("  inclusive time of selected steps: " + _pairs(sampled["inclusive_ms_per_call"]))

    growth = data["growth"]
    out.append(
        f"\nMemory growth over {growth['calls']} in-memory calls (tracemalloc): "
        f"{growth['bytes_per_call']:g} B per call, {growth['bytes_per_call_outside_sandbox_request_log']:g} B "
        "of it outside the sandbox's request log; top sites:"
    )
    for site in growth["top_sites"]:
        out.append(
            f"  {site['bytes_per_call']:8.1f} B/call {site['blocks_per_call']:6.2f} blocks/call  "
            f"{site['where']}  (allocated at {site['allocated_at']})"
        )
    return "\n".join(out)


def http_profile_report(data: JsonDict) -> str:
    """py-spy's view of the HTTP server process under the concurrent load (and of the baseline's).

    Sampling slows the process, so its own ms are inflated; the shares are scaled onto the server
    CPU per call measured without the profiler (with the same generator).
    """
    sides = [("this build", data)]
    if data.get("baseline"):
        sides.append(("baseline", data["baseline"]))
    out: list[str] = []
    for name, side in sides:
        sampled = side.get("server_profile_py_spy")
        if not sampled:
            out.append("HTTP server profile: py-spy is not installed (pip install py-spy).")
            break
        if "error" in sampled:
            out.append(f"HTTP server profile: {sampled['error']}")
            break
        generator = side["server_profile_generator"]
        cpu = side["by_generator"][generator]["server_cpu_ms_per_call"]
        sampled_total = sum(value["ms"] for value in sampled["by_layer_ms_per_call"].values()) or 1.0
        scale = cpu / sampled_total
        out.append(
            f"HTTP server process ({name}) under the {generator} load, py-spy --gil ({sampled['samples']} "
            f"samples); shares of its {cpu:.2f} ms server CPU per call:"
        )
        for layer, value in sampled["by_layer_ms_per_call"].items():
            out.append(f"    {value['ms'] * scale:7.3f} ms {value['share']:6.1%}  {layer}")
        out.append("  top functions by self time (same scale):")
        for item in sampled["top_self_ms_per_call"][:10]:
            out.append(
                f"    {item['self_ms'] * scale:7.3f} self {item['inclusive_ms'] * scale:7.3f} incl  {item['function']}"
            )
        out.append("")
    return "\n".join(out).rstrip()


def _version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def _commit() -> str | None:
    """The checked-out commit (read only; the tree may hold uncommitted work)."""
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, cwd=ROOT, check=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() or None


def _write(path: Path, payload: JsonDict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(path)


# --- main -----------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="small counts: a smoke run")
    parser.add_argument(
        "--only", default=",".join(FIGURES), help=f"comma-separated subset of: {', '.join(FIGURES)}"
    )
    parser.add_argument("--output", type=Path, default=RESULTS, help="where to write the JSON results")
    parser.add_argument(
        "--cold-start-baseline",
        metavar="EXECUTABLE",
        help="another installation's altegio-mcp: figure 1 spawns it too, alternating in the same run",
    )
    parser.add_argument(
        "--http-baseline",
        metavar="EXECUTABLE",
        help="another installation's altegio-mcp: figure 5 measures it too, interleaved in the same run",
    )
    parser.add_argument(
        "--http-upstream",
        choices=UPSTREAMS,
        default="external",
        help="figure 5's Altegio: a sandbox process over HTTP (default) or the sandbox inside the server",
    )
    parser.add_argument(
        "--http-generators",
        default=",".join(GENERATORS),
        help=f"figure 5's load generators, comma-separated; the first one is the headline ({', '.join(GENERATORS)})",
    )
    parser.add_argument(
        "--http-workers", type=int, default=1, help="figure 5: ALTEGIO_HTTP_WORKERS for the servers"
    )
    parser.add_argument(
        "--peer",
        type=Path,
        default=None,
        help="a built checkout of altegio/altegio-pro-mcp to run side by side (skipped when absent)",
    )
    parser.add_argument(
        "--before",
        default=None,
        help="another installation's `altegio-mcp` console script, run beside this one (before/after)",
    )
    args = parser.parse_args(argv)
    wanted = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = sorted(set(wanted) - set(FIGURES))
    if unknown:
        parser.error(f"unknown figure(s): {', '.join(unknown)}")
    sizes = QUICK if args.quick else FULL
    generators = tuple(name.strip() for name in args.http_generators.split(",") if name.strip())
    if not generators or set(generators) - set(GENERATORS):
        parser.error(f"--http-generators takes a subset of: {', '.join(GENERATORS)}")
    http = HttpOptions(
        total_calls=sizes.http_calls,
        concurrency=sizes.http_clients,
        baseline=args.http_baseline,
        upstream=args.http_upstream,
        generators=generators,
        workers=args.http_workers,
    )

    started_at = datetime.now(UTC)
    started = time.perf_counter()
    load_before = os.getloadavg()
    figures: list[Figure] = []
    errors: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="altegio-bench-") as scratch:
        env = isolate_environment(Path(scratch))
        log_path = Path(scratch) / "servers.log"
        with log_path.open("w", encoding="utf-8") as errlog:
            runners = _figures(sizes, env, errlog, Path(scratch), http, args)
            for name in wanted:
                print(f"… {name}", file=sys.stderr, flush=True)
                try:
                    figures.append(runners[name]())
                except Exception:
                    errors[name] = traceback.format_exc()
                    print(errors[name], file=sys.stderr)
        if errors:
            tail = log_path.read_text(encoding="utf-8", errors="replace").splitlines()[-30:]
            print("server log (last lines):\n" + "\n".join(tail), file=sys.stderr)

    rows = [row for figure in figures for row in figure.rows]
    meta: JsonDict = {
        "started_at": started_at.isoformat(timespec="seconds"),
        "duration_s": round(time.perf_counter() - started, 1),
        "quick": args.quick,
        "sizes": asdict(sizes),
        "commit": _commit(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "loadavg_before": load_before,
        "loadavg_after": os.getloadavg(),
        "versions": {name: _version(name) for name in ("altegio-mcp", "mcp", "pydantic", "httpx", "uvicorn")},
    }
    payload: JsonDict = {
        "meta": meta,
        "table": [row.as_json() for row in rows],
        "figures": {figure.key: figure.data for figure in figures},
        "notes": [note for figure in figures for note in figure.notes],
        "errors": errors,
    }
    _write(args.output, payload)

    print(table(rows))
    for figure in figures:
        if figure.key == "profile":
            print()
            print(profile_report(figure.data))
        if figure.key == "http":
            print()
            print(http_profile_report(figure.data))
    for note in payload["notes"]:
        print(f"note: {note}")
    print(
        f"\n{meta['duration_s']} s; load average {load_before[0]:.2f} → {meta['loadavg_after'][0]:.2f} "
        f"on {meta['cpus']} CPUs; results in {args.output}"
    )
    if errors:
        print(f"FAILED to run: {', '.join(errors)}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
