"""Reading sampled profiles: pyinstrument sessions (this process) and py-spy's collapsed stacks
(another process), both summarised as time by layer of the stack and top functions by self time.

Both profilers are optional dev tools (`pip install pyinstrument py-spy`): pyinstrument is loaded by
name so the benchmarks still import and type-check where it is missing, and py-spy is a separate
executable. pyinstrument's frame tree is read through the small `Frame` protocol below.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import shutil
import sys
from collections import defaultdict
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

JsonDict = dict[str, Any]

ROOT = str(Path(__file__).resolve().parent.parent) + "/"
LIBRARY_PREFIX = re.compile(r"^.*/(site-packages|lib/python3\.\d+)/")

LAYERS: tuple[tuple[str, str], ...] = (
    ("/altegio_mcp/sandbox/", "sandbox (the emulated upstream)"),
    ("/altegio_mcp/tools.py", "altegio_mcp policy wrapper (tools.py)"),
    ("/altegio_mcp/operations/", "altegio_mcp operations"),
    ("/altegio_mcp/", "altegio_mcp client and the rest"),
    ("/mcp/client/", "MCP SDK client"),
    ("/mcp/", "MCP SDK server and shared"),
    ("/mcp_types/", "MCP types"),
    ("/jsonschema", "jsonschema (client checks outputSchema)"),
    ("/referencing/", "jsonschema (client checks outputSchema)"),
    ("/rpds", "jsonschema (client checks outputSchema)"),
    ("/pydantic", "pydantic"),
    ("/httpx/", "httpx / httpcore"),
    ("/httpcore/", "httpx / httpcore"),
    ("/starlette/", "starlette (routing: the MCP app, and the sandbox when in process)"),
    ("/opentelemetry/", "opentelemetry"),
    ("/uvicorn/", "uvicorn / h11 (HTTP server)"),
    ("/h11/", "uvicorn / h11 (HTTP server)"),
    ("/anyio/", "event loop (asyncio / anyio)"),
    ("/asyncio/", "event loop (asyncio / anyio)"),
)
IMPORTS = "import machinery (an import attempted on every call)"


class Frame(Protocol):
    time: float

    @property
    def function(self) -> str: ...
    @property
    def file_path(self) -> str | None: ...
    @property
    def line_no(self) -> int | None: ...
    @property
    def total_self_time(self) -> float: ...
    @property
    def children(self) -> Sequence[Frame]: ...
    @property
    def is_synthetic(self) -> bool: ...


def available() -> bool:
    """Whether pyinstrument is installed."""
    return importlib.util.find_spec("pyinstrument") is not None


def py_spy() -> str | None:
    """The py-spy executable beside this interpreter, or on PATH."""
    return shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")


def profiler(interval: float = 0.0002) -> Any:
    """A started-on-demand `pyinstrument.Profiler` sampling CPU stacks (await time is not counted)."""
    module = importlib.import_module("pyinstrument")
    return module.Profiler(interval=interval, async_mode="disabled")


def _root(session: Any) -> Frame | None:
    return session.root_frame()


def _walk(root: Frame) -> Iterator[tuple[Frame, frozenset[tuple[str, str]]]]:
    """Every real frame with the set of (function, file) keys above it, depth first."""
    stack: list[tuple[Frame, frozenset[tuple[str, str]]]] = [(root, frozenset())]
    while stack:
        frame, above = stack.pop()
        if frame.is_synthetic:
            continue
        yield frame, above
        key = (frame.function, frame.file_path or "")
        stack.extend((child, above | {key}) for child in frame.children)


def where(frame: Frame) -> str:
    path = frame.file_path or "?"
    if path.startswith(ROOT):
        path = path[len(ROOT) :]
    path = LIBRARY_PREFIX.sub("", path)
    return f"{path}:{frame.line_no}" if frame.line_no else path


def top_functions(session: Any, *, per: int, limit: int = 12) -> list[dict[str, Any]]:
    """The functions with the most self time, with their inclusive time; both in ms per `per` units."""
    root = _root(session)
    if root is None:
        return []
    own: defaultdict[tuple[str, str], float] = defaultdict(float)
    inclusive: defaultdict[tuple[str, str], float] = defaultdict(float)
    places: dict[tuple[str, str], str] = {}
    for frame, above in _walk(root):
        key = (frame.function, frame.file_path or "")
        own[key] += frame.total_self_time
        if key not in above:  # recursion: count the outermost frame only
            inclusive[key] += frame.time
        places.setdefault(key, where(frame))
    total = root.time
    ranked = sorted(own.items(), key=lambda kv: -kv[1])[:limit]
    return [
        {
            "function": key[0],
            "where": places[key],
            "self_ms": round(value * 1000 / per, 4),
            "inclusive_ms": round(inclusive[key] * 1000 / per, 4),
            "self_share": round(value / total, 4) if total else None,
        }
        for key, value in ranked
    ]


def inclusive_of(session: Any, names: Sequence[str], *, per: int) -> dict[str, float]:
    """Inclusive ms per unit of the named functions (outermost frames only)."""
    root = _root(session)
    found: defaultdict[str, float] = defaultdict(float)
    if root is None:
        return {}
    wanted = set(names)
    for frame, above in _walk(root):
        if frame.function in wanted and not any(fn == frame.function for fn, _ in above):
            found[frame.function] += frame.time
    return {name: round(found[name] * 1000 / per, 4) for name in names if name in found}


def layers(session: Any, *, per: int) -> dict[str, dict[str, float]]:
    """Self time summed by layer: the package the sampled code is in. Built-ins and the standard
    library count for the layer that called them (json.dumps under starlette is starlette's cost),
    except the import machinery, which is shown on its own because it should not run per call."""
    root = _root(session)
    if root is None:
        return {}
    by_layer: defaultdict[str, float] = defaultdict(float)
    stack: list[tuple[Frame, str]] = [(root, "other")]
    while stack:
        frame, inherited = stack.pop()
        if frame.is_synthetic:
            continue
        layer = _layer_of(frame.file_path or "", inherited)
        by_layer[layer] += frame.total_self_time
        stack.extend((child, layer) for child in frame.children)
    total = sum(by_layer.values()) or 1.0
    ranked = sorted(by_layer.items(), key=lambda kv: -kv[1])
    return {
        name: {"ms": round(value * 1000 / per, 4), "share": round(value / total, 4)} for name, value in ranked
    }


def _layer_of(path: str, inherited: str) -> str:
    if "<frozen importlib" in path:
        return IMPORTS
    return next((name for marker, name in LAYERS if marker in path), inherited)


def collapsed(path: Path, *, rate: int, per: int) -> JsonDict:
    """Summarise py-spy's `--format raw --nolineno` output (`frame;frame;… count` lines, frames
    `function (path)`): time by layer and top functions by self time, in ms per unit of `per`."""
    by_layer: defaultdict[str, int] = defaultdict(int)
    own: defaultdict[str, int] = defaultdict(int)
    inclusive: defaultdict[str, int] = defaultdict(int)
    total = 0
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        stack_text, _, count_text = line.rpartition(" ")
        if not stack_text or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = [_frame(frame) for frame in stack_text.split(";")]
        layer = "other"
        for _, file in frames:
            layer = _layer_of("/" + file, layer)
        by_layer[layer] += count
        function, file = frames[-1]
        own[f"{function}  ({file})"] += count
        for name in {f"{function}  ({file})" for function, file in frames}:
            inclusive[name] += count

    def ms(samples: int) -> float:
        return round(samples / rate * 1000 / per, 4)

    return {
        "samples": total,
        "by_layer_ms_per_call": {
            name: {"ms": ms(value), "share": round(value / total, 4) if total else 0.0}
            for name, value in sorted(by_layer.items(), key=lambda kv: -kv[1])
        },
        "top_self_ms_per_call": [
            {"function": name, "self_ms": ms(value), "inclusive_ms": ms(inclusive[name])}
            for name, value in sorted(own.items(), key=lambda kv: -kv[1])[:12]
        ],
    }


def _frame(text: str) -> tuple[str, str]:
    function, _, rest = text.partition(" (")
    return function, rest.rstrip(")")
