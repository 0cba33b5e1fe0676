"""What every benchmark shares: statistics, result rows, the sandbox-backed settings, an isolated
environment for subprocesses, and reading a process's memory and CPU from `/proc`.

Nothing here asserts a timing: the machine is shared and noisy, so figures are reported (with the
ratio to a baseline measured in the same run) and judged by people.
"""

from __future__ import annotations

import json
import math
import os
import statistics
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from mcp import Client
from mcp.types import CallToolResult, TextContent
from pydantic import SecretStr

from altegio_mcp.sandbox import DEMO_PARTNER_TOKEN, DEMO_USER_TOKEN, NEW_YORK_LOCATION_ID
from altegio_mcp.server import SANDBOX_BASE_URL
from altegio_mcp.settings import Settings

JsonDict = dict[str, Any]

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent

TODAY = date(2026, 11, 27)
"""The in-process sandbox is seeded on a fixed day, so every run sees the same data."""

RATE_PER_SECOND = 1_000_000.0
RATE_PER_MINUTE = 1_000_000_000
"""Client-side rate limits raised far above what a benchmark can reach, so the limiter never waits."""

FAST_ENV = {
    "ALTEGIO_RATE_PER_SECOND": str(RATE_PER_SECOND),
    "ALTEGIO_RATE_PER_MINUTE": str(RATE_PER_MINUTE),
}


# --- statistics ----------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (`q` in 0..100) of a non-empty sample."""
    if not values:
        raise ValueError("percentile of an empty sample")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(q / 100 * len(ordered))))
    return ordered[rank - 1]


def ms_summary(seconds: Sequence[float]) -> JsonDict:
    """Median, p95, p99, mean, min and max of a sample of durations, in milliseconds."""
    values = [s * 1000 for s in seconds]
    return {
        "n": len(values),
        "median_ms": round(statistics.median(values), 4),
        "p95_ms": round(percentile(values, 95), 4),
        "p99_ms": round(percentile(values, 99), 4),
        "mean_ms": round(statistics.fmean(values), 4),
        "min_ms": round(min(values), 4),
        "max_ms": round(max(values), 4),
    }


def ratio(value: float, baseline: float) -> float:
    return round(value / baseline, 3) if baseline > 0 else float("nan")


# --- results -------------------------------------------------------------------------------------


@dataclass(slots=True)
class Row:
    """One line of the printed table."""

    figure: str
    measured: str
    baseline: str = ""
    ratio: float | None = None
    target: str = ""
    meets: bool | None = None

    def as_json(self) -> JsonDict:
        return {
            "figure": self.figure,
            "measured": self.measured,
            "baseline": self.baseline,
            "ratio": self.ratio,
            "target": self.target,
            "meets": self.meets,
        }


@dataclass(slots=True)
class Figure:
    """One benchmark's outcome: the raw data for `results.json` and the rows for the table."""

    key: str
    data: JsonDict
    rows: list[Row] = field(default_factory=list[Row])
    notes: list[str] = field(default_factory=list[str])


def compact_json_bytes(value: object) -> int:
    """Size of `value` as a JSON-RPC transport writes it: compact separators, UTF-8, no ASCII escapes."""
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())


def text_bytes(result: CallToolResult) -> int:
    return sum(len(block.text.encode()) for block in result.content if isinstance(block, TextContent))


# --- the server under test -----------------------------------------------------------------------


def sandbox_settings(toolsets: Sequence[str] = ("default",), **overrides: Any) -> Settings:
    """Production-shaped settings (no sandbox banner) pointed at the sandbox's demo credentials."""
    values: dict[str, Any] = {
        "partner_token": SecretStr(DEMO_PARTNER_TOKEN),
        "user_token": SecretStr(DEMO_USER_TOKEN),
        "base_url": SANDBOX_BASE_URL,
        "location_id": NEW_YORK_LOCATION_ID,
        "toolsets": list(toolsets),
        "rate_per_second": RATE_PER_SECOND,
        "rate_per_minute": RATE_PER_MINUTE,
        "audit": False,
        "confirm_secret": SecretStr("benchmark-confirm-secret"),
    }
    values.update(overrides)
    return Settings(**values)


def isolate_environment(scratch: Path) -> dict[str, str]:
    """Drop the developer's `ALTEGIO_*` variables and point config/state dirs at `scratch`.

    Applied to this process (Settings read the environment) and returned for subprocesses.
    """
    for name in list(os.environ):
        if name.startswith("ALTEGIO_"):
            del os.environ[name]
    for name, sub in (
        ("ALTEGIO_CONFIG_DIR", "altegio-config"),
        ("XDG_CONFIG_HOME", "xdg-config"),
        ("XDG_STATE_HOME", "xdg-state"),
    ):
        path = scratch / sub
        path.mkdir(parents=True, exist_ok=True)
        os.environ[name] = str(path)
    os.environ["ALTEGIO_CREDENTIAL_STORE"] = "file"
    return dict(os.environ)


def server_command() -> tuple[str, list[str]]:
    """The installed `altegio-mcp` console script (what MCP clients run), else `python -m altegio_mcp`."""
    script = Path(sys.executable).parent / "altegio-mcp"
    if script.exists():
        return str(script), []
    return sys.executable, ["-m", "altegio_mcp"]


@dataclass(frozen=True, slots=True)
class Target:
    location_id: int
    appointment_id: int


async def pick_appointment(client: Client) -> Target:
    """A seeded appointment to read, found through the server itself (ids are never hard-coded)."""
    listed = await client.call_tool("list_appointments", {"count": 10})
    content = listed.structured_content
    if listed.is_error or content is None:
        raise RuntimeError(f"list_appointments failed, cannot pick an appointment: {listed.content!r}")
    items: list[JsonDict] = [item for item in content.get("items", []) if not item.get("deleted")]
    if not items:
        raise RuntimeError("the sandbox listed no appointments to read")
    location = content.get("location_id") or items[0].get("location_id") or NEW_YORK_LOCATION_ID
    return Target(location_id=int(location), appointment_id=int(items[0]["id"]))


# --- /proc ---------------------------------------------------------------------------------------


def _status_kib(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise KeyError(f"{key} not in /proc/{pid}/status")


def rss_kib(pid: int) -> int:
    return _status_kib(pid, "VmRSS")


def peak_rss_kib(pid: int) -> int:
    return _status_kib(pid, "VmHWM")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used so far."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    ticks = int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def child_pids(marker: str) -> list[int]:
    """This process's direct children whose command line contains `marker`."""
    me = os.getpid()
    found: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        parent = int(stat[stat.rindex(")") + 2 :].split()[1])
        if parent == me and marker in cmdline:
            found.append(int(entry.name))
    return found
